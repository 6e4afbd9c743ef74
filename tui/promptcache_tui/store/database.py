"""The SQLite database: opening it safely, migrating it, and running transactions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from promptcache_tui.core.errors import UserError
from promptcache_tui.store.migrations import MIGRATIONS, SCHEMA_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000
BUSY_TIMEOUT_ENV = "PROMPTCACHE_TUI_BUSY_TIMEOUT_MS"  # how long a writer waits for a lock


def busy_timeout_ms() -> int:
    """The lock wait in ms: PROMPTCACHE_TUI_BUSY_TIMEOUT_MS if valid, else 15 s."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "")
    return int(raw) if raw.isdigit() else BUSY_TIMEOUT_MS


class StoreError(UserError, RuntimeError):
    """A database problem, phrased as one line for the user."""


class QueryInterrupted(StoreError):
    """A query was stopped by `Database.interrupt()` before it finished."""


def now_iso() -> str:
    """The current UTC time, ISO 8601 with microseconds."""
    from promptcache_tui.core.records import iso_utc

    return iso_utc(time.time())


def prepare_file(path: Path) -> None:
    """Create the database file 0600 if missing; refuse a file that is not SQLite."""
    if path.exists():
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a database")
        try:
            with path.open("rb") as handle:
                head = handle.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise StoreError(f"cannot read database {path}: {exc.strerror}") from exc
        if head and head != SQLITE_MAGIC:
            raise StoreError(f"{path} is not a SQLite database (left untouched)")
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it a moment ago
    except OSError as exc:
        raise StoreError(f"cannot create database {path}: {exc.strerror}") from exc
    os.close(fd)


def describe(exc: sqlite3.Error, path: Path) -> StoreError:
    """Turn a sqlite3 error into one line that names the file."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, sqlite3.OperationalError) and lowered == "interrupted":
        return QueryInterrupted(f"a query on {path} was interrupted")
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            f"database {path} is busy: another process held a write lock for over "
            f"{busy_timeout_ms() / 1000:g} s; try again"
        )
    if (
        "readonly" in lowered
        or "read-only" in lowered
        or ("unable to open" in lowered and path.exists() and not _writable(path.parent))
    ):
        return StoreError(f"database {path} is read-only: check the data dir's permissions")
    # A full disk shows as SQLITE_FULL, or as an I/O error when even the -shm file cannot grow.
    if "full" in lowered or ("disk i/o error" in lowered and _disk_full(path)):
        return StoreError(f"disk full: cannot write to {path}")
    if "not a database" in lowered or "malformed" in lowered:
        return StoreError(f"{path} is corrupt or not a promptcache-tui database ({text})")
    return StoreError(f"database error in {path}: {text}")


def _writable(folder: Path) -> bool:
    # access() reports a read-only mount even to root, which chmod alone cannot stop.
    return os.access(folder, os.W_OK)


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024  # the -shm file wants 32 KiB
    except OSError:
        return False


class Database:
    """An aiosqlite connection in autocommit mode, with explicit write transactions."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # One connection serves the whole app: overlapping transactions would nest, which
        # SQLite refuses, so writers on this connection take turns.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating 0600 if needed), configure and migrate the database at `path`."""
        path = Path(path)
        prepare_file(path)
        try:
            conn = await aiosqlite.connect(
                path, isolation_level=None, timeout=busy_timeout_ms() / 1000
            )
        except sqlite3.Error as exc:
            raise describe(exc, path) from exc
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await db._refuse_foreign()
            mode = await db.scalar("PRAGMA journal_mode")
            if str(mode).lower() != "wal":
                await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await db.migrate()
        except sqlite3.Error as exc:
            await conn.close()
            raise describe(exc, path) from exc
        except StoreError:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection."""
        await self.conn.close()

    async def interrupt(self) -> None:
        """Stop whatever query the connection is running (it raises QueryInterrupted)."""
        await self.conn.interrupt()

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        async with self.conn.execute(sql, tuple(params)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """All rows of a query."""
        try:
            async with self.conn.execute(sql, tuple(params)) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.Error as exc:
            raise describe(exc, self.path) from exc

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a query, or None."""
        try:
            async with self.conn.execute(sql, tuple(params)) as cursor:
                return await cursor.fetchone()
        except sqlite3.Error as exc:
            raise describe(exc, self.path) from exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE): all of it lands, or none of it."""
        async with self._write_lock, self._transaction() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        try:
            await self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise describe(exc, self.path) from exc
        try:
            yield self.conn
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                await self.conn.execute("ROLLBACK")
            # Constraint errors are the caller's to phrase (e.g. a duplicate name).
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise describe(exc, self.path) from exc
            raise
        try:
            await self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                await self.conn.execute("ROLLBACK")
            raise describe(exc, self.path) from exc

    async def _refuse_foreign(self) -> None:
        """Refuse another program's SQLite database before anything (WAL mode, tables) is written.

        Ours has a user_version from its first migration on; version 0 with tables is not ours.
        """
        version = int(await self.scalar("PRAGMA user_version") or 0)
        if version == 0 and await self.scalar("SELECT count(*) FROM sqlite_master"):
            raise StoreError(
                f"{self.path} is a SQLite database of another program, not a "
                "promptcache-tui database (left untouched)"
            )

    async def migrate(self) -> int:
        """Apply the migrations this database lacks; return the schema version."""
        version = int(await self.scalar("PRAGMA user_version") or 0)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer promptcache-tui (schema {version}); upgrade"
            )
        if version == SCHEMA_VERSION:
            return version
        async with self.transaction() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = int(await self.scalar("PRAGMA user_version") or 0)
            for number in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    # Split on ';' but keep a trigger's BEGIN ... END body whole: a piece is a statement only
    # once SQLite says it is complete (the scripts hold no ';' inside literals).
    statements: list[str] = []
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                statements.append(pending.strip().removesuffix(";").strip())
            pending = ""
    if pending.strip(" \n\t;"):
        statements.append(pending.strip().removesuffix(";").strip())
    return statements
