"""Benchmark: the recording proxy's cost, against calling the simulator directly.

Run: python benchmarks/bench_proxy.py            (prints figures; not a test; ~3 minutes)
     python benchmarks/bench_proxy.py --quick    (a smoke run: small counts)

Everything runs as separate processes, as a user runs it: `promptcache-tui sim --rate 0`
(the upstream), `promptcache-tui proxy --quiet` in front of it (logging every call to its
own data dir), and this script as the client, speaking HTTP with httpx2 (the SDK's own
transport) and reading the SSE stream as it arrives.

1. Added latency: streamed calls one at a time, direct and through the proxy, interleaved;
   time to the first content_block_delta and to the end of the stream, median and p99,
   and what the proxy adds (target: median under 2 ms).
2. Throughput with 16 clients streaming at once, direct vs through the proxy (target: at
   least 90% of direct), with an unpaced simulator (CPU-bound: the worst case for the
   proxy) and a paced one (80 tokens/s, like a model).
3. Memory: the proxy's RSS every 1,000 calls over 10,000 proxied calls, each with a new
   user turn (new content every call), 8 clients at a time (target: flat).
4. Storage: database bytes per proxied call with Claude-Code-sized requests (~115 KB: 24
   tools, 3 system blocks, a conversation growing by a turn per call; a new session, with
   a new billing header, every 40 calls), in all and beyond the new content each call adds
   (target: at most 4 KB beyond it).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2

HEADERS = {
    "x-api-key": "bench-key-0123456789",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
    "user-agent": "bench-proxy/1.0",
}
DOCUMENT = "The harbour ledger lists each cargo, its weight and the captain who signed it. "


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start a `promptcache-tui` server and return it with the URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "promptcache_tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = next(word for word in line.split() if word.startswith("http://"))

    def drain() -> None:  # keep its stdout from filling up
        assert process.stdout is not None
        for _ in process.stdout:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return process, url


def stop(process: subprocess.Popen[str]) -> None:
    """Ask a server to stop (SIGINT, as Ctrl-C) and wait for it."""
    process.send_signal(2)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def small_request(question: str) -> bytes:
    """A streamed call with a ~2k-token cached document and a short answer."""
    return json.dumps(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 60,
            "stream": True,
            "system": [
                {"type": "text", "text": DOCUMENT * 130, "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [{"role": "user", "content": question}],
        }
    ).encode()


def streamed(client: httpx2.Client, url: str, body: bytes) -> tuple[float, float]:
    """One streamed call: (seconds to the first content delta, seconds to the end)."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", url + "/v1/messages", content=body, headers=HEADERS) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_raw():
            if first is None and b"content_block_delta" in chunk:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return (first if first is not None else total), total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(direct: str, proxied: str, calls: int) -> None:
    """1. Added time to first token and total, one call at a time."""
    results: dict[str, tuple[list[float], list[float]]] = {"direct": ([], []), "proxy": ([], [])}
    with httpx2.Client(timeout=60) as client:
        for warm in range(20):
            streamed(client, direct, small_request(f"warm {warm}"))
            streamed(client, proxied, small_request(f"warm {warm}"))
        for i in range(calls):
            for label, url in (("direct", direct), ("proxy", proxied))[:: 1 if i % 2 else -1]:
                ttft, total = streamed(client, url, small_request(f"Who signed cargo {i}?"))
                results[label][0].append(ttft * 1000)
                results[label][1].append(total * 1000)
    print(f"\n1. latency, {calls} streamed calls each, one at a time (ms)")
    print(f"{'':10} {'TTFT p50':>9} {'TTFT p99':>9} {'total p50':>10} {'total p99':>10}")
    for label, (ttft, total) in results.items():
        print(
            f"{label:10} {statistics.median(ttft):9.2f} {pct(ttft, 0.99):9.2f} "
            f"{statistics.median(total):10.2f} {pct(total, 0.99):10.2f}"
        )
    (dt, dtot), (pt, ptot) = results["direct"], results["proxy"]
    print(
        f"{'added':10} {statistics.median(pt) - statistics.median(dt):9.2f} "
        f"{pct(pt, 0.99) - pct(dt, 0.99):9.2f} "
        f"{statistics.median(ptot) - statistics.median(dtot):10.2f} "
        f"{pct(ptot, 0.99) - pct(dtot, 0.99):10.2f}   (target: TTFT p50 under 2 ms)"
    )


