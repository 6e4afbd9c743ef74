"""Benchmark: the simulator's latency and throughput on loopback, tiny and agent-sized requests.

Run: python benchmarks/bench_sim_rps.py [--seconds S] [--requests N] [--clients 1,2,4,8]
     python benchmarks/bench_sim_rps.py --sdk      (also the older SDK figures, below)
Prints figures; not a test. Every loop is bounded: at most N requests or S seconds per cell.

Two request shapes, each sent as JSON and as an SSE stream, by 1, 2, 4 and 8 concurrent
clients:

- tiny: one short user message, no system, no tools;
- agent: the shape of Claude Code's request (`tests/sim/fixtures/claude_code_request.json`),
  built here at its real size: 24 tool definitions with JSON schemas, ~26 KB of system text
  in 3 blocks (a billing-header line first, then two cached blocks), a short conversation
  with a tool call, a mid-conversation system message last, adaptive thinking, context
  management and an effort setting (~116 KB of JSON). Each request asks another question
  after the same prefix, as an agent's turns do.

The server is the in-process simulator (uvicorn in a thread, pacing off) in a process of its
own; `--servers N` starts N of them on one data dir, as several `promptcache-tui sim` or
`ask` processes share one state file, and client i talks to server i mod N. Each client is
its own process with a keep-alive `http.client` connection and a body encoded once, so its
work stays out of the servers' GIL. "cpu/req" is the servers' CPU time per request
(threads included), and "done in flight"
how many other requests the server finished while it was serving one (p50 and p99; first
come, first served gives about clients - 1): both stay meaningful when other work shares
the machine and wall-clock figures do not.

`--sdk`: the older figures, the official SDK in this process against a ~50k-token cached
context (client and server share the GIL there). `--asgi N`: only N requests straight
into the ASGI app, no sockets: the simulator's own CPU per request, and under
`valgrind --tool=callgrind` its instruction count (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import http.client
import json
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from promptcache_tui.sim.inprocess import InProcessSimulator

REQUESTS = 400  # per cell, all clients together
SECONDS = 5.0  # per cell
CLIENTS = (1, 2, 4, 8)
AGENT_MODEL = "claude-opus-4-8"  # Claude Code's default model, with system messages
HEADERS = {
    "content-type": "application/json",
    "x-api-key": "bench",
    "anthropic-version": "2023-06-01",
    "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
}
QUESTIONS = (
    "Which tool reads a file from the local filesystem?",
    "How do I run a command in the background?",
    "What does the worktree tool do when it exits?",
    "Can a scheduled task repeat every hour?",
    "How should a notebook cell be replaced?",
    "What limits apply to a web search?",
    "Where are the task lists kept between sessions?",
    "Which tool edits a file in place?",
)
_WORD_TEXT = (
    "agent tool file path command output session task user answer project directory search "
    "result context message error change line code test branch schedule notebook cell edit "
    "write read permission sandbox background process worktree remote request option value "
    "string number list pattern glob match limit timeout retry report finding status "
    "update prompt model cache token review commit format shell repository parameter "
    "description"
)
_WORDS = _WORD_TEXT.split()


def _prose(rng: random.Random, chars: int) -> str:
    """Deterministic English-like sentences of about `chars` characters."""
    sentences: list[str] = []
    size = 0
    while size < chars:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 18))]
        sentence = " ".join(words).capitalize() + rng.choice((".", ".", ".", "?", ":"))
        if rng.random() < 0.15:
            sentence = "- " + sentence + "\n"
        sentences.append(sentence)
        size += len(sentence) + 1
    return " ".join(sentences)[:chars]


def _tool(rng: random.Random, name: str) -> dict[str, Any]:
    """A tool definition shaped like Claude Code's: long description, nested JSON schema."""
    properties: dict[str, Any] = {}
    for p in range(rng.randint(4, 9)):
        kind = rng.choice(("string", "number", "boolean", "enum", "array", "object"))
        prop: dict[str, Any] = {"description": _prose(rng, rng.randint(40, 280))}
        if kind == "enum":
            prop |= {"type": "string", "enum": [rng.choice(_WORDS) + str(i) for i in range(5)]}
        elif kind == "array":
            prop |= {
                "type": "array",
                "maxItems": 256,
                "items": {"type": "string", "minLength": 1, "maxLength": 256},
            }
        elif kind == "object":
            prop |= {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": _prose(rng, 80)},
                    "mode": {"type": "string", "enum": ["read", "write", "append"]},
                    "size": {"type": "integer", "minimum": 0},
                },
                "required": ["path"],
                "additionalProperties": False,
            }
        else:
            prop["type"] = kind
        properties[f"{rng.choice(_WORDS)}_{p}"] = prop
    return {
        "name": name,
        "description": _prose(rng, rng.randint(900, 2100)),
        "input_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": properties,
            "required": sorted(properties)[:2],
            "additionalProperties": False,
        },
    }


