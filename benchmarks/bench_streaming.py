"""Event-loop stalls while the TUI streams a long answer with four countdowns ticking.

    python benchmarks/bench_streaming.py [--tokens 4000] [--rate 200] [--fresh]

Runs the real app headless against the in-process simulator (paced at --rate tokens/s), on
a context with four breakpoints (four live countdowns), asks for a long answer capped at
--tokens, and samples the event loop every 5 ms meanwhile: a stall is how late a sample
wakes. Targets (issue 8): worst stall under 50 ms, p99 under 20 ms.

The data dir is lived in unless --fresh: 24 more contexts (the list scrolls) and 2,000
logged calls, 80 of them on the benchmark's context (the usage table scrolls). Each frame
is encoded to terminal escape codes as for a real terminal; only the write is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from promptcache_tui.config import Settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.request import Turn
from promptcache_tui.store import Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.demo import demo_text
from seed_history import Seeder

TICK = 0.005


class TerminalCost:
    """Make the headless driver pay what a terminal costs: frames encoded, bytes counted."""

    written = 0

    @classmethod
    def install(cls) -> None:
        from textual.drivers.headless_driver import HeadlessDriver

        def write(driver: HeadlessDriver, data: str) -> None:
            cls.written += len(data)

        # The app skips encoding frames for a headless driver: claim to be a terminal.
        HeadlessDriver.is_headless = property(lambda driver: False)  # type: ignore[assignment]
        HeadlessDriver.write = write  # type: ignore[method-assign]


QUESTION = "Tell me everything about Alice, the Rabbit, the Queen and the Duchess in detail"


def four_breakpoint_context() -> Context:
    """The demo book split in four parts, a breakpoint after each (1h, 1h, 5m, 5m)."""
    text = demo_text()
    quarter = len(text) // 4
    parts = [text[i * quarter : (i + 1) * quarter if i < 3 else None] for i in range(4)]
    return Context(
        name="stream-bench",
        blocks=tuple(Block("document", part, f"part-{i + 1}") for i, part in enumerate(parts)),
        breakpoints=tuple(Breakpoint(i, "1h" if i < 2 else "5m") for i in range(4)),
    )


def settled(app: PromptCacheApp) -> bool:
    """Whether the app's start-up worker (backend, SDK preload, GC freeze) has finished."""
    return not any(worker.group == "backend" and not worker.is_finished for worker in app.workers)


async def sample(lags: list[float], stop: asyncio.Event) -> None:
    """Sleep TICK repeatedly; record how late each wake-up is (ms)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(TICK)
        lags.append(max(0.0, (loop.time() - start - TICK) * 1000))


async def live_in(store: Store) -> None:
    """Other contexts and a call history, as on a machine in daily use."""
    for i in range(24):
        await store.contexts.add(
            Context(
                name=f"notes-{i:02}",
                blocks=(Block("document", f"Notes {i}. " * 400, "notes"),),
                breakpoints=(Breakpoint(0, "5m"),),
            )
        )
    records = list(Seeder(2000, datetime(2026, 11, 26, tzinfo=UTC), 30, 7).records())
    for i in range(0, len(records), 25):  # every 25th call was on the benchmark's context
        records[i] = dataclasses.replace(records[i], context="stream-bench")
    await store.calls.log_many(records)


async def earlier_turns(store: Store, context_id: int, exchanges: int) -> None:
    """A conversation already `exchanges` questions long, each answered with a long list."""
    text = demo_text()
    conversation = await store.conversations.create(context_id)
    for i in range(exchanges):
        start = (i * 4000) % (len(text) - 4000)
        answer = "".join(f"- {line}\n" for line in text[start : start + 4000].split(". ") if line)
        await store.conversations.append(
            conversation, [Turn("user", f"Question {i + 1}?"), Turn("assistant", answer)]
        )


async def run(tokens: int, rate: float, fresh: bool, exchanges: int = 0) -> None:
    # Removed afterwards, whatever happens: runs must not pile up in /tmp.
    with tempfile.TemporaryDirectory(prefix="pct-stream-") as scratch:
        data_dir = Path(scratch)
        settings = Settings(data_dir=data_dir, max_tokens=tokens)
        async with await Store.open(settings.db_path) as store:
            if not fresh:
                await live_in(store)
            ctx = await store.contexts.add(four_breakpoint_context())
            assert ctx.id is not None
            await store.contexts.touch(ctx.id)
            if exchanges:
                await earlier_turns(store, ctx.id, exchanges)
        TerminalCost.install()
        app = PromptCacheApp(settings, sim_rate=rate, cursor_blink=False)
        async with app.run_test(size=(160, 45)) as pilot:
            deadline = time.monotonic() + 30
            # Ready, and start-up settled (SDK loaded, start-up heap frozen): a person takes
            # longer than that to type the first prompt.
            while (
                not (app.ready and app.main.ctx is not None and settled(app))
                and time.monotonic() < deadline
            ):
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
        print(
            f"answer: {record.usage.output_tokens} tokens at {rate:g} tok/s in {elapsed:.1f} s "
            f"(status {record.status}); four countdowns ticking; "
            f"{'fresh' if fresh else 'lived-in'} data dir; "
            f"{TerminalCost.written / 1e6:.1f} MB of terminal output"
        )
        print(
            f"event-loop stalls over {len(lags)} samples: median {statistics.median(lags):.1f} ms, "
            f"p99 {p99:.1f} ms, max {lags[-1]:.1f} ms, "
            f"over 50 ms: {sum(1 for lag in lags if lag > 50)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument(
        "--fresh", action="store_true", help="an empty data dir: no other contexts, no call history"
    )
    parser.add_argument(
        "--exchanges", type=int, default=0, help="continue a conversation this many questions long"
    )
    args = parser.parse_args()
    asyncio.run(run(args.tokens, args.rate, args.fresh, args.exchanges))


if __name__ == "__main__":
    main()
