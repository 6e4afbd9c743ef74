"""The simulator's persistent state: cache entries, clock offset, faults, fingerprints.

One SQLite file in the data dir, shared by every process that serves the simulator, as a
real server's cache is shared by its clients. WAL mode and `BEGIN IMMEDIATE` writes make
concurrent processes safe; the file is created 0600 (it holds hashes of private prompts).
A write that finds another process writing naps briefly and tries again (`_begin`), rather
than in SQLite's busy handler, whose sleeps grow to 5-100 ms while the lock it waits for
is held for a fraction of a millisecond.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcache_tui.core.errors import UserError
from promptcache_tui.sim.diagnostics import Fingerprint
from promptcache_tui.sim.engine import CacheEntry, NewEntry

STATE_FILE_NAME = "simulator.sqlite3"
BUSY_TIMEOUT_MS = 10_000
# Naps while another process holds the write lock: from 0.1 ms, doubling, at most 2 ms.
FIRST_NAP_S = 0.0001
LONGEST_NAP_S = 0.002
# Fingerprints older than this (simulated time) are forgotten: previous_message_not_found.
FINGERPRINT_RETENTION_S = 7 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    model TEXT NOT NULL, key TEXT NOT NULL, ttl INTEGER NOT NULL,
    expires_at REAL NOT NULL, tokens INTEGER NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status INTEGER, retry_after REAL, drop_after_events INTEGER,
    remaining INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS prints (
    message_id TEXT PRIMARY KEY, created_at REAL NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS prints_age ON prints (created_at);
"""


class StateError(UserError, RuntimeError):
    """The state file cannot be opened or is not a simulator database."""