_TOOL_NAME_TEXT = (
    "Agent Bash CronCreate CronDelete CronList DesignSync Edit EnterWorktree ExitWorktree "
    "NotebookEdit Read ReportFindings ScheduleWakeup SendMessage Skill TaskCreate TaskGet "
    "TaskList TaskOutput TaskStop TaskUpdate WebFetch WebSearch Write"
)
TOOL_NAMES = _TOOL_NAME_TEXT.split()


def agent_request(question: str, *, stream: bool) -> dict[str, Any]:
    """Claude Code's request shape at its real size; only `question` changes between calls."""
    rng = random.Random(116)  # the same prefix every time
    tools = [_tool(rng, name) for name in TOOL_NAMES]
    billing = "x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli; cch=0;"
    system = [
        {"type": "text", "text": billing},
        {
            "type": "text",
            "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
            "cache_control": {"type": "ephemeral"},
        },
        {
            "type": "text",
            "text": "\nYou are an interactive agent that helps users with software "
            "engineering tasks.\n\n" + _prose(rng, 26_000),
            "cache_control": {"type": "ephemeral"},
        },
    ]
    reminder = "<system-reminder>\n" + _prose(rng, 900) + "\n</system-reminder>"
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": reminder},
                {"type": "text", "text": "Look at the project's README first."},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I will read the README."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "Read",
                    "input": {"file_path": "/work/project/README.md"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": _prose(rng, 700)},
                {"type": "text", "text": question, "cache_control": {"type": "ephemeral"}},
            ],
        },
        {"role": "system", "content": "Available agent types: " + _prose(rng, 500)},
    ]
    return {
        "model": AGENT_MODEL,
        "max_tokens": 32_000,
        "system": system,
        "tools": tools,
        "messages": messages,
        "metadata": {"user_id": json.dumps({"session_id": "00000000"})},
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "stream": stream,
    }


def tiny_request(question: str, *, stream: bool) -> dict[str, Any]:
    """One short user message: the floor of what a request costs."""
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": question}],
        "stream": stream,
    }


SHAPES: dict[str, Callable[..., dict[str, Any]]] = {"tiny": tiny_request, "agent": agent_request}


def _bodies(shape: str, stream: bool) -> list[bytes]:
    build = SHAPES[shape]
    return [json.dumps(build(q, stream=stream)).encode() for q in QUESTIONS]


