"""The SQLite database: opening it safely, migrating it, and running transactions.

Through aiosqlite (a thread per connection, for the TUI and anything concurrent), or
`inline` (a plain sqlite3 connection driven by `store.inline.run_inline`, for one-shot
commands that must start fast): the same code and queries either way. asyncio and aiosqlite
are imported only by the first.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from promptcache_tui.core.clock import Clock, wall_clock
from promptcache_tui.store.errors import (
    StoreError,
    busy_timeout_ms,
    describe,
)
from promptcache_tui.store.lease import Lease, Orphans, lease_folder
from promptcache_tui.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    from typing import Any

    import aiosqlite

SQLITE_MAGIC = b"SQLite format 3\x00"
# The error of a call whose process ended (killed, crashed) before the call did.
ORPHAN_ERROR = "interrupted: the process making this call ended before it finished"


def now_iso(clock: Clock = wall_clock) -> str:
    """The time on `clock` (UTC), ISO 8601 with microseconds."""
    from promptcache_tui.core.records import iso_utc

    return iso_utc(clock())


def prepare_file(path: Path) -> None:
    """Create the database file 0600 if missing; refuse anything that is not a SQLite file.

    A FIFO, socket or device at the path is refused from its mode, before it is opened:
    opening a FIFO would wait forever for a writer.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise StoreError(
                f"{path} is a symbolic link to {os.readlink(path)}, which does not exist"
            ) from None
        mode = None
    except OSError as exc:
        raise StoreError(f"cannot use database {path}: {exc.strerror}") from exc
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise StoreError(f"{path} is a directory, not a database")
        if not stat.S_ISREG(mode):
            raise StoreError(f"{path} is not a regular file ({_file_kind(mode)}), not a database")
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


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _read_only(path: Path) -> bool:
    """True when this process cannot write the database (a read-only dir, mount or file).

    WAL needs its -wal and -shm files beside the database, so the folder counts too.
    """
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


