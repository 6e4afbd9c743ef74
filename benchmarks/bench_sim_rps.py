"""Benchmark: simulator requests per second on loopback, with a ~50k-token cached context.

Run: python benchmarks/bench_sim_rps.py   (prints figures; not a test)
The loop is bounded: at most REQUESTS requests or SECONDS seconds per mode.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic

from promptcache_tui.sim.inprocess import InProcessSimulator

REQUESTS = 200
SECONDS = 10.0
CONTEXT_TOKENS = 50_000
THREADS = 4


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


def measure(label: str, call: Callable[[], Any], threads: int = 1) -> None:
    """Run `call` until REQUESTS or SECONDS run out; print rate and latency."""
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    def one() -> None:
        if time.perf_counter() > deadline:
            return
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: one(), range(REQUESTS)))
    elapsed = time.perf_counter() - started
    print(
        f"{label:<34} {len(latencies) / elapsed:7.1f} req/s   "
        f"p50 {statistics.median(latencies) * 1000:6.1f} ms   "
        f"({len(latencies)} requests, {threads} thread{'s' if threads > 1 else ''})"
    )


def main() -> None:
    """Serve in-process without pacing and measure each mode."""
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

        measure("messages (JSON)", plain)
        measure("messages (SSE stream)", streamed)
        measure("count_tokens", counted)
        measure("messages (JSON), concurrent", plain, THREADS)
        measure("messages (SSE stream), concurrent", streamed, THREADS)
        sdk.close()


if __name__ == "__main__":
    main()