def _client(
    port: int,
    bodies: list[bytes],
    start: Any,
    stop_at: Any,
    budget: Any,
    out: Any,
    offset: int,
    ready: Any,
) -> None:
    """One client process: keep-alive requests until the budget or the deadline runs out."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    spans: list[tuple[float, float]] = []
    errors = 0
    ready.wait()
    start.wait()
    n = offset
    while time.time() < stop_at.value:
        with budget.get_lock():
            if budget.value <= 0:
                break
            budget.value -= 1
        body = bodies[n % len(bodies)]
        n += 1
        began = time.monotonic()  # one clock for every process (CLOCK_MONOTONIC)
        conn.request("POST", "/v1/messages", body=body, headers=HEADERS)
        response = conn.getresponse()
        response.read()
        spans.append((began, time.monotonic()))
        errors += response.status != 200
    conn.close()
    out.put((spans, errors))


class _ServerSpans:
    """ASGI wrapper noting when the server started and finished each request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.spans: list[tuple[float, float]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # `state`, for InProcessSimulator

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.monotonic()

        async def noting(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.spans.append((began, time.monotonic()))

        await self.app(scope, receive, noting)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _serve(data_dir: str, pipe: Any) -> None:
    """One server process: the in-process simulator, answering the benchmark's commands."""
    server = InProcessSimulator(Path(data_dir), rate=0)
    recorder = _ServerSpans(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server:
        pipe.send(server.port)
        cpu = time.process_time()
        while (command := pipe.recv()) != "stop":
            if command == "mark":
                recorder.spans.clear()
                cpu = time.process_time()
                pipe.send(None)
            else:  # "read"
                pipe.send((time.process_time() - cpu, list(recorder.spans)))


class Servers:
    """`count` server processes on one data dir, as `promptcache-tui sim` processes share it."""

    def __init__(self, data_dir: Path, count: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for _ in range(count):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(str(data_dir), theirs))
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)
        self.ports = [pipe.recv() for pipe in self.pipes]

    def ask(self, command: str) -> list[Any]:
        """Send a command to every server; their answers."""
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def close(self) -> None:
        """Stop every server."""
        for pipe in self.pipes:
            pipe.send("stop")
        for proc in self.procs:
            proc.join(timeout=30)


def run_cell(
    servers: Servers, bodies: list[bytes], clients: int, requests: int, seconds: float
) -> dict[str, float]:
    """One shape x mode x client count: latencies of every request, rate, server CPU.

    Client i talks to server i modulo the number of servers.
    """
    ctx = mp.get_context("spawn")
    start, budget, out = ctx.Event(), ctx.Value("i", requests), ctx.Queue()
    stop_at, ready = ctx.Value("d", 0.0), ctx.Barrier(clients + 1)
    ports = servers.ports
    procs = [
        ctx.Process(
            target=_client,
            args=(ports[i % len(ports)], bodies, start, stop_at, budget, out, i, ready),
        )
        for i in range(clients)
    ]
    for proc in procs:
        proc.start()
    ready.wait(timeout=120)  # every client imported and connected
    servers.ask("mark")
    began = time.perf_counter()
    stop_at.value = time.time() + seconds
    start.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - began
    served = servers.ask("read")
    for proc in procs:
        proc.join(timeout=10)
    spans = sorted(span for client, _ in results for span in client)
    latencies = [end - start for start, end in spans]
    overtaken = [n for _, server_spans in served for n in _overtaken(server_spans)]
    return {
        "requests": len(latencies),
        "errors": sum(e for _, e in results),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": _percentile(latencies, 0.99) * 1000,
        "cpu": sum(cpu for cpu, _ in served) / max(1, len(latencies)) * 1000,
        "done_p50": statistics.median(overtaken),
        "done_p99": _percentile(overtaken, 0.99),
    }


def _overtaken(spans: list[tuple[float, float]]) -> list[int]:
    """For each request, how many others finished while it was in flight.

    First come, first served with N clients gives about N - 1 for every request; a tail
    that queues unfairly shows as requests that watch many others go by. Unlike
    milliseconds, the count does not move when other work on the machine slows
    everything down alike.
    """
    ends = sorted(end for _, end in spans)
    return [
        max(0, bisect.bisect_left(ends, end) - bisect.bisect_right(ends, start))
        for start, end in spans
    ]


def matrix(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every shape x mode x client count against the same server(s)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        servers = Servers(Path(tmp), args.servers)
        try:
            for shape in args.shapes:
                for stream in args.modes:
                    rows += _shape_rows(servers, args, shape, stream)
        finally:
            servers.close()
    return rows


def _shape_rows(
    servers: Servers, args: argparse.Namespace, shape: str, stream: bool
) -> list[dict[str, Any]]:
    bodies = _bodies(shape, stream)
    run_cell(servers, bodies, 1, len(bodies), 30.0)  # every question once: the cells read
    rows = []
    for clients in args.clients:
        row = run_cell(servers, bodies, clients, args.requests, args.seconds)
        row |= {"shape": shape, "mode": "SSE" if stream else "JSON", "servers": args.servers}
        row |= {"clients": clients, "kb": len(bodies[0]) / 1000}
        rows.append(row)
        print(
            f"{shape:<5} {row['kb']:6.1f} KB {row['mode']:<4} "
            + (f"{args.servers} servers " if args.servers > 1 else "")
            + f"{clients} client{'s' if clients > 1 else ' '} {row['rps']:6.1f} req/s  "
            f"p50 {row['p50']:6.1f} ms  p99 {row['p99']:6.1f} ms "
            f"({row['p99'] / row['p50']:4.1f}x)  cpu/req {row['cpu']:5.2f} ms  "
            f"done in flight p50 {row['done_p50']:2.0f} p99 {row['done_p99']:2.0f}  "
            f"({row['requests']} requests"
            + (f", {row['errors']} errors" if row["errors"] else "")
            + ")",
            flush=True,
        )
    return rows


# -- the app without sockets: what the simulator itself costs ------------------------------


async def _asgi_request(app: Any, body: bytes) -> None:
    """One POST /v1/messages straight into the ASGI app, its whole answer taken."""
    headers = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
    headers += [(b"content-length", str(len(body)).encode()), (b"host", b"127.0.0.1")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 1),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = []

    async def receive() -> Any:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never leaves

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    assert status == [200], status


def asgi_figures(args: argparse.Namespace) -> None:
    """`--asgi N`: N requests per shape and mode into the app itself, no HTTP server.

    For instruction counts, run it under callgrind with N and with 0 (start-up and the
    warm-up are the same in both) and divide the difference by N.
    """
    from promptcache_tui.sim.server import create_app

    for shape in args.shapes:
        for stream in args.modes:
            bodies = _bodies(shape, stream)
            with tempfile.TemporaryDirectory() as tmp:
                app = create_app(Path(tmp), rate=0)

                async def run(app: Any = app, bodies: list[bytes] = bodies) -> float:
                    for body in bodies:  # every question once: the measured requests read
                        await _asgi_request(app, body)
                    cpu = time.process_time()
                    for n in range(args.asgi):
                        await _asgi_request(app, bodies[n % len(bodies)])
                    return time.process_time() - cpu

                cpu = asyncio.run(run())
                getattr(app.state.sim, "close", app.state.sim.state.close)()  # older versions
            mode = "SSE" if stream else "JSON"
            per = f"{cpu / args.asgi * 1000:6.2f} ms CPU per request" if args.asgi else ""
            print(f"{shape:<5} {mode:<4} ASGI only, {args.asgi} requests  {per}", flush=True)


# -- the older figures: the official SDK in this process, a ~50k-token context -------------

CONTEXT_TOKENS = 50_000
SDK_THREADS = 4


def build_request() -> dict[str, Any]:
    """A ~50k-token document on a breakpoint, and a short question."""
    sentence = "The harbor ledger lists each cargo, its weight and the captain who signed it. "
    text = sentence * (CONTEXT_TOKENS // 16)  # about 16 estimated tokens per sentence
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 200,
        "system": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Who signed for the cargo?"}],
    }


def measure(
    label: str, call: Callable[[], Any], requests: int, seconds: float, threads: int = 1
) -> None:
    """Run `call` until `requests` or `seconds` run out; print rate and latency."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    def one() -> None:
        if time.perf_counter() > deadline:
            return
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: one(), range(requests)))
    elapsed = time.perf_counter() - started
    print(
        f"{label:<34} {len(latencies) / elapsed:7.1f} req/s   "
        f"p50 {statistics.median(latencies) * 1000:6.1f} ms   "
        f"({len(latencies)} requests, {threads} thread{'s' if threads > 1 else ''})"
    )


def sdk_figures(args: argparse.Namespace) -> None:
    """The SDK against the simulator in one process, ~50k-token context."""
    import anthropic

    request = build_request()
    with tempfile.TemporaryDirectory() as tmp, InProcessSimulator(Path(tmp), rate=0) as server:
        sdk = anthropic.Anthropic(api_key="bench", base_url=server.base_url, max_retries=0)
        first = sdk.messages.create(**request)
        print(
            f"context: {first.usage.cache_creation_input_tokens} tokens written, "
            f"answer {first.usage.output_tokens} tokens"
        )

        def plain() -> None:
            assert sdk.messages.create(**request).usage.cache_read_input_tokens

        def streamed() -> None:
            with sdk.messages.stream(**request) as stream:
                assert stream.get_final_message().usage.cache_read_input_tokens

        def counted() -> None:
            sdk.messages.count_tokens(
                model=request["model"], system=request["system"], messages=request["messages"]
            )

        n, s = args.requests, args.seconds
        measure("messages (JSON)", plain, n, s)
        measure("messages (SSE stream)", streamed, n, s)
        measure("count_tokens", counted, n, s)
        measure("messages (JSON), concurrent", plain, n, s, SDK_THREADS)
        measure("messages (SSE stream), concurrent", streamed, n, s, SDK_THREADS)
        sdk.close()


def main() -> None:
    """Parse the bounds, then measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help="per cell")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="per cell")
    parser.add_argument(
        "--clients",
        type=lambda raw: tuple(int(c) for c in raw.split(",")),
        default=CLIENTS,
        help="comma-separated client counts",
    )
    parser.add_argument(
        "--shapes", type=lambda raw: raw.split(","), default=list(SHAPES), help="tiny,agent"
    )
    parser.add_argument(
        "--modes",
        type=lambda raw: [m.strip().lower() == "sse" for m in raw.split(",")],
        default=[False, True],
        help="json,sse",
    )
    parser.add_argument(
        "--servers", type=int, default=1, help="server processes sharing one data dir"
    )
    parser.add_argument("--sdk", action="store_true", help="also the SDK figures")
    parser.add_argument(
        "--asgi", type=int, metavar="N", help="only N requests into the app itself, no sockets"
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    if args.asgi is not None:
        asgi_figures(args)
        return
    rows = matrix(args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.sdk:
        sdk_figures(args)


if __name__ == "__main__":
    main()
