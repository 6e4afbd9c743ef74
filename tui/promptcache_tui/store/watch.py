"""Follow the call log while other processes write to it (the proxy, the CLI, an import).

`CallWatch.poll()` is meant to run once a second in the open TUI. It first asks SQLite
whether any other connection committed since the last poll (`PRAGMA data_version`, which
reads no table): when nothing changed it returns at once, so an idle dashboard costs next
to nothing. When something did, it returns the calls added since the last one it saw
(`id > N`) and the ones it had seen in flight that have settled since.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from promptcache_tui.core.records import IN_FLIGHT, CallRecord
from promptcache_tui.store.calls import _LIST_COLUMNS, CallLog, _record
from promptcache_tui.store.database import Database

_BATCH = 500  # calls returned per poll at most; the next poll returns the rest


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in the log since the previous poll."""

    added: list[CallRecord] = field(default_factory=list)  # new calls, oldest first
    settled: list[CallRecord] = field(default_factory=list)  # were in flight, now ended

    def __bool__(self) -> bool:
        return bool(self.added or self.settled)


class CallWatch:
    """Calls logged by any process, since a given call id."""

    def __init__(self, db: Database, calls: CallLog, after_id: int = 0) -> None:
        self.db = db
        self.calls = calls
        self.last_id = after_id
        self._version: int | None = None
        self._in_flight: set[int] = set()
        self._more = False  # the last poll hit the batch size: there is more to read

    @classmethod
    async def from_now(cls, db: Database, calls: CallLog) -> CallWatch:
        """A watch that reports only what is logged from now on."""
        last = await db.scalar("SELECT coalesce(MAX(id), 0) FROM calls")
        watch = cls(db, calls, int(last or 0))
        watch._version = await watch._data_version()
        return watch

    async def _data_version(self) -> int:
        return int(await self.db.scalar("PRAGMA data_version") or 0)

    async def poll(self) -> Changes:
        """New and settled calls since the last poll (empty at once when none)."""
        version = await self._data_version()
        if version == self._version and not self._more:
            return Changes()
        self._version = version
        rows = await self.db.fetchall(
            f"SELECT {_LIST_COLUMNS} FROM calls WHERE id > ? ORDER BY id LIMIT ?",
            (self.last_id, _BATCH),
        )
        added = [_record(r) for r in rows]
        self._more = len(rows) == _BATCH
        if added:
            self.last_id = int(added[-1].id or self.last_id)
        settled: list[CallRecord] = []
        watched = sorted(self._in_flight)
        if watched:
            marks = ",".join("?" * len(watched))
            done = await self.db.fetchall(
                f"SELECT {_LIST_COLUMNS} FROM calls WHERE id IN ({marks}) AND status != ?",
                (*watched, IN_FLIGHT),
            )
            settled = [_record(r) for r in done]
            self._in_flight -= {int(r.id or 0) for r in settled}
        self._in_flight |= {int(r.id or 0) for r in added if r.status == IN_FLIGHT}
        return Changes(added=added, settled=settled)
