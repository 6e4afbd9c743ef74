"""A read its caller cancels stops in SQLite at once, through the store's own interface."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from promptcache_tui.store import QueryInterrupted, Store

# Counts to a billion: far longer than any test waits, unless it is interrupted.
ENDLESS = """WITH RECURSIVE n(i) AS (SELECT started() UNION ALL SELECT i + 1 FROM n
WHERE i < 1000000000) SELECT count(*) FROM n"""


async def running(store: Store) -> threading.Event:
    """An event set once the endless query has started in SQLite."""
    event = threading.Event()

    def started() -> int:
        event.set()
        return 0

    await store.db.conn.create_function("started", 0, started)
    return event


async def test_cancelling_a_read_interrupts_its_query_and_frees_the_connection(
    tmp_path: Path,
) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        event = await running(store)
        task = asyncio.create_task(store.cancellable(lambda s: s.db.fetchall(ENDLESS)))
        assert await asyncio.to_thread(event.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The connection answers the next read instead of finishing the billion rows first.
        assert await asyncio.wait_for(store.db.scalar("SELECT 41 + 1"), 10) == 42


async def test_an_interrupted_query_raises_query_interrupted(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        event = await running(store)
        task = asyncio.create_task(store.db.fetchall(ENDLESS))
        assert await asyncio.to_thread(event.wait, 10)
        await store.db.interrupt()
        with pytest.raises(QueryInterrupted):
            await task


async def test_a_read_stopped_by_someone_elses_interrupt_runs_again(tmp_path: Path) -> None:
    attempts: list[int] = []

    async def read(store: Store) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise QueryInterrupted("interrupted")
        return "rows"

    async with await Store.open(tmp_path / "db.sqlite3") as store:
        assert await store.cancellable(read) == "rows"
        assert len(attempts) == 3  # at the limit: the third try is the last
        attempts.clear()
        attempts.append(0)  # now even the third try is interrupted: just over the limit

        async def always(store: Store) -> str:
            attempts.append(1)
            raise QueryInterrupted("interrupted")

        with pytest.raises(QueryInterrupted):
            await store.cancellable(always)
        assert len(attempts) == 4
