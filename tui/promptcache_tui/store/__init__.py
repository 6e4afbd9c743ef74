"""SQLite persistence (aiosqlite, or inline for one-shot commands): contexts, conversations
and the call log.

The package loads its modules on first use (PEP 562 `__getattr__`), and a store its
repositories: the status line reads and writes through `store.imports` (the plain sqlite3
module) after every Claude Code message, and a command that only lists contexts does not
import the call log (and with it the cost model and the catalog).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cached_property
from importlib import import_module
from pathlib import Path

from promptcache_tui.core.clock import Clock, wall_clock

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from promptcache_tui.store.calls import CallFilter, CallLog, parse_since
    from promptcache_tui.store.contexts import ContextRepo, ContextSummary
    from promptcache_tui.store.conversations import ConversationRepo
    from promptcache_tui.store.database import Database
    from promptcache_tui.store.errors import QueryInterrupted, StoreError
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

if TYPE_CHECKING:
    T = TypeVar("T")
READ_ATTEMPTS = 3

# Exported name -> the module that defines it.
_LAZY = {
    "CallFilter": "calls",
    "CallLog": "calls",
    "parse_since": "calls",
    "ContextSummary": "contexts",
    "QueryInterrupted": "errors",
    "StoreError": "errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


class Store:
    """One open database with its repositories."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @cached_property
    def contexts(self) -> ContextRepo:
        """Contexts, their blocks and breakpoints."""
        from promptcache_tui.store.contexts import ContextRepo

        return ContextRepo(self.db)

    @cached_property
    def conversations(self) -> ConversationRepo:
        """Conversations and their messages."""
        from promptcache_tui.store.conversations import ConversationRepo

        return ConversationRepo(self.db)

    @cached_property
    def calls(self) -> CallLog:
        """The call log."""
        from promptcache_tui.store.calls import CallLog

        return CallLog(self.db)

    @cached_property
    def observed(self) -> ObservedLog:
        """Observed traffic: stored prefixes, groups, miss explanations."""
        from promptcache_tui.store.observed import ObservedLog

        return ObservedLog(self.db, self.calls, self.contexts)

    @classmethod
    async def open(cls, path: Path, *, clock: Clock = wall_clock, inline: bool = False) -> Store:
        """Open (and create or migrate) the database at `path`; `clock` stamps contexts and
        conversations (created, updated, last used). `inline`: without aiosqlite or an event
        loop, for a one-shot command that runs it with `store.inline.run_inline`."""
        from promptcache_tui.store.database import Database

        return cls(await Database.open(path, clock=clock, inline=inline))

    async def watch(self) -> CallWatch:
        """Follow calls logged by any process from now on (poll it once a second)."""
        from promptcache_tui.store.watch import CallWatch

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
        import asyncio

        from promptcache_tui.store.errors import QueryInterrupted

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