def throughput(url: str, clients: int, seconds: float) -> float:
    """Streamed calls per second with `clients` threads calling back to back."""
    done = [0] * clients
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        with httpx2.Client(timeout=60) as client:
            i = 0
            while time.perf_counter() < deadline:
                streamed(client, url, small_request(f"client {n} call {i}"))
                done[n] += 1
                i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - started)


def rss_kb(pid: int) -> int:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory(proxy: subprocess.Popen[str], url: str, calls: int, clients: int = 8) -> None:
    """3. The proxy's RSS while it relays and logs `calls` calls."""
    counter = iter(range(calls))
    lock = threading.Lock()
    done = [0]
    samples: list[tuple[int, int]] = [(0, rss_kb(proxy.pid))]

    def worker() -> None:
        with httpx2.Client(timeout=60) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                streamed(client, url, small_request(f"a new question, number {i}"))
                with lock:
                    done[0] += 1
                    if done[0] % 1000 == 0:
                        samples.append((done[0], rss_kb(proxy.pid)))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"\n3. proxy RSS over {calls:,} proxied calls ({clients} clients, each call logged)")
    print("   " + "  ".join(f"{n // 1000}k: {kb / 1024:.0f} MB" for n, kb in samples))
    later = [kb for n, kb in samples if n >= calls // 2]
    if len(later) >= 2:
        print(f"   growth over the second half: {(later[-1] - later[0]) / 1024:+.1f} MB")


def claude_code_request(session: int, turn: int) -> bytes:
    """~115 KB like Claude Code's: 24 tools, 3 system blocks, `turn` exchanges so far."""
    paragraph = "Use this tool when the task needs it. Read the files first, keep changes small. "
    tools = [
        {
            "name": f"Tool{i}",
            "description": f"Tool {i}. " + paragraph * 52,
            "input_schema": {"type": "object", "properties": {"arg": {"type": "string"}}},
        }
        for i in range(24)
    ]
    messages: list[dict[str, Any]] = []
    for t in range(turn + 1):
        messages.append({"role": "user", "content": [{"type": "text", "text": f"Step {t}?"}]})
        if t < turn:
            answer = f"Step {t} reads the config and updates the parser. " * 8
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    header = f"x-anthropic-billing-header: cc_version=2.1.197.{session:03x}; cc_entrypoint=cli;"
    return json.dumps(
        {
            "model": "claude-opus-4-8",
            "max_tokens": 30,
            "stream": True,
            "system": [
                {"type": "text", "text": header},
                {
                    "type": "text",
                    "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
                    "cache_control": {"type": "ephemeral"},
                },
                {
                    "type": "text",
                    "text": "You are an interactive agent. " + paragraph * 60,
                    "cache_control": {"type": "ephemeral"},
                },
            ],
            "tools": tools,
            "messages": messages,
        }
    ).encode()


def db_bytes(path: Path) -> tuple[int, int, int]:
    """(database bytes in use, stored content bytes, raw content bytes) after a checkpoint."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        stored, raw = conn.execute(
            "SELECT coalesce(SUM(length(data)), 0), coalesce(SUM(size), 0) FROM prompt_contents"
        ).fetchone()
        return (pages - free) * size, stored, raw
    finally:
        conn.close()


def logged(db: Path) -> int:
    """Calls the proxy has settled so far."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM calls WHERE status != 'in_flight'").fetchone()[0]
    finally:
        conn.close()


def wait_logged(db: Path, count: int) -> None:
    """Wait until the proxy has logged `count` calls (it logs just after each answer)."""
    while logged(db) < count:
        time.sleep(0.05)


def quiesce(db: Path) -> int:
    """Wait until the proxy has logged everything sent so far (no call in flight, no new
    row for half a second); return how many calls it logged."""
    last = -1
    while True:
        conn = sqlite3.connect(db, timeout=30)
        try:
            total, flying = conn.execute(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'in_flight') FROM calls"
            ).fetchone()
        finally:
            conn.close()
        if total == last and flying == 0:
            return int(total)
        last = total
        time.sleep(0.5)


