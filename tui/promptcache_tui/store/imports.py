"""The import side of the call log, over a plain sqlite3 connection.

`import claude-code` and the status line both log Claude Code's responses through this one
module: the status line runs after every message and cannot wait for aiosqlite and asyncio
to import (see benchmarks/bench_statusline.py), and the importer runs it in a worker thread.
The rows are the ones the async store writes (`rows.py`), and the dedup rule is the unique
index on imported message ids (`rows.INSERT_IMPORTED`).

Only a database at the current schema opens here: creating, migrating and settling the
calls of dead processes stay with `Database.open`. `ImportLog.open` raises
`SchemaNotReady` when that has to run first.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptcache_tui.core.clock import Clock, wall_clock
from promptcache_tui.core.records import CallRecord, iso_utc
from promptcache_tui.store.errors import StoreError, busy_timeout_ms, describe
from promptcache_tui.store.migrations import APPLICATION_ID, SCHEMA_VERSION
from promptcache_tui.store.rows import (
    ENSURE_GROUP,
    INSERT_IMPORTED,
    SAVE_MISS,
    UPDATE_CALL,
    call_row,
    group_row,
    miss_row,
    update_row,
)

if TYPE_CHECKING:
    from promptcache_tui.core.miss import MissExplanation

_BATCH = 500  # parameters per IN (...) query, well under SQLite's limit


class SchemaNotReady(StoreError):
    """The database is missing or not at this program's schema: open it with the Store."""


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far one transcript file was read (see observe/transcripts.py)."""

    path: str
    device: int
    inode: int
    offset: int
    skipped: int


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """What the log already holds of an imported response."""

    id: int
    tokens: int  # input + cache writes + reads + output: a fuller line has more
    cache_miss_reason: str | None


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """A session's logged calls, summed (what the dashboard shows for its group)."""

    calls: int
    prompt_tokens: int
    read_tokens: int
    saved_usd: float | None  # None when no call of the session has a known price

    @property
    def hit_rate(self) -> float | None:
        """read / (input + creation + read); None when there are no prompt tokens."""
        return self.read_tokens / self.prompt_tokens if self.prompt_tokens else None


