"""Event-loop stalls while the TUI streams a long answer with four countdowns ticking.

    python benchmarks/bench_streaming.py [--tokens 4000] [--rate 200]

Runs the real app headless against the in-process simulator (paced at --rate tokens/s), on
a context with four breakpoints (four live countdowns), asks for a long answer capped at
--tokens, and samples the event loop every 5 ms meanwhile: a stall is how late a sample
wakes. Targets (issue 8): worst stall under 50 ms, p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from promptcache_tui.config import Settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.store import Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.demo import demo_text

TICK = 0.005
QUESTION = "Tell me everything about Alice, the Rabbit, the Queen and the Duchess in detail"


def four_breakpoint_context() -> Context:
    """The demo book split in four parts, a breakpoint after each (1h, 1h, 5m, 5m)."""
    text = demo_text()
    quarter = len(text) // 4
    parts = [text[i * quarter:(i + 1) * quarter if i < 3 else None] for i in range(4)]
    return Context(
        name="stream-bench",
        blocks=tuple(Block("document", part, f"part-{i + 1}") for i, part in enumerate(parts)),
        breakpoints=tuple(Breakpoint(i, "1h" if i < 2 else "5m") for i in range(4)),
    )


async def sample(lags: list[float], stop: asyncio.Event) -> None:
    """Sleep TICK repeatedly; record how late each wake-up is (ms)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(TICK)
        lags.append(max(0.0, (loop.time() - start - TICK) * 1000))


async def run(tokens: int, rate: float) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pct-stream-"))
    settings = Settings(data_dir=data_dir, max_tokens=tokens)
    async with await Store.open(settings.db_path) as store:
        ctx = await store.contexts.add(four_breakpoint_context())
        assert ctx.id is not None
        await store.contexts.touch(ctx.id)
    app = PromptCacheApp(settings, sim_rate=rate, cursor_blink=False)
    async with app.run_test(size=(160, 45)) as pilot:
        deadline = time.monotonic() + 30
        while not (app.ready and app.main.ctx is not None) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        lags: list[float] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample(lags, stop))
        started = time.perf_counter()
        app.main.query_one("PromptInput").value = QUESTION
        await pilot.press("enter")
        await asyncio.sleep(0.2)
        while app.main.busy:  # plain sleeps: pilot.pause would force extra refreshes
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        stop.set()
        await sampler
    async with await Store.open(settings.db_path) as store:
        [record] = await store.calls.history(limit=1)
    lags.sort()
    p99 = lags[int(len(lags) * 0.99) - 1]
    print(f"answer: {record.usage.output_tokens} tokens at {rate:g} tok/s in {elapsed:.1f} s "
          f"(status {record.status}); four countdowns ticking")
    print(f"event-loop stalls over {len(lags)} samples: median {statistics.median(lags):.1f} ms, "
          f"p99 {p99:.1f} ms, max {lags[-1]:.1f} ms, "
          f"over 50 ms: {sum(1 for lag in lags if lag > 50)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    asyncio.run(run(args.tokens, args.rate))


if __name__ == "__main__":
    main()
