"""The store without an event loop (`Store.open(path, inline=True)` + `run_inline`): the same
queries, the same answers and the same care with the file as through aiosqlite."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import types
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord
from promptcache_tui.store import CallFilter, Store, StoreError
from promptcache_tui.store.database import ORPHAN_ERROR
from promptcache_tui.store.inline import run_inline
from promptcache_tui.store.migrations import SCHEMA_VERSION

TS = "2026-11-20T10:{:02d}:00.000000+00:00"


def _calls() -> list[CallRecord]:
    return [
        CallRecord(
            ts=TS.format(i),
            kind="ask",
            model=("claude-sonnet-4-6", "m-unknown")[i % 2],
            context=("book", "notes")[i % 3 == 0],
            status="error" if i % 7 == 0 else "ok",
            usage=Usage.from_counts(
                input_tokens=10 + i, cache_read_input_tokens=1000 * (i % 2), output_tokens=50
            ),
            prices=Prices(3.0, 15.0) if i % 2 == 0 else Prices(None, None),
            prompt=f"What about part {i}?",
        )
        for i in range(40)
    ]


async def _answers(path: Path, *, inline: bool) -> dict[str, Any]:
    """What the commands ask of the store, through either connection."""
    async with await Store.open(path, inline=inline) as store:
        history = await store.calls.history(CallFilter(context="book"), limit=10)
        return {
            "contexts": [(c.name, c.blocks, c.breakpoints) for c in await store.contexts.list()],
            "history": [(r.id, r.ts, r.cost.cost_usd) for r in history],
            "stats": await store.calls.stats("model"),
            "by_day": await store.calls.stats("day", CallFilter(search="part 1")),
            "context": await store.contexts.require("BOOK"),  # names are case-insensitive
        }


def test_inline_answers_equal_the_aiosqlite_ones(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"

    async def seed() -> None:
        async with await Store.open(path, inline=True) as store:  # creates and migrates
            await store.contexts.add(
                Context(
                    name="book",
                    blocks=(Block(kind="document", text="a text " * 500, name="a.txt"),),
                    breakpoints=(Breakpoint(block=0, ttl="1h"),),
                )
            )
            await store.calls.log_many(_calls())

    run_inline(seed())
    inline = run_inline(_answers(path, inline=True))
    threaded = asyncio.run(_answers(path, inline=False))
    assert inline == threaded
    assert inline["history"] and inline["stats"] and inline["by_day"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_a_failed_write_rolls_back_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"

    async def twice() -> None:
        async with await Store.open(path, inline=True) as store:
            ctx = Context(name="dup", blocks=(Block(kind="document", text="x", name="x"),))
            await store.contexts.add(ctx)
            await store.contexts.add(ctx)

    with pytest.raises(StoreError, match="dup"):
        run_inline(twice())

    async def names() -> list[str]:
        async with await Store.open(path, inline=True) as store:
            return [c.name for c in await store.contexts.list()]

    assert run_inline(names()) == ["dup"]


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_text("not sqlite")

    async def open_it() -> None:
        await Store.open(path, inline=True)

    with pytest.raises(StoreError, match="not a SQLite database"):
        run_inline(open_it())
    assert path.read_text() == "not sqlite"


_OWNER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from promptcache_tui.core.cost import Prices
    from promptcache_tui.core.records import CallRecord
    from promptcache_tui.store import Store

    async def main() -> None:
        store = await Store.open(Path(sys.argv[1]))
        rec = CallRecord(ts="2026-11-20T10:00:00.000000+00:00", kind="ask",
                         model="claude-sonnet-4-6", prices=Prices(3.0, 15.0))
        await store.calls.begin(rec)
        print(rec.id, flush=True)
        await asyncio.sleep(3600)  # in flight until killed

    asyncio.run(main())
    """
)


def test_an_inline_opener_settles_a_dead_processes_call(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    assert owner.stdout.readline().strip().isdigit()
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    owner.stdout.close()

    async def statuses() -> tuple[int, list[tuple[str, str]]]:
        async with await Store.open(path, inline=True) as store:
            rows = await store.db.fetchall("SELECT status, error FROM calls")
            return store.db.orphans_settled, [(r[0], r[1]) for r in rows]

    assert run_inline(statuses()) == (1, [("interrupted", ORPHAN_ERROR)])


def test_run_inline_refuses_a_coroutine_that_would_wait() -> None:
    closed: list[bool] = []

    @types.coroutine
    def pause() -> Generator[None, None, None]:
        yield  # what waiting on an event loop's future does

    async def waits() -> None:
        try:
            await pause()
        finally:
            closed.append(True)

    with pytest.raises(RuntimeError, match="waited on something"):
        run_inline(waits())
    assert closed == [True]  # its cleanup ran


def test_run_inline_returns_the_result_and_raises_the_error() -> None:
    async def answer() -> int:
        return 42

    async def fails() -> None:
        raise ValueError("boom")

    assert run_inline(answer()) == 42
    with pytest.raises(ValueError, match="boom"):
        run_inline(fails())