def storage(url: str, db: Path, sessions: int, turns: int) -> None:
    """4. Database bytes per proxied call with Claude-Code-sized requests."""
    sizes = []
    with httpx2.Client(timeout=60) as client:
        streamed(client, url, claude_code_request(999, 0))  # schema and pages in place
        before = quiesce(db)  # the earlier parts' calls are all logged
        base, base_stored, base_raw = db_bytes(db)
        for s in range(sessions):
            for t in range(turns):
                body = claude_code_request(s, t)
                sizes.append(len(body))
                streamed(client, url, body)
        wait_logged(db, before + sessions * turns)
    total, stored, raw = db_bytes(db)
    calls = sessions * turns
    growth = total - base
    content = stored - base_stored
    print(
        f"\n4. storage: {calls} proxied calls, Claude-Code-sized (requests "
        f"{min(sizes) / 1024:.0f}-{max(sizes) / 1024:.0f} KB, {sessions} sessions of {turns})"
    )
    print(f"   request bytes sent:           {sum(sizes) / calls / 1024:8.1f} KB per call")
    print(f"   database growth:              {growth / calls / 1024:8.2f} KB per call")
    print(
        f"   new content it holds:         {content / calls / 1024:8.2f} KB per call "
        f"(zlib; {(raw - base_raw) / calls / 1024:.2f} KB raw)"
    )
    print(
        f"   beyond the new content:       {(growth - content) / calls / 1024:8.2f} KB per call"
        "   (target: at most 4 KB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--calls", type=int, default=400, help="latency: calls per side")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput: per run")
    parser.add_argument("--rss-calls", type=int, default=10_000, help="memory: proxied calls")
    parser.add_argument("--sessions", type=int, default=5, help="storage: sessions")
    parser.add_argument("--turns", type=int, default=40, help="storage: calls per session")
    parser.add_argument(
        "--only",
        default="latency,throughput,memory,storage",
        help="comma-separated parts to run (default: all)",
    )
    args = parser.parse_args()
    if args.quick:
        args.calls, args.seconds, args.rss_calls, args.sessions, args.turns = 40, 2.0, 2000, 2, 5
    print(
        f"machine: {os.uname().machine}, {os.cpu_count()} cores, load "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}, Python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PROMPTCACHE_TUI_HOME": tmp}
        env.pop("ANTHROPIC_BASE_URL", None)
        sim, sim_url = start(["sim", "--port", "0", "--rate", "0", "--data-dir", tmp + "/sim"], env)
        paced, paced_url = start(
            ["sim", "--port", "0", "--rate", "80", "--data-dir", tmp + "/paced"], env
        )
        home = Path(tmp) / "proxy"
        home.mkdir()
        proxy_env = {**env, "PROMPTCACHE_TUI_HOME": str(home)}
        proxy, proxy_url = start(
            ["proxy", "--port", "0", "--upstream", sim_url, "--quiet"], proxy_env
        )
        paced_proxy, paced_proxy_url = start(
            ["proxy", "--port", "0", "--upstream", paced_url, "--quiet", "--data-dir", tmp + "/pp"],
            env,
        )
        paced_db = Path(tmp) / "pp" / "promptcache.sqlite3"
        parts = set(args.only.split(","))
        try:
            if "latency" in parts:
                latency(sim_url, proxy_url, args.calls)
            if "throughput" in parts:
                print("\n2. throughput, 16 clients streaming at once (calls/s)")
                runs = (
                    ("unpaced sim", sim_url, proxy_url, home / "promptcache.sqlite3"),
                    ("paced sim (80 tok/s)", paced_url, paced_proxy_url, paced_db),
                )
                for label, direct, through, db in runs:
                    for url in (direct, through):  # caches written, connections open
                        throughput(url, 16, 1.0)
                    quiesce(db)
                    a = throughput(direct, 16, args.seconds)
                    quiesce(db)  # everything logged: the proxy competes for nothing
                    b = throughput(through, 16, args.seconds)
                    quiesce(db)
                    print(
                        f"   {label:22} direct {a:7.1f}   proxy {b:7.1f}   "
                        f"{b / a * 100:5.1f}% of direct   (target: at least 90%)"
                    )
            if "memory" in parts:
                memory(proxy, proxy_url, args.rss_calls)
            if "storage" in parts:
                storage(proxy_url, home / "promptcache.sqlite3", args.sessions, args.turns)
        finally:
            for process in (proxy, paced_proxy, sim, paced):
                stop(process)


if __name__ == "__main__":
    main()