class ImportLog:
    """Imported calls, their groups, miss explanations and read positions."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock = wall_clock) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock  # stamps groups and read positions (calls carry their own ts)

    @classmethod
    def open(
        cls, path: Path, *, lock_wait_ms: int | None = None, clock: Clock = wall_clock
    ) -> ImportLog:
        """Open an existing database at the current schema (else SchemaNotReady).

        `lock_wait_ms`: how long a write waits for another process's lock (default: as
        the store, PROMPTCACHE_TUI_BUSY_TIMEOUT_MS or 15 s).
        """
        path = Path(path)
        wait = busy_timeout_ms() if lock_wait_ms is None else lock_wait_ms
        try:
            mode = path.stat().st_mode
        except FileNotFoundError as exc:
            raise SchemaNotReady(f"{path} does not exist yet") from exc
        except OSError as exc:
            raise StoreError(f"cannot use database {path}: {exc.strerror}") from exc
        if not stat.S_ISREG(mode):
            # A FIFO would block the open; Database.open names what it is.
            raise SchemaNotReady(f"{path} is not a regular file")
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout_ms() / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise describe(exc, path) from exc
        log = cls(conn, path, clock)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(wait)}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if version != SCHEMA_VERSION or app_id != APPLICATION_ID:
                raise SchemaNotReady(f"{path} is at schema {version}, not {SCHEMA_VERSION}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")  # as Database.open: WAL makes it safe
        except sqlite3.Error as exc:
            conn.close()
            raise describe(exc, path) from exc
        except BaseException:
            conn.close()
            raise
        return log

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> ImportLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): all of it lands, or none of it."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise describe(exc, self.path) from exc
        try:
            yield self.conn
        except BaseException as exc:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise describe(exc, self.path) from exc
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise describe(exc, self.path) from exc

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise describe(exc, self.path) from exc

    # -- read positions ---------------------------------------------------------------

    def progress(self, paths: Iterable[str]) -> dict[str, ImportProgress]:
        """How far each of these transcript files was read before."""
        wanted = list(paths)
        out: dict[str, ImportProgress] = {}
        for start in range(0, len(wanted), _BATCH):
            part = wanted[start : start + _BATCH]
            marks = ",".join("?" * len(part))
            for r in self._rows(f"SELECT * FROM import_files WHERE path IN ({marks})", part):
                out[r["path"]] = ImportProgress(
                    r["path"], r["device"], r["inode"], r["offset"], r["skipped"]
                )
        return out

    def save_progress(self, progress: Sequence[ImportProgress]) -> None:
        """Remember how far these files were read (inside a transaction)."""
        stamp = iso_utc(self.clock())
        self.conn.executemany(
            "INSERT OR REPLACE INTO import_files (path, device, inode, offset, skipped,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(p.path, p.device, p.inode, p.offset, p.skipped, stamp) for p in progress],
        )

    # -- calls ------------------------------------------------------------------------

    def logged(self, keys: Sequence[str]) -> dict[str, LoggedCall]:
        """The imported responses among `keys` (message ids) already in the log."""
        out: dict[str, LoggedCall] = {}
        for start in range(0, len(keys), _BATCH):
            part = list(keys[start : start + _BATCH])
            marks = ",".join("?" * len(part))
            rows = self._rows(
                "SELECT id, message_id, input_tokens + cache_creation_input_tokens"
                " + cache_read_input_tokens + output_tokens, cache_miss_reason FROM calls"
                f" WHERE kind = 'claude-code' AND message_id IN ({marks})",
                part,
            )
            out.update({r[1]: LoggedCall(r[0], r[2], r[3]) for r in rows})
        return out

    def insert(self, records: Sequence[CallRecord]) -> list[int | None]:
        """Insert imported calls (inside a transaction); a response already logged (by
        another process meanwhile) is skipped: its id is None."""
        ids: list[int | None] = []
        for record in records:
            cursor = self.conn.execute(INSERT_IMPORTED, call_row(None, record))
            ids.append(cursor.lastrowid if cursor.rowcount == 1 else None)
            record.id = ids[-1]
        return ids

    def complete(self, record: CallRecord) -> None:
        """Rewrite a logged call with a later line's fuller usage (inside a transaction)."""
        self.conn.execute(UPDATE_CALL, update_row(record))

    def ensure_group(
        self,
        key: str,
        kind: str,
        *,
        name: str,
        client: str | None = None,
        model: str | None = None,
        project: str | None = None,
    ) -> None:
        """Create a group the first time one of its calls is logged (inside a transaction)."""
        self.conn.execute(
            ENSURE_GROUP,
            group_row(
                key,
                kind,
                name=name,
                client=client,
                model=model,
                project=project,
                now=iso_utc(self.clock()),
            ),
        )

    def save_miss(self, call_id: int, found: MissExplanation) -> None:
        """Keep why a call missed (inside a transaction)."""
        self.conn.execute(SAVE_MISS, miss_row(call_id, found))

    # -- sessions ---------------------------------------------------------------------

    def session_history(self, session: str, before_ts: str, limit: int = 50) -> list[sqlite3.Row]:
        """A session's last ok calls before `before_ts`, newest first (to explain a miss)."""
        return self._rows(
            "SELECT id, ts, model, cache_read_input_tokens, cache_creation_5m_tokens,"
            " cache_creation_1h_tokens FROM calls WHERE session = ? AND kind = 'claude-code'"
            " AND status = 'ok' AND ts < ? ORDER BY ts DESC LIMIT ?",
            (session, before_ts, limit),
        )

    def session_totals(self, session: str) -> SessionTotals:
        """The session's imported calls, summed."""
        row = self._rows(
            "SELECT COUNT(*), TOTAL(input_tokens + cache_creation_input_tokens"
            " + cache_read_input_tokens), TOTAL(cache_read_input_tokens), TOTAL(saved_usd),"
            " COUNT(saved_usd) FROM calls WHERE session = ? AND kind = 'claude-code'",
            (session,),
        )[0]
        return SessionTotals(
            calls=int(row[0]),
            prompt_tokens=int(row[1]),
            read_tokens=int(row[2]),
            saved_usd=float(row[3]) if row[4] else None,
        )
