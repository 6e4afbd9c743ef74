"""SQLite persistence (aiosqlite, or inline for one-shot commands): contexts, conversations
and the call log.

The repositories load on first use, so a command that only lists contexts does not import
the call log (and with it the cost model and the catalog).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from promptcache_tui.core.clock import Clock, wall_clock
from promptcache_tui.store.database import Database, QueryInterrupted, StoreError

if TYPE_CHECKING:
    from promptcache_tui.store.calls import CallFilter, CallLog, parse_since
    from promptcache_tui.store.contexts import ContextRepo, ContextSummary
    from promptcache_tui.store.conversations import ConversationRepo

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
# Names this package offers from its modules, imported when first asked for.
_LAZY = {
    "CallFilter": "promptcache_tui.store.calls",
    "CallLog": "promptcache_tui.store.calls",
    "parse_since": "promptcache_tui.store.calls",
    "ContextSummary": "promptcache_tui.store.contexts",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    @classmethod
    async def open(cls, path: Path, *, clock: Clock = wall_clock, inline: bool = False) -> Store:
        """Open (and create or migrate) the database at `path`; `clock` stamps contexts and
        conversations (created, updated, last used). `inline`: without aiosqlite or an event
        loop, for a one-shot command that runs it with `store.inline.run_inline`."""
        return cls(await Database.open(path, clock=clock, inline=inline))

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
