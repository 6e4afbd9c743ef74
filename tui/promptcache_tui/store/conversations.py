"""Conversations and their turns, resumable across runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptcache_tui.core.request import Turn
from promptcache_tui.store.database import Database, now_iso


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation as a list shows it."""

    id: int
    context_id: int | None
    title: str
    turns: int
    updated_at: str


class ConversationRepo:
    """Create conversations and append turns."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, context_id: int, title: str = "") -> int:
        """A new, empty conversation for a context."""
        stamp = now_iso(self.db.clock)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO conversations (context_id, title, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (context_id, title, stamp, stamp),
            )
            return int(cursor.lastrowid or 0)

    async def turns(self, conversation_id: int) -> list[Turn]:
        """The conversation's turns in order."""
        rows = await self.db.fetchall(
            "SELECT role, text FROM messages WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        )
        return [Turn(role=r["role"], text=r["text"]) for r in rows]

    async def append(
        self, conversation_id: int, turns: Sequence[Turn], call_id: int | None = None
    ) -> None:
        """Add turns (a prompt and its answer) in one transaction."""
        stamp = now_iso(self.db.clock)
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO messages (conversation_id, role, text, call_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(conversation_id, t.role, t.text, call_id, stamp) for t in turns],
            )
            title = turns[0].text.strip().splitlines()[0][:60] if turns else ""
            await conn.execute(
                "UPDATE conversations SET updated_at = ?,"
                " title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                (stamp, title, conversation_id),
            )

    async def list(self, context_id: int) -> list[ConversationSummary]:
        """A context's conversations, most recent first."""
        rows = await self.db.fetchall(
            """SELECT c.id, c.context_id, c.title, c.updated_at,
                      (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS turns
               FROM conversations c WHERE c.context_id = ? ORDER BY c.updated_at DESC, c.id DESC""",
            (context_id,),
        )
        return [
            ConversationSummary(
                id=r["id"],
                context_id=r["context_id"],
                title=r["title"],
                turns=r["turns"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    async def latest(self, context_id: int) -> int | None:
        """The most recent conversation of a context, if any."""
        found = await self.db.scalar(
            "SELECT id FROM conversations WHERE context_id = ? ORDER BY updated_at DESC, id DESC"
            " LIMIT 1",
            (context_id,),
        )
        return int(found) if found is not None else None
