"""Logging overhead per call: one `calls` insert (with its breakpoints) plus the ledger update.

    python benchmarks/bench_logging.py --data-dir /tmp/pct-1m --calls 500

Run it on an empty data dir and on one filled by seed_history.py to see that the cost of
logging does not grow with the log. Prints the median and p95 per call and the bytes the
database grew per call. Every insert is its own transaction, as in the app.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from promptcache_tui.calls.service import feed_ledger
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, LoggedBreakpoint, iso_utc
from promptcache_tui.core.ttl import TTLLedger
from promptcache_tui.store import Store


def record(i: int, now: float) -> CallRecord:
    """A realistic chat call: two breakpoints, a read, a short answer."""
    return CallRecord(
        ts=iso_utc(now + i),
        kind="chat",
        model="claude-sonnet-4-6",
        context="bench",
        usage=Usage.from_counts(
            input_tokens=20,
            cache_creation_input_tokens=300,
            cache_read_input_tokens=24_000,
            output_tokens=250,
            ephemeral_5m=300,
            ephemeral_1h=0,
        ),
        prices=Prices(3.0, 15.0),
        ttft_ms=420.0,
        duration_ms=3100.0,
        prompt=f"Question {i} about the handbook's travel policy?",
        answer="The policy says... " * 40,
        breakpoints=(
            LoggedBreakpoint(0, "1h", f"{i % 7:064x}", 24_000, True, 1),
            LoggedBreakpoint(1, "5m", f"{i:064x}", 24_300, True, None),
        ),
    )


async def run(data_dir: Path, calls: int) -> None:
    db_path = data_dir / "promptcache.sqlite3"
    async with await Store.open(db_path) as store:
        before_rows = await store.calls.count()
        await store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_before = db_path.stat().st_size
        ledger = TTLLedger()
        now = time.time()
        timings = []
        for i in range(calls):
            rec = record(i, now)
            start = time.perf_counter()
            await store.calls.log(rec)
            feed_ledger(ledger, rec)
            timings.append((time.perf_counter() - start) * 1000)
        await store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_after = db_path.stat().st_size
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"log rows before: {before_rows:,}; calls logged: {calls}")
    print(
        f"per call (insert + breakpoints + ledger): median {statistics.median(timings):.2f} ms,"
        f" p95 {p95:.2f} ms, max {timings[-1]:.2f} ms"
    )
    print(
        f"database growth: {(size_after - size_before) / calls:,.0f} bytes per call "
        f"(prompt ~50 B, answer ~760 B, two breakpoints)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="a data dir (default: a new empty one)"
    )
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="pct-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(data_dir, args.calls))


if __name__ == "__main__":
    main()
