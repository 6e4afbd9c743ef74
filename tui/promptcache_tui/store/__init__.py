"""SQLite persistence (aiosqlite): contexts, conversations and the call log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from promptcache_tui.core.clock import Clock, wall_clock
from promptcache_tui.store.calls import CallFilter, CallLog, parse_since
from promptcache_tui.store.contexts import ContextRepo, ContextSummary
from promptcache_tui.store.conversations import ConversationRepo
from promptcache_tui.store.database import Database, QueryInterrupted, StoreError
from promptcache_tui.store.observed import ObservedLog
from promptcache_tui.store.watch import CallWatch

__all__ = [
    "CallFilter",
    "CallLog",
    "ContextSummary",
    "QueryInterrupted",
    "Store",
    "StoreError",
    "parse_since",
]

T = TypeVar("T")
READ_ATTEMPTS = 3


class Store:
    """One open database with its repositories."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.contexts = ContextRepo(db)
        self.conversations = ConversationRepo(db)
        self.calls = CallLog(db)
        self.observed = ObservedLog(db, self.calls, self.contexts)

    @classmethod
    async def open(cls, path: Path, *, clock: Clock = wall_clock) -> Store:
        """Open (and create or migrate) the database at `path`; `clock` stamps contexts and
        conversations (created, updated, last used)."""
        return cls(await Database.open(path, clock=clock))

    async def watch(self) -> CallWatch:
        """Follow calls logged by any process from now on (poll it once a second)."""
        return await CallWatch.from_now(self.db, self.calls)

    async def close(self) -> None:
        """Close the connection."""
        await self.db.close()

    async def cancellable(self, read: Callable[[Store], Awaitable[T]]) -> T:
        """Run one read that its caller may cancel (a newer filter won): the query then stops
        in SQLite at once instead of holding the connection, which answers one at a time.

        Stopping interrupts whatever the connection runs at that moment, so another read may
        end interrupted though nobody cancelled it: that one is simply run again.
        """
        for attempt in range(READ_ATTEMPTS):
            try:
                return await read(self)
            except asyncio.CancelledError:
                await self.db.interrupt()
                raise
            except QueryInterrupted:
                if attempt == READ_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