class Database:
    """An aiosqlite (or inline) connection in autocommit mode, with explicit write
    transactions."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        clock: Clock = wall_clock,
        *,
        inline: bool = False,
    ) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock  # stamps contexts and conversations (calls carry their own ts)
        # One connection serves the whole app: overlapping transactions would nest, which
        # SQLite refuses, so writers on this connection take turns. (Inline, one task
        # uses it: there are no turns to take.)
        self._write_lock: Any
        if inline:
            from promptcache_tui.store.inline import NoLock

            self._write_lock = NoLock()
        else:
            import asyncio

            self._write_lock = asyncio.Lock()
        self.read_only = False
        self.orphans_settled = 0  # calls of dead processes settled when this one opened
        self._lease: Lease | None = None

    @classmethod
    async def open(cls, path: Path, *, clock: Clock = wall_clock, inline: bool = False) -> Database:
        """Open (creating 0600 if needed), check, configure and migrate the database at `path`
        (`inline`: without aiosqlite, for `store.inline.run_inline`).

        Nothing is written until the file is known to be ours and not newer than this
        program: the owner and version checks come before WAL mode and migrations. A
        database this process cannot write opens read-only (reading needs no write access;
        writes then fail with one line). Then the in-flight calls of dead processes are
        settled as interrupted (`settle_orphans`).
        """
        path = Path(path)
        prepare_file(path)
        read_only = _read_only(path)
        try:
            db = await cls._connect(path, read_only=read_only, clock=clock, inline=inline)
        except sqlite3.Error as exc:
            raise describe(exc, path) from exc
        try:
            await db._check_owner_and_version()
            if read_only:
                if int(await db.scalar("PRAGMA user_version") or 0) < SCHEMA_VERSION:
                    raise StoreError(
                        f"database {path} is read-only and needs an upgrade: it can be read "
                        "once this program can write to it"
                    )
            else:
                mode = await db.scalar("PRAGMA journal_mode")
                if str(mode).lower() != "wal":
                    await db.conn.execute("PRAGMA journal_mode = WAL")
                await db.conn.execute("PRAGMA synchronous = NORMAL")
                await db.migrate()
                db.orphans_settled = await db.settle_orphans()
        except sqlite3.Error as exc:
            await db.conn.close()
            raise describe(exc, path) from exc
        except BaseException:
            await db.conn.close()
            raise
        return db

    @classmethod
    async def _connect(
        cls, path: Path, *, read_only: bool, clock: Clock, inline: bool = False
    ) -> Database:
        """A configured connection; read-only ones open with mode=ro (and, on a read-only
        file system with no -shm file to share, immutable=1: no one can write it there)."""
        attempts: list[tuple[str | Path, bool]] = [(path, False)]
        if read_only:
            uri = path.resolve().as_uri()
            attempts = [(f"{uri}?mode=ro", True), (f"{uri}?mode=ro&immutable=1", True)]
        for i, (target, uri_form) in enumerate(attempts):
            conn = await cls._connection(target, uri_form, inline)
            conn.row_factory = sqlite3.Row  # (aiosqlite.Row is sqlite3.Row)
            db = cls(conn, path, clock, inline=inline)
            db.read_only = read_only
            try:
                await conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
                await conn.execute("PRAGMA foreign_keys = ON")
                await db.scalar("SELECT count(*) FROM sqlite_master")  # reads the file
            except sqlite3.Error as exc:
                await conn.close()
                if isinstance(exc, sqlite3.OperationalError) and i + 1 < len(attempts):
                    continue  # read-only without a -shm file: try immutable
                raise
            return db
        raise AssertionError("unreachable")

    @staticmethod
    async def _connection(target: str | Path, uri: bool, inline: bool) -> aiosqlite.Connection:
        timeout = busy_timeout_ms() / 1000
        if inline:
            from promptcache_tui.store.inline import InlineConnection

            # The subset of aiosqlite's interface the store uses (store/inline.py).
            inline_conn: aiosqlite.Connection = InlineConnection.connect(  # type: ignore[assignment]
                target, timeout=timeout, uri=uri
            )
            return inline_conn
        import asyncio

        import aiosqlite

        pending = aiosqlite.connect(target, isolation_level=None, timeout=timeout, uri=uri)
        try:
            return await pending
        except sqlite3.Error:
            # aiosqlite stops its thread without waiting: let it finish while the loop
            # still runs, or it reports into a closed loop (a traceback after our line).
            thread = getattr(pending, "_thread", None)
            if thread is not None:
                await asyncio.to_thread(thread.join, 5)
            raise

    async def close(self) -> None:
        """Settle this process's calls still in flight as interrupted, then close."""
        lease, self._lease = self._lease, None
        if lease is not None:
            # A failure here leaves the rows to the next process's sweep: never lost.
            with contextlib.suppress(sqlite3.Error, StoreError):
                async with self.transaction() as conn:
                    await conn.execute(_SETTLE_OWNER, (ORPHAN_ERROR, lease.token))
            lease.release()
        await self.conn.close()

    async def interrupt(self) -> None:
        """Stop whatever query the connection is running (it raises QueryInterrupted)."""
        await self.conn.interrupt()

    def lease_token(self) -> str | None:
        """The token naming this process's lease, taken on first use (see store/lease.py).

        None when no lease can be taken (the folder cannot be created): such calls have no
        owner, and the next process to open the database settles them if still in flight.
        """
        if self._lease is None:
            lease = Lease(lease_folder(self.path))
            try:
                lease.acquire()
            except OSError:
                return None
            self._lease = lease
        return self._lease.token

    async def settle_orphans(self) -> int:
        """Settle as `interrupted` the in-flight calls whose process has died; return how many.

        Exactly once: a dead owner's lease is locked by us while its rows are updated with
        `WHERE status = 'in_flight'` in one write transaction, so two processes opening at
        once cannot both settle a row, and the rollup triggers move each call from the
        in_flight group to the interrupted one. Live owners hold their lease and are left
        alone; so are the leases of processes that died with no call in flight (removed).
        """
        own = self._lease.token if self._lease is not None else None
        found = await self.fetchall("SELECT DISTINCT owner FROM calls WHERE status = 'in_flight'")
        tokens = [row[0] for row in found if row[0] != own or own is None]
        folder = lease_folder(self.path)
        orphans = Orphans(folder)
        settled = 0
        try:
            dead = [token for token in tokens if orphans.claim(token)]
            if dead:
                async with self.transaction() as conn:
                    for token in dead:
                        cursor = await conn.execute(_SETTLE_OWNER, (ORPHAN_ERROR, token))
                        settled += max(cursor.rowcount, 0)
            with contextlib.suppress(OSError):  # leases of processes that died idle
                for stale in folder.glob("*.lock"):
                    if stale.stem != own and stale.stem not in tokens:
                        orphans.claim(stale.stem)
        finally:
            orphans.release()
        return settled

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

    async def _check_owner_and_version(self) -> None:
        """Refuse another program's SQLite database, or a newer schema, before any write.

        Ours carries our application_id (schema 7 on) and a user_version from its first
        migration; another id, or version 0 with tables, is not ours.
        """
        app_id = int(await self.scalar("PRAGMA application_id") or 0)
        version = int(await self.scalar("PRAGMA user_version") or 0)
        foreign = app_id not in (0, APPLICATION_ID) or (
            version == 0 and await self.scalar("SELECT count(*) FROM sqlite_master")
        )
        if foreign:
            raise StoreError(
                f"{self.path} is a SQLite database of another program, not a "
                "promptcache-tui database (left untouched)"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer promptcache-tui (schema {version}); upgrade"
                " (left untouched)"
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
            await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        return SCHEMA_VERSION


_SETTLE_OWNER = """UPDATE calls SET status = 'interrupted', error = coalesce(error, ?),
    owner = NULL WHERE status = 'in_flight' AND owner IS ?"""


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
