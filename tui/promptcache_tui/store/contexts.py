"""Contexts, their blocks and breakpoints in SQLite."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from promptcache_tui.store.database import Database, now_iso
from promptcache_tui.store.errors import StoreError, describe

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    import aiosqlite

    # Imported where contexts are built or checked: `context list` needs neither.
    from promptcache_tui.core.context import Context


@dataclass(frozen=True, slots=True)
class ContextSummary:
    """A context as a list shows it, without loading its text."""

    id: int
    name: str
    model: str
    blocks: int
    breakpoints: int
    chars: int
    created_at: str
    last_used_at: str | None
    keep_warm: bool


class ContextRepo:
    """Create, read, update and delete contexts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, ctx: Context) -> Context:
        """Store a new context; refuse a duplicate name."""
        from promptcache_tui.core.context import validate_name

        validate_name(ctx.name)
        stamp = now_iso(self.db.clock)
        try:
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT INTO contexts (name, model, created_at, updated_at, keep_warm)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (ctx.name, ctx.model, stamp, stamp, int(ctx.keep_warm)),
                )
                context_id = int(cursor.lastrowid or 0)
                await self._write_parts(conn, context_id, ctx)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"a context named {ctx.name!r} already exists") from exc
        except sqlite3.Error as exc:
            raise describe(exc, self.db.path) from exc
        return ctx.with_changes(id=context_id, created_at=stamp)

    async def save(self, ctx: Context) -> Context:
        """Replace a stored context's name, model, blocks and breakpoints."""
        from promptcache_tui.core.context import validate_name

        if ctx.id is None:
            raise StoreError("cannot save a context that was never added")
        validate_name(ctx.name)
        try:
            async with self.db.transaction() as conn:
                old = await (
                    await conn.execute("SELECT name FROM contexts WHERE id = ?", (ctx.id,))
                ).fetchone()
                if old is None:
                    raise StoreError(f"context {ctx.name!r} no longer exists")
                await conn.execute(
                    "UPDATE contexts SET name = ?, model = ?, keep_warm = ?, updated_at = ?"
                    " WHERE id = ?",
                    (ctx.name, ctx.model, int(ctx.keep_warm), now_iso(self.db.clock), ctx.id),
                )
                if old[0] != ctx.name:
                    # History follows a renamed context.
                    await conn.execute(
                        "UPDATE calls SET context = ? WHERE context_id = ?", (ctx.name, ctx.id)
                    )
                await conn.execute("DELETE FROM blocks WHERE context_id = ?", (ctx.id,))
                await conn.execute("DELETE FROM breakpoints WHERE context_id = ?", (ctx.id,))
                await self._write_parts(conn, ctx.id, ctx)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"a context named {ctx.name!r} already exists") from exc
        except sqlite3.Error as exc:
            raise describe(exc, self.db.path) from exc
        return ctx

    async def _write_parts(self, conn: aiosqlite.Connection, context_id: int, ctx: Context) -> None:
        await conn.executemany(
            "INSERT INTO blocks (context_id, position, kind, name, role, text)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(context_id, i, b.kind, b.name, b.role, b.text) for i, b in enumerate(ctx.blocks)],
        )
        await conn.executemany(
            "INSERT INTO breakpoints (context_id, block_position, ttl) VALUES (?, ?, ?)",
            [(context_id, bp.block, bp.ttl) for bp in ctx.breakpoints],
        )

    async def get(self, name: str) -> Context | None:
        """The context named `name` (case-insensitive), or None."""
        row = await self.db.fetchone("SELECT * FROM contexts WHERE name = ?", (name,))
        return await self._load(row) if row else None

    async def get_by_id(self, context_id: int) -> Context | None:
        """The context with this id, or None."""
        row = await self.db.fetchone("SELECT * FROM contexts WHERE id = ?", (context_id,))
        return await self._load(row) if row else None

    async def require(self, name: str) -> Context:
        """The context named `name`, or a StoreError saying it does not exist."""
        ctx = await self.get(name)
        if ctx is None:
            raise StoreError(f"no context named {name!r} (see: promptcache-tui context list)")
        return ctx

    async def _load(self, row: aiosqlite.Row) -> Context:
        from promptcache_tui.core.context import Block, Breakpoint, Context

        blocks = await self.db.fetchall(
            "SELECT kind, name, role, text FROM blocks WHERE context_id = ? ORDER BY position",
            (row["id"],),
        )
        marks = await self.db.fetchall(
            "SELECT block_position, ttl FROM breakpoints WHERE context_id = ?"
            " ORDER BY block_position",
            (row["id"],),
        )
        return Context(
            id=row["id"],
            name=row["name"],
            model=row["model"],
            keep_warm=bool(row["keep_warm"]),
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            blocks=tuple(
                Block(kind=b["kind"], name=b["name"], role=b["role"], text=b["text"])
                for b in blocks
            ),
            breakpoints=tuple(Breakpoint(block=m["block_position"], ttl=m["ttl"]) for m in marks),
        )

    async def list(self) -> list[ContextSummary]:
        """Every context, most recently used first."""
        rows = await self.db.fetchall(
            """
            SELECT c.id, c.name, c.model, c.created_at, c.last_used_at, c.keep_warm,
                   (SELECT COUNT(*) FROM blocks b WHERE b.context_id = c.id) AS blocks,
                   (SELECT COALESCE(SUM(LENGTH(b.text)), 0) FROM blocks b
                     WHERE b.context_id = c.id) AS chars,
                   (SELECT COUNT(*) FROM breakpoints p WHERE p.context_id = c.id) AS breakpoints
            FROM contexts c
            ORDER BY COALESCE(c.last_used_at, c.created_at) DESC, c.name
            """
        )
        return [
            ContextSummary(
                id=r["id"],
                name=r["name"],
                model=r["model"],
                blocks=r["blocks"],
                breakpoints=r["breakpoints"],
                chars=r["chars"],
                created_at=r["created_at"],
                last_used_at=r["last_used_at"],
                keep_warm=bool(r["keep_warm"]),
            )
            for r in rows
        ]

    async def delete(self, name: str) -> bool:
        """Delete a context, its conversations and messages; its calls stay in the history."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM contexts WHERE name = ?", (name,))
            return (cursor.rowcount or 0) > 0

    async def duplicate(self, name: str, new_name: str) -> Context:
        """Copy a context's blocks and breakpoints under a new name."""
        ctx = await self.require(name)
        return await self.add(ctx.with_changes(id=None, name=new_name))

    async def touch(self, context_id: int) -> None:
        """Mark a context as just used (the TUI selects the most recent on start)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE contexts SET last_used_at = ? WHERE id = ?",
                (now_iso(self.db.clock), context_id),
            )
