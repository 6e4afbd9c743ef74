"""The store without an event loop: a plain `sqlite3` connection behind aiosqlite's interface.

A one-shot command (`context list`, `history`, `stats`) reads a few rows and exits. Through
aiosqlite it would first import asyncio (and with it ssl, concurrent.futures and sockets),
start a thread and an event loop: most of its start-up time. The store's queries are
coroutines; here they run on a connection whose every call completes at once, so
`run_inline` can drive them to the end with no loop at all. The queries stay the store's
own (one copy, `Store.open(path, inline=True)`); only the connection underneath changes.

The subset of aiosqlite used by the store: `execute` (awaited, or as `async with`),
`executemany`, `close`, `interrupt`, `row_factory`, and cursors' `fetchone`, `fetchall`,
`lastrowid`, `rowcount`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Generator, Iterable, Sequence

# `typing` stays unimported at run time: the fast start of `context list`, `history` and
# `stats` (cli/entry.py) runs without it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")


def run_inline(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its end here, with no event loop. Every await in it must complete at
    once (those of an inline store do); one that would wait is a RuntimeError."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()  # its `finally` blocks still run (an inline store closes at once)
    raise RuntimeError("run_inline: the coroutine waited on something: run it with asyncio")


class _Ready:
    """A result that is already there: awaitable, and usable as `async with` (which closes
    it at the end, as aiosqlite's cursors are). (Not generic: the store sees this connection
    as aiosqlite's, typed there.)"""

    def __init__(self, value: Any) -> None:
        self._value = value

    def __await__(self) -> Generator[Any, None, Any]:
        yield from ()  # a generator that never suspends: `await` gets the value at once
        return self._value

    async def __aenter__(self) -> Any:
        return self._value

    async def __aexit__(self, *exc: object) -> None:
        close = getattr(self._value, "close", None)
        if close is not None:
            await close()


class InlineCursor:
    """An aiosqlite-like cursor over a sqlite3 one."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-like connection over a sqlite3 one, used from one thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def connect(cls, target: str | Any, *, timeout: float, uri: bool) -> InlineConnection:
        """Open `target` in autocommit mode, as the store opens its aiosqlite connections."""
        return cls(sqlite3.connect(target, isolation_level=None, timeout=timeout, uri=uri))

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._conn.row_factory = factory

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Ready:
        return _Ready(InlineCursor(self._conn.execute(sql, tuple(parameters))))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> _Ready:
        return _Ready(InlineCursor(self._conn.executemany(sql, rows)))

    async def interrupt(self) -> None:
        self._conn.interrupt()

    async def close(self) -> None:
        self._conn.close()


class NoLock:
    """The write lock of a connection only one task uses: nothing to wait for."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None
