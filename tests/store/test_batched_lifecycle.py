"""The call lifecycle for several calls at once (the proxy under load): same rows, same totals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, LoggedBreakpoint
from promptcache_tui.store import CallFilter, Store, StoreError

TS = "2026-11-20T10:00:00.000000+00:00"


def _call(n: int) -> CallRecord:
    return CallRecord(
        ts=TS,
        kind="proxy",
        model="claude-sonnet-4-6",
        prices=Prices(3.0, 15.0),
        breakpoints=(LoggedBreakpoint(0, "5m", f"h{n}", 2000, cached=False),),
    )


def test_begin_many_then_settle_many(tmp_path: Path) -> None:
    async def run() -> tuple[list[str], list[str], int, list[int]]:
        async with await Store.open(tmp_path / "db.sqlite3") as store:
            records = [_call(n) for n in range(3)]
            seen: list[int] = []

            async def also(conn: object) -> None:
                seen.extend(r.id or 0 for r in records)  # ids are set inside the transaction

            ids = await store.calls.begin_many(records, also=also)
            flying = [r.status for r in await store.calls.history(CallFilter(), limit=10)]
            for record in records:
                record.status = "ok"
                record.usage = Usage(input_tokens=10, cache_read_input_tokens=2000)
                record.breakpoints = tuple(
                    LoggedBreakpoint(b.position, b.ttl, b.prefix_hash, b.prefix_tokens, True)
                    for b in record.breakpoints
                )
            await store.calls.settle_many(records)
            settled = [r.status for r in await store.calls.history(CallFilter(), limit=10)]
            totals = await store.calls.totals(CallFilter(kind="proxy"))
            assert ids == seen == [r.id for r in records]
            events = await store.calls.cache_events(["h0", "h1", "h2"])
            return flying, settled, totals.calls, [len(events), totals.cache_read_input_tokens]

    flying, settled, count, rest = asyncio.run(run())
    assert flying == ["in_flight"] * 3 and settled == ["ok"] * 3
    assert count == 3 and rest == [3, 6000]  # counted once each, in their final state


def test_a_failed_batch_leaves_no_row_and_no_ids(tmp_path: Path) -> None:
    async def run() -> tuple[list[int | None], int]:
        async with await Store.open(tmp_path / "db.sqlite3") as store:
            records = [_call(n) for n in range(2)]

            async def broken(conn: object) -> None:
                raise StoreError("disk full")

            with pytest.raises(StoreError):
                await store.calls.log_many(records, also=broken)
            return [r.id for r in records], await store.calls.count()

    assert asyncio.run(run()) == ([None, None], 0)