@dataclass(frozen=True, slots=True)
class Fault:
    """A pending fault: the next `remaining` requests fail this way."""

    id: int
    status: int | None  # 429 | 500 | 529, or None for a dropped stream
    retry_after: float | None
    drop_after_events: int | None  # with a status: an `event: error` after that many events
    remaining: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for /_sim/state and /_sim/faults)."""
        out: dict[str, Any] = {"id": self.id, "count": self.remaining}
        if self.status is not None and self.drop_after_events is not None:
            out["status"] = self.status
            out["error_after_events"] = self.drop_after_events
        elif self.status is not None:
            out["status"] = self.status
            if self.retry_after is not None:
                out["retry_after"] = self.retry_after
        else:
            out["drop_after_events"] = self.drop_after_events
        return out


class SimState:
    """SQLite-backed EntryStore plus the clock offset and fault queue.

    One connection per thread: the server calls it from a thread pool.
    """

    def __init__(
        self,
        path: Path,
        *,
        nap: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        # How a lock is waited for: injectable, so tests need not sleep.
        self.nap = nap
        self.monotonic = monotonic
        self._local = threading.local()
        self._all: dict[threading.Thread, sqlite3.Connection] = {}  # per thread that used it
        self._lock = threading.Lock()
        if not self.path.exists():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Create it 0600 before SQLite does; WAL and SHM files inherit the mode.
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise StateError(f"cannot create {self.path}: {exc.strerror or exc}") from exc
        try:
            with self._write() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StateError(f"{self.path}: not a usable simulator state file ({exc})") from exc

    @classmethod
    def in_dir(cls, data_dir: Path) -> SimState:
        """The state file of the simulator in `data_dir`."""
        return cls(Path(data_dir) / STATE_FILE_NAME)

    # -- connections -------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                # Several processes opening a new file at once (`sim --workers`, four `ask`s)
                # all switch it to WAL; SQLite answers the losers "locked" at once, without
                # its busy handler (two lock upgrades would deadlock): they wait here instead.
                self._when_free(db, "PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
            except BaseException:
                db.close()  # not kept anywhere yet: nothing else would close it
                raise
            self._local.db = db
            with self._lock:
                # The server's worker threads retire when idle and new ones take their
                # place: close what the retired ones opened, or a long session would keep
                # a connection (three open files) per retired thread.
                for thread in [t for t in self._all if not t.is_alive()]:
                    with contextlib.suppress(sqlite3.Error):
                        self._all.pop(thread).close()
                self._all[threading.current_thread()] = db
        return db

    def connections(self) -> int:
        """How many connections are open (one per thread that used the state lately)."""
        with self._lock:
            return len(self._all)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two processes never both read-then-write.
        db = self._db()
        self._begin(db)
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _begin(self, db: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, napping while another process writes, for the busy timeout."""
        self._when_free(db, "BEGIN IMMEDIATE")

    def _when_free(self, db: sqlite3.Connection, statement: str) -> None:
        """Run `statement`, napping while another process holds a lock it needs, for the
        busy timeout."""
        deadline = self.monotonic() + BUSY_TIMEOUT_MS / 1000
        nap = FIRST_NAP_S
        db.execute("PRAGMA busy_timeout = 0")  # busy: fail at once, and nap here instead
        try:
            while True:
                try:
                    db.execute(statement)
                    return
                except sqlite3.OperationalError as error:
                    busy = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                    if not busy or self.monotonic() >= deadline:
                        raise
                self.nap(nap)
                nap = min(nap * 2, LONGEST_NAP_S)
        finally:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            for db in self._all.values():
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            self._all.clear()
        self._local = threading.local()

    # -- clock -------------------------------------------------------------------------

    def offset(self) -> float:
        """Seconds the simulated clock runs ahead of the real one."""
        row = self._db().execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
        offset = float(row[0]) if row else 0.0
        # A NaN or infinite offset (stored by an older version) would break every request.
        return offset if math.isfinite(offset) else 0.0

    def advance(self, seconds: float) -> float:
        """Move the simulated clock forward; returns the new offset."""
        with self._write() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
            offset = float(row[0]) if row else 0.0
            offset = (offset if math.isfinite(offset) else 0.0) + seconds
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('clock_offset', ?)",
                (repr(offset),),
            )
        return offset

    # -- EntryStore --------------------------------------------------------------------

    def lookup(self, model: str, keys: Sequence[str], now: float) -> dict[str, CacheEntry]:
        """The live entries among `keys`."""
        marks = ",".join("?" * len(keys))
        rows = (
            self._db()
            .execute(
                "SELECT key, ttl, expires_at, tokens FROM entries "
                f"WHERE model = ? AND expires_at > ? AND key IN ({marks})",
                (model, now, *keys),
            )
            .fetchall()
        )
        return {row[0]: CacheEntry(*row) for row in rows}

    def refresh(self, model: str, keys: Sequence[str], now: float) -> None:
        """Extend each entry to `now` + its own TTL."""
        with self._write() as db:
            db.executemany(
                "UPDATE entries SET expires_at = MAX(expires_at, ? + ttl) "
                "WHERE model = ? AND key = ?",
                [(now, model, key) for key in keys],
            )

    def record(
        self,
        model: str,
        entries: Sequence[NewEntry],
        started_at: float,
        message_id: str,
        print_: Fingerprint | None,
    ) -> None:
        """Write entries and the request's fingerprint (if it asked) in one transaction.

        A request that read everything and asked for no diagnostics writes nothing: no
        transaction, so no write lock taken from the other processes. The housekeeping
        waits for the next write (expired rows are never read: lookups check the time).
        """
        if not entries and print_ is None:
            return
        with self._write() as db:
            db.executemany(
                "INSERT INTO entries (model, key, ttl, expires_at, tokens) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (model, key) DO UPDATE SET ttl = excluded.ttl, "
                "expires_at = MAX(entries.expires_at, excluded.expires_at), "
                "tokens = excluded.tokens",
                [(model, e.key, e.ttl, started_at + e.ttl, e.tokens) for e in entries],
            )
            if print_ is not None:
                db.execute(
                    "INSERT OR REPLACE INTO prints (message_id, created_at, data) VALUES (?, ?, ?)",
                    (message_id, started_at, json.dumps(print_.to_dict())),
                )
            # Housekeeping in the same write: keeps the tables as small as the live cache.
            db.execute("DELETE FROM entries WHERE expires_at <= ?", (started_at,))
            db.execute(
                "DELETE FROM prints WHERE created_at < ?", (started_at - FINGERPRINT_RETENTION_S,)
            )

    def fingerprint_of(self, message_id: str) -> Fingerprint | None:
        """The fingerprint recorded for `message_id`, or None."""
        row = (
            self._db()
            .execute("SELECT data FROM prints WHERE message_id = ?", (message_id,))
            .fetchone()
        )
        # A fingerprint stored by an older version does not parse: not found, as if expired.
        return Fingerprint.from_dict(json.loads(row[0])) if row else None

    def live_entries(self, now: float) -> int:
        """How many entries are live at `now`."""
        row = (
            self._db()
            .execute("SELECT COUNT(*) FROM entries WHERE expires_at > ?", (now,))
            .fetchone()
        )
        return int(row[0])

    # -- faults ------------------------------------------------------------------------

    def add_fault(
        self,
        *,
        count: int,
        status: int | None = None,
        retry_after: float | None = None,
        drop_after_events: int | None = None,
    ) -> Fault:
        """Queue a fault for the next `count` requests."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO faults (status, retry_after, drop_after_events, remaining) "
                "VALUES (?, ?, ?, ?)",
                (status, retry_after, drop_after_events, count),
            )
            fault_id = int(cursor.lastrowid or 0)
        return Fault(fault_id, status, retry_after, drop_after_events, count)

    def take_fault(self, *, can_drop: bool) -> Fault | None:
        """Consume one use of the oldest applicable fault, if any.

        Dropped-stream faults apply only to requests that have a body to cut (`can_drop`).
        """
        if not self.any_fault():  # cheap unlocked check first: nearly always none pending
            return None
        with self._write() as db:
            # Stream faults (drop_after_events set) only apply where there is a body to cut.
            where = "" if can_drop else "AND drop_after_events IS NULL"
            row = db.execute(
                "SELECT id, status, retry_after, drop_after_events, remaining FROM faults "
                f"WHERE remaining > 0 {where} ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row[0],))
            db.execute("DELETE FROM faults WHERE remaining <= 0")
        return Fault(*row)

    def any_fault(self) -> bool:
        """Whether any fault is pending (a read: it takes no lock)."""
        db = self._db()
        return db.execute("SELECT 1 FROM faults WHERE remaining > 0 LIMIT 1").fetchone() is not None

    def pending_faults(self) -> list[Fault]:
        """Faults still waiting, oldest first."""
        rows = (
            self._db()
            .execute(
                "SELECT id, status, retry_after, drop_after_events, remaining FROM faults "
                "WHERE remaining > 0 ORDER BY id"
            )
            .fetchall()
        )
        return [Fault(*row) for row in rows]

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._write() as db:
            db.execute("DELETE FROM faults")

    def reset(self) -> None:
        """Forget everything: entries, fingerprints, faults and the clock offset."""
        with self._write() as db:
            for table in ("entries", "prints", "faults", "meta"):
                db.execute(f"DELETE FROM {table}")
