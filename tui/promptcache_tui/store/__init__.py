"""SQLite persistence (aiosqlite): contexts, conversations and the call log."""

from __future__ import annotations

from pathlib import Path

from promptcache_tui.core.clock import Clock, wall_clock
from promptcache_tui.store.calls import CallFilter, CallLog, parse_since
from promptcache_tui.store.contexts import ContextRepo, ContextSummary
from promptcache_tui.store.conversations import ConversationRepo
from promptcache_tui.store.database import Database, StoreError
from promptcache_tui.store.observed import ObservedLog
from promptcache_tui.store.watch import CallWatch

__all__ = ["CallFilter", "CallLog", "ContextSummary", "Store", "StoreError", "parse_since"]


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

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
