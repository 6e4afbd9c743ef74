"""The call log: insert, history queries with filters, totals, and the ledger's events.

Totals come from `call_rollup` (per day, context, model, kind and status, kept by triggers
in the same transaction as every write to `calls`), so they cost O(groups), not O(calls).
Only what the rollup cannot answer reads raw rows: a prompt search, and the partial first
and last day of a date range that does not start or end at midnight UTC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import (
    IN_FLIGHT,
    STATUSES,
    CallRecord,
    LoggedBreakpoint,
    parse_iso,
)
from promptcache_tui.core.timespan import SpanError, since_bound
from promptcache_tui.store.database import Database
from promptcache_tui.store.errors import StoreError
from promptcache_tui.store.rows import INSERT_CALL as _INSERT_CALL
from promptcache_tui.store.rows import UPDATE_CALL as _UPDATE_CALL
from promptcache_tui.store.rows import call_row as _call_row
from promptcache_tui.store.rows import update_row

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)

# The hashes come as one JSON array, not as one `?` each: a call looks up every prefix of its
# conversation, one more each turn, and each new count of `?` was a new statement kept in
# the connection's statement cache (128 of them, ever larger): the store's SQLite memory grew
# ~30 KB per answer of a long conversation (benchmarks/bench_memory.py).
_CACHE_EVENTS = """SELECT c.ts, c.model, b.prefix_hash, b.ttl FROM call_breakpoints b
    JOIN calls c ON c.id = b.call_id
    WHERE b.cached = 1 AND b.prefix_hash IN (SELECT value FROM json_each(?))"""

if TYPE_CHECKING:
    from typing import Any

    import aiosqlite

    from promptcache_tui.core.ttl import CacheEvent

    # Rows written with a call in the same transaction: `also(conn, call_id)`.
    Also = Callable[[aiosqlite.Connection, int], Awaitable[None]]
    AlsoMany = Callable[[aiosqlite.Connection], Awaitable[None]]  # the same, for a batch

# What stats and breakdowns group by: the key in the rollup, and in raw `calls` rows.
GROUPS = ("context", "model", "day", "kind", "status")
_RAW_KEY = {
    "context": "context",
    "model": "model",
    "day": "substr(ts, 1, 10)",
    "kind": "kind",
    "status": "status",
}
_ROLLUP_KEY = {
    "context": "NULLIF(context, '')",
    "model": "model",
    "day": "day",
    "kind": "kind",
    "status": "status",
}
# A search of 3+ characters finds its candidates in the trigram index (`call_search`); with
# more candidates than this, scanning newest-first finds a page of matches sooner.
_DENSE_SEARCH = 20_000
# Exact totals of a search read every candidate call (about 1.3 us each, 2.3 us with the
# breakdowns, measured at 1M calls): past this many candidates, a sample of about
# _SAMPLE_SIZE of them gives an estimate at once (tens of ms) while the exact count runs.
_ESTIMATE_FROM = 100_000
_SAMPLE_SIZE = 10_000
_STATUSES = (*STATUSES, IN_FLIGHT)
# The first instant of a day, as `ts` spells it; ts text order is time order.
_DAY_START = "T00:00:00.000000+00:00"
# Columns a history row carries (prompt and answer only load in full detail).
_LIST_COLUMNS = """id, ts, context_id, context, conversation_id, kind, model, status, error,
    input_tokens, cache_creation_input_tokens, cache_creation_5m_tokens,
    cache_creation_1h_tokens, cache_read_input_tokens, output_tokens, price_input,
    price_output, mult_write_5m, mult_write_1h, mult_read, ttft_ms, duration_ms,
    cache_miss_reason, cache_missed_input_tokens, request_id, message_id, stop_reason, live,
    client, session, sidechain"""
_INSERT_BREAKPOINT = """INSERT INTO call_breakpoints (call_id, position, ttl, prefix_hash,
    prefix_tokens, cached, context_block) VALUES (?, ?, ?, ?, ?, ?, ?)"""
_UPDATE_BREAKPOINT = "UPDATE call_breakpoints SET cached = ? WHERE call_id = ? AND position = ?"
# The same sums over rollup groups and over raw rows, in the same column order.
_ROLLUP_SUMS = """SUM(calls), SUM(input_tokens), SUM(cache_creation_input_tokens),
    SUM(cache_creation_5m_tokens), SUM(cache_creation_1h_tokens),
    SUM(cache_read_input_tokens), SUM(output_tokens), SUM(priced_calls), SUM(cost_usd),
    SUM(uncached_cost_usd), SUM(saved_usd), SUM(CASE WHEN status = 'error' THEN calls END)"""
_RAW_SUMS = """COUNT(*), SUM(input_tokens), SUM(cache_creation_input_tokens),
    SUM(cache_creation_5m_tokens), SUM(cache_creation_1h_tokens),
    SUM(cache_read_input_tokens), SUM(output_tokens), COUNT(cost_usd), TOTAL(cost_usd),
    TOTAL(uncached_cost_usd), TOTAL(saved_usd), SUM(status = 'error')"""


def parse_since(value: str, now: datetime | None = None) -> str:
    """`7d`, `12h`, `30m`, `2w` or an ISO date/time -> an ISO UTC lower bound (StoreError if
    bad). The reading itself is `core.timespan.since_bound`, shared by every filter."""
    try:
        return since_bound(value, now)
    except SpanError as exc:
        raise StoreError(str(exc)) from exc


def _like_pattern(text: str) -> str:
    # LIKE folds ASCII case, as lower() does without ICU; escape its wildcards.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _match_query(text: str) -> str | None:
    """An FTS5 query every prompt containing `text` matches; None under 3 characters.

    The index has no positions (detail=none), so this ANDs the text's trigrams: a superset
    of the prompts that contain it, which `prompt LIKE` then narrows exactly.
    """
    grams = sorted({text[i : i + 3] for i in range(len(text) - 2)})
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams) if grams else None


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls a history or stats query covers."""

    context: str | None = None
    model: str | None = None
    kind: str | None = None
    status: str | None = None
    since: str | None = None  # ISO UTC, inclusive
    until: str | None = None  # ISO UTC, exclusive
    search: str | None = None  # substring of the prompt (ASCII case-insensitive)
    session: str | None = None  # an observed group's key (a Claude Code session id...)
    client: str | None = None  # the caller's User-Agent product (observed traffic)

    def where(self) -> tuple[str, list[Any]]:
        """SQL WHERE clause over `calls` and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("context", self.context),
            ("model", self.model),
            ("kind", self.kind),
            ("session", self.session),
            ("client", self.client),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.status in _STATUSES:
            # A literal, not a parameter: only then may the planner use the index of errors.
            clauses.append(f"status = '{self.status}'")
        elif self.status:
            clauses.append("status = ?")
            params.append(self.status)
        if self.since:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("ts < ?")
            params.append(self.until)
        if self.search:
            clauses.append("prompt LIKE ? ESCAPE '\\'")
            params.append(_like_pattern(self.search))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def rollup_where(self, first_day: str | None, end_day: str | None) -> tuple[str, list[Any]]:
        """WHERE clause over `call_rollup` for days in [first_day, end_day)."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("context", self.context),
            ("model", self.model),
            ("kind", self.kind),
            ("status", self.status),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if first_day:
            clauses.append("day >= ?")
            params.append(first_day)
        if end_day:
            clauses.append("day < ?")
            params.append(end_day)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def indexed_where(self) -> tuple[str, list[Any]]:
        """Like `where`, with a search's candidates taken from the trigram index."""
        where, params = self.where()
        query = _match_query(self.search) if self.search else None
        if query:
            where += " AND id IN (SELECT rowid FROM call_search WHERE call_search MATCH ?)"
            params.append(query)
        return where, params

    def sampled_where(self, every: int) -> tuple[str, str, list[Any]]:
        """Like `indexed_where` for a search of 3+ characters, keeping only the candidates
        whose id is a multiple of `every`: a WITH clause naming them `sample`, the WHERE
        clause, and the parameters of both (`(SELECT COUNT(*) FROM sample)` counts them)."""
        query = _match_query(self.search or "")
        if query is None:
            raise ValueError("a sample needs a search of 3 or more characters")
        where, params = self.where()
        head = (
            "WITH sample(id) AS MATERIALIZED (SELECT rowid FROM call_search"
            " WHERE call_search MATCH ? AND rowid % ? = 0) "
        )
        return head, where + " AND id IN sample", [query, every, *params]

    @property
    def is_empty(self) -> bool:
        """True when the filter lets every call through."""
        return not self.where()[0]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to answer totals for a filter: whole days from the rollup, the rest from raw rows."""

    rollup: tuple[str | None, str | None] | None  # [first_day, end_day) or None: no rollup
    raw: tuple[CallFilter, ...]


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _plan(filters: CallFilter) -> _Plan:
    """Split a filter into rollup days and raw ranges that together cover it exactly once."""
    if filters.search or filters.session or filters.client:
        # The rollup knows nothing about prompts, sessions or clients.
        return _Plan(None, (filters,))
    since, until = filters.since, filters.until
    if since and until and since >= until:
        return _Plan(None, ())
    first_day = end_day = None
    raw: list[CallFilter] = []
    if since:
        day = since[:10]
        if since <= day + _DAY_START:
            first_day = day  # starts at midnight: the whole day counts
        else:
            first_day = _next_day(day)
            edge = first_day + _DAY_START
            raw.append(replace(filters, until=min(until, edge) if until else edge))
    if until:
        day = until[:10]
        end_day = day
        start = day + _DAY_START
        if until > start and not (since and since >= start):
            # The partial last day; when since falls on that same day, the range above has it.
            raw.append(replace(filters, since=max(since, start) if since else start))
    if first_day and end_day and first_day >= end_day:
        return _Plan(None, tuple(raw))
    return _Plan((first_day, end_day), tuple(raw))


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over a set of calls. Costs are None when no call in the set had known prices."""

    calls: int = 0
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    priced_calls: int = 0
    cost_usd: float | None = None
    uncached_cost_usd: float | None = None
    saved_usd: float | None = None
    errors: int = 0

    @classmethod
    def from_row(cls, values: Sequence[Any]) -> Totals:
        """From the 12 sums of `_ROLLUP_SUMS` / `_RAW_SUMS` (NULL sums of no rows are 0)."""
        n = [int(v or 0) for v in values[:8]]
        cost, uncached, saved = (float(v or 0.0) if n[7] else None for v in values[8:11])
        return cls(
            calls=n[0],
            input_tokens=n[1],
            cache_creation_input_tokens=n[2],
            cache_creation_5m_tokens=n[3],
            cache_creation_1h_tokens=n[4],
            cache_read_input_tokens=n[5],
            output_tokens=n[6],
            priced_calls=n[7],
            cost_usd=cost,
            uncached_cost_usd=uncached,
            saved_usd=saved,
            errors=int(values[11] or 0),
        )

    def __add__(self, other: Totals) -> Totals:
        def money(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else a + b

        return Totals(
            calls=self.calls + other.calls,
            input_tokens=self.input_tokens + other.input_tokens,
            cache_creation_input_tokens=(
                self.cache_creation_input_tokens + other.cache_creation_input_tokens
            ),
            cache_creation_5m_tokens=self.cache_creation_5m_tokens + other.cache_creation_5m_tokens,
            cache_creation_1h_tokens=self.cache_creation_1h_tokens + other.cache_creation_1h_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            priced_calls=self.priced_calls + other.priced_calls,
            cost_usd=money(self.cost_usd, other.cost_usd),
            uncached_cost_usd=money(self.uncached_cost_usd, other.uncached_cost_usd),
            saved_usd=money(self.saved_usd, other.saved_usd),
            errors=self.errors + other.errors,
        )

    @property
    def prompt_tokens(self) -> int:
        """input + cache writes + cache reads."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def hit_rate(self) -> float | None:
        """read / (input + creation + read); None when there are no prompt tokens."""
        total = self.prompt_tokens
        return self.cache_read_input_tokens / total if total else None

    @property
    def unpriced_calls(self) -> int:
        """Calls whose model had no known price (left out of the costs)."""
        return self.calls - self.priced_calls

    def public(self) -> dict[str, Any]:
        """The figures `stats --format json` promises for a group (without its key)."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": _round(self.cost_usd),
            "uncached_cost_usd": _round(self.uncached_cost_usd),
            "saved_usd": _round(self.saved_usd),
            "hit_rate": self.hit_rate,
        }


@dataclass(frozen=True, slots=True)
class Facets:
    """The values a filter can take, as found in the log."""

    contexts: tuple[str, ...]
    models: tuple[str, ...]
    first_day: str | None
    last_day: str | None


@dataclass(frozen=True, slots=True)
class Summary:
    """What the history screen shows for a filter: totals, per context, per model, per day."""

    totals: Totals
    by_context: list[tuple[str | None, Totals]]
    by_model: list[tuple[str, Totals]]
    by_day: list[tuple[str, Totals]]  # oldest first; days without calls are absent
    grouped: bool = True  # False: only the totals were asked for (the lists are empty)
    # An estimate (`CallLog.estimate`): how many calls its sample read; None: exact figures.
    sample: int | None = None

    @property
    def exact(self) -> bool:
        """True for exact figures, False for an estimate from a sample."""
        return self.sample is None


class _Sums:
    """Running sums of the 12 `_ROLLUP_SUMS` columns per key (plain lists: this is hot).

    `scale` multiplies every sum (a sample standing for the calls it was drawn from); the
    counts among them are then rounded to whole calls and tokens.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.groups: dict[Any, list[float]] = {}
        self.scale = scale

    def add(self, key: Any, values: Sequence[Any]) -> None:
        target = self.groups.get(key)
        if target is None:
            self.groups[key] = [v or 0 for v in values]
            return
        for i, value in enumerate(values):
            if value:
                target[i] += value

    def totals(self) -> list[tuple[Any, Totals]]:
        return sorted(
            ((k, Totals.from_row(self._scaled(v))) for k, v in self.groups.items()),
            key=lambda item: (item[0] is not None, item[0] or ""),
        )

    def _scaled(self, values: list[float]) -> list[float]:
        if self.scale == 1.0:
            return values
        # Counts (calls, tokens, priced calls: the first 8; errors: the last) stay whole.
        return [
            round(v * self.scale) if i < 8 or i == 11 else v * self.scale
            for i, v in enumerate(values)
        ]


def _record(row: aiosqlite.Row, breakpoints: Sequence[LoggedBreakpoint] = ()) -> CallRecord:
    keys = row.keys()
    return CallRecord(
        id=row["id"],
        ts=row["ts"],
        kind=row["kind"],
        model=row["model"],
        status=row["status"],
        context=row["context"],
        context_id=row["context_id"],
        conversation_id=row["conversation_id"],
        error=row["error"],
        usage=Usage(
            input_tokens=row["input_tokens"],
            cache_creation_input_tokens=row["cache_creation_input_tokens"],
            cache_creation_5m_tokens=row["cache_creation_5m_tokens"],
            cache_creation_1h_tokens=row["cache_creation_1h_tokens"],
            cache_read_input_tokens=row["cache_read_input_tokens"],
            output_tokens=row["output_tokens"],
        ),
        prices=Prices(
            input=row["price_input"],
            output=row["price_output"],
            write_5m=row["mult_write_5m"],
            write_1h=row["mult_write_1h"],
            read=row["mult_read"],
        ),
        ttft_ms=row["ttft_ms"],
        duration_ms=row["duration_ms"],
        cache_miss_reason=row["cache_miss_reason"],
        cache_missed_input_tokens=row["cache_missed_input_tokens"],
        request_id=row["request_id"],
        message_id=row["message_id"],
        stop_reason=row["stop_reason"],
        live=bool(row["live"]),
        prompt=row["prompt"] if "prompt" in keys else None,
        answer=row["answer"] if "answer" in keys else None,
        breakpoints=tuple(breakpoints),
        client=row["client"],
        session=row["session"],
        sidechain=bool(row["sidechain"]) if "sidechain" in keys else False,
    )


def _breakpoint_rows(call_id: int, rec: CallRecord) -> list[tuple[Any, ...]]:
    return [
        (call_id, b.position, b.ttl, b.prefix_hash, b.prefix_tokens, int(b.cached), b.context_block)
        for b in rec.breakpoints
    ]


class CallLog:
    """Every call, ok or not, as rows of `calls` and `call_breakpoints`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def log(self, rec: CallRecord, *, also: Also | None = None) -> int:
        """Insert a finished call and its breakpoints in one transaction; return its id.

        For calls known only after the fact (imports). A call this process sends goes
        through `begin` / `update` / `settle` instead, so that it is never lost.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(_INSERT_CALL, _call_row(None, rec))
            call_id = int(cursor.lastrowid or 0)
            await conn.executemany(_INSERT_BREAKPOINT, _breakpoint_rows(call_id, rec))
            if also is not None:
                await also(conn, call_id)
        rec.id = call_id
        return call_id

    # -- the lifecycle of a call this process sends -------------------------------------
    #
    #   rec = CallRecord(ts=..., kind="proxy", model=..., prices=..., ...)
    #   await calls.begin(rec)          # before the request leaves: status in_flight
    #   ...message_start arrives: rec.usage = input-side usage
    #   await calls.update(rec)         # the row now has that usage and its cost
    #   ...the answer ends, fails, or the process is told to stop:
    #   rec.status = "ok" | "error" | "interrupted"; rec.usage = the usage so far
    #   await calls.settle(rec)
    #
    # A process that dies in between leaves its row in flight, owned by its lease; the next
    # process to open the store settles it as interrupted (Database.settle_orphans), and
    # closing the store settles this process's own leftovers. Each call is one row in every
    # state, so totals (the rollup) count it exactly once.

    async def begin(self, rec: CallRecord, *, also: Also | None = None) -> int:
        """Log a call about to be sent, before its request leaves; return its id.

        The row is written with status `in_flight` (whatever `rec.status` said) and
        owned by this process's lease; `rec.id` is set. Raises StoreError if it cannot be
        written: then do not send the call (it could not be accounted for). `also(conn,
        call_id)` writes rows that belong with the call in the same transaction (the
        proxy stores the call's prompt so).
        """
        rec.status = IN_FLIGHT
        owner = self.db.lease_token()
        async with self.db.transaction() as conn:
            cursor = await conn.execute(_INSERT_CALL, _call_row(None, rec, owner))
            call_id = int(cursor.lastrowid or 0)
            await conn.executemany(_INSERT_BREAKPOINT, _breakpoint_rows(call_id, rec))
            if also is not None:
                await also(conn, call_id)
        rec.id = call_id
        return call_id

    async def update(self, rec: CallRecord) -> None:
        """Store what an in-flight call has reported so far (usage, cost, ids, cached flags).

        Call it when `message_start` arrives: that is where the API reports cache writes
        and reads, which it bills even if the answer never finishes.
        """
        await self._write(rec, self.db.lease_token() if rec.status == IN_FLIGHT else None)

    async def settle(self, rec: CallRecord, *, also: Also | None = None) -> None:
        """End a call begun with `begin`: `rec.status` is ok, error or interrupted, and
        `rec.usage` the usage known so far (its cost follows from the record's prices).
        `also` as for `begin` (the proxy stores why the call missed so)."""
        if rec.status not in STATUSES:
            raise ValueError(f"settle needs a final status, not {rec.status!r}")
        await self._write(rec, None, also)

    async def _write(self, rec: CallRecord, owner: str | None, also: Also | None = None) -> None:
        if rec.id is None:
            raise ValueError("this call was never begun (no id)")
        async with self.db.transaction() as conn:
            await conn.execute(_UPDATE_CALL, update_row(rec, owner))
            await conn.executemany(
                _UPDATE_BREAKPOINT, [(int(b.cached), rec.id, b.position) for b in rec.breakpoints]
            )
            if also is not None:
                await also(conn, rec.id)
            cursor = await conn.execute("SELECT context FROM calls WHERE id = ?", (rec.id,))
            row = await cursor.fetchone()
        if row is not None:
            rec.context = row[0]  # renamed while in flight: the record says so too

    async def log_many(
        self, records: Sequence[CallRecord], *, also: AlsoMany | None = None
    ) -> list[int]:
        """Insert many calls in one transaction (imports, benchmarks); return their ids.

        `also(conn)` runs in the same transaction, the records' ids already set.
        """
        return await self._insert_many(records, None, also)

    async def begin_many(
        self, records: Sequence[CallRecord], *, also: AlsoMany | None = None
    ) -> list[int]:
        """`begin` for several calls in one transaction (the proxy, when calls come in
        faster than one transaction each): rows in flight, owned by this process."""
        for rec in records:
            rec.status = IN_FLIGHT
        return await self._insert_many(records, self.db.lease_token(), also)

    async def _insert_many(
        self, records: Sequence[CallRecord], owner: str | None, also: AlsoMany | None
    ) -> list[int]:
        if not records:
            return []
        try:
            async with self.db.transaction() as conn:
                # Ids are handed out here, under the write lock, so breakpoints can name
                # their call without a round trip per row.
                first = int(await self.db.scalar("SELECT coalesce(MAX(id), 0) FROM calls")) + 1
                ids = list(range(first, first + len(records)))
                await conn.executemany(
                    _INSERT_CALL,
                    [_call_row(i, r, owner) for i, r in zip(ids, records, strict=True)],
                )
                await conn.executemany(
                    _INSERT_BREAKPOINT,
                    [
                        row
                        for i, r in zip(ids, records, strict=True)
                        for row in _breakpoint_rows(i, r)
                    ],
                )
                for call_id, rec in zip(ids, records, strict=True):
                    rec.id = call_id
                if also is not None:
                    await also(conn)
        except BaseException:
            for rec in records:
                rec.id = None  # rolled back: none of them has a row
            raise
        return ids

    async def settle_many(
        self, records: Sequence[CallRecord], *, also: AlsoMany | None = None
    ) -> None:
        """`settle` for several calls in one transaction. For calls without a context (the
        proxy's): a record's context name is not read back."""
        for rec in records:
            if rec.status not in STATUSES:
                raise ValueError(f"settle needs a final status, not {rec.status!r}")
            if rec.id is None:
                raise ValueError("this call was never begun (no id)")
        if not records:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                _UPDATE_CALL,
                [update_row(rec) for rec in records],
            )
            await conn.executemany(
                _UPDATE_BREAKPOINT,
                [(int(b.cached), rec.id, b.position) for rec in records for b in rec.breakpoints],
            )
            if also is not None:
                await also(conn)

    async def get(self, call_id: int) -> CallRecord | None:
        """One call in full: prompt, answer, prices and breakpoints."""
        row = await self.db.fetchone("SELECT * FROM calls WHERE id = ?", (call_id,))
        if row is None:
            return None
        marks = await self.db.fetchall(
            "SELECT position, ttl, prefix_hash, prefix_tokens, cached, context_block"
            " FROM call_breakpoints WHERE call_id = ? ORDER BY position",
            (call_id,),
        )
        return _record(
            row,
            [
                LoggedBreakpoint(
                    position=m["position"],
                    ttl=m["ttl"],
                    prefix_hash=m["prefix_hash"],
                    prefix_tokens=m["prefix_tokens"],
                    cached=bool(m["cached"]),
                    context_block=m["context_block"],
                )
                for m in marks
            ],
        )

    async def history(
        self,
        filters: CallFilter = CallFilter(),
        *,
        limit: int | None = 50,
        offset: int = 0,
        before: tuple[str, int] | None = None,
    ) -> list[CallRecord]:
        """Calls matching `filters`, newest first, one page at a time.

        `before=(ts, id)` of the last row of the previous page reads the next page from the
        index (keyset paging), as fast at row 900,000 as at row 0; `offset` walks every
        skipped row.
        """
        where, params = filters.where()
        source = "calls"
        if filters.search and await self._sparse_search(filters.search):
            where, params = filters.indexed_where()
        elif not filters.search:
            index = await self._narrowest_index(filters)
            if index:
                source = f"calls INDEXED BY {index}"
        if before is not None:
            where += " AND " if where else " WHERE "
            where += "(ts, id) < (?, ?)"
            params += [before[0], before[1]]
        sql = f"SELECT {_LIST_COLUMNS} FROM {source}{where} ORDER BY ts DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [_record(row) for row in await self.db.fetchall(sql, params)]

    async def iter_history(
        self, filters: CallFilter = CallFilter(), *, chunk: int = 2000
    ) -> AsyncIterator[list[CallRecord]]:
        """Every matching call, newest first, in chunks (exports never hold the whole log)."""
        before: tuple[str, int] | None = None
        while True:
            page = await self.history(filters, limit=chunk, before=before)
            if page:
                yield page
            if len(page) < chunk:
                return
            last = page[-1]
            before = (last.ts, int(last.id or 0))

    async def breakdown(
        self, by: str, filters: CallFilter = CallFilter()
    ) -> list[tuple[str | None, Totals]]:
        """Totals per context, model, day, kind or status, ordered by key (None first)."""
        if by not in GROUPS:
            raise StoreError(f"invalid --by {by!r}: use {', '.join(GROUPS)}")
        plan = _plan(filters)
        groups: dict[str | None, Totals] = {}
        if plan.rollup is not None:
            where, params = filters.rollup_where(*plan.rollup)
            key = _ROLLUP_KEY[by]
            for row in await self.db.fetchall(
                f"SELECT {key}, {_ROLLUP_SUMS} FROM call_rollup{where} GROUP BY 1", params
            ):
                groups[row[0]] = groups.get(row[0], Totals()) + Totals.from_row(row[1:])
        for part in plan.raw:
            where, params = part.indexed_where()
            for row in await self.db.fetchall(
                f"SELECT {_RAW_KEY[by]}, {_RAW_SUMS} FROM calls{where} GROUP BY 1", params
            ):
                groups[row[0]] = groups.get(row[0], Totals()) + Totals.from_row(row[1:])
        return sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))

    async def totals(self, filters: CallFilter = CallFilter()) -> Totals:
        """Sums over every call matching `filters`."""
        plan = _plan(filters)
        total = Totals()
        if plan.rollup is not None:
            where, params = filters.rollup_where(*plan.rollup)
            row = await self.db.fetchone(f"SELECT {_ROLLUP_SUMS} FROM call_rollup{where}", params)
            if row is not None:
                total += Totals.from_row(row)
        for part in plan.raw:
            where, params = part.indexed_where()
            row = await self.db.fetchone(f"SELECT {_RAW_SUMS} FROM calls{where}", params)
            if row is not None:
                total += Totals.from_row(row)
        return total

    async def summary(self, filters: CallFilter = CallFilter(), *, grouped: bool = True) -> Summary:
        """Totals and (if `grouped`) the per context, model and day breakdowns.

        Without a search, each is a small grouped query over the rollup (the sums run in
        SQLite, not in Python: the UI thread stays free). A search reads raw rows once,
        grouped by day, context and model, and splits that in Python; without `grouped` it
        only sums them, which is cheaper (no sort).
        """
        if not grouped:
            return Summary(await self.totals(filters), [], [], [], grouped=False)
        if not filters.search:
            return Summary(
                totals=await self.totals(filters),
                by_context=await self.breakdown("context", filters),
                by_model=[(k or "", t) for k, t in await self.breakdown("model", filters)],
                by_day=[(k or "", t) for k, t in await self.breakdown("day", filters)],
            )
        return await self._search_summary(filters)

    async def estimate(
        self,
        filters: CallFilter,
        *,
        grouped: bool = True,
        above: int | None = None,
        sample: int | None = None,
    ) -> Summary | None:
        """An estimate of `summary(filters)` from a sample, for a search with more than
        `above` (default `_ESTIMATE_FROM`) candidate calls in the trigram index; None when
        there is nothing to estimate (no search of 3+ characters, or few enough candidates
        to count at once).

        The sample is the candidates whose id is a multiple of N (N = candidates // sample,
        default `_SAMPLE_SIZE`); its figures are scaled by candidates / sampled candidates,
        and the summary's `sample` says how many matching calls it read (no call matching
        in the sample: an estimate of none). With N = 1 there is nothing to scale: the exact
        summary (`sample` None).
        """
        query = _match_query(filters.search) if filters.search else None
        if query is None:
            return None
        count = "SELECT COUNT(*) FROM call_search WHERE call_search MATCH ?"
        candidates = int(await self.db.scalar(count, (query,)) or 0)
        if candidates <= (_ESTIMATE_FROM if above is None else above):
            return None
        every = max(1, candidates // max(1, _SAMPLE_SIZE if sample is None else sample))
        if every == 1:
            return await self._search_summary(filters, grouped=grouped)
        return await self._search_summary(
            filters, grouped=grouped, every=every, candidates=candidates
        )

    async def _search_summary(
        self,
        filters: CallFilter,
        *,
        grouped: bool = True,
        every: int = 1,
        candidates: int = 0,
    ) -> Summary:
        """`summary` of a search, which the rollup cannot answer: matching rows read once
        (grouped by day, context and model, then split in Python, if `grouped`).

        `every` > 1 reads only a sample (`CallFilter.sampled_where`) of the `candidates`
        and multiplies its sums by candidates / sampled candidates (counted in the same
        query): an estimate, marked with the number of matching calls it read.
        """
        if every > 1:
            head, where, params = filters.sampled_where(every)
            drawn = "(SELECT COUNT(*) FROM sample)"
        else:
            (where, params), head, drawn = filters.indexed_where(), "", "NULL"
        keys = "substr(ts, 1, 10), context, model" if grouped else "NULL, NULL, NULL"
        sql = f"{head}SELECT {drawn}, {keys}, {_RAW_SUMS} FROM calls{where}"
        if grouped:
            sql += " GROUP BY 2, 3, 4"
        rows = await self.db.fetchall(sql, params)
        scale = candidates / rows[0][0] if every > 1 and rows and rows[0][0] else 1.0
        total, days, contexts, models = _Sums(scale), _Sums(scale), _Sums(scale), _Sums(scale)
        for row in rows:
            values = tuple(row)[4:]
            total.add(None, values)
            if grouped:
                days.add(row[1], values)
                contexts.add(row[2], values)
                models.add(row[3], values)
        everything = total.totals()
        read = int(total.groups[None][0]) if None in total.groups else 0
        return Summary(
            totals=everything[0][1] if everything else Totals(),
            by_context=contexts.totals(),
            by_model=models.totals(),
            by_day=days.totals(),
            grouped=grouped,
            sample=read if every > 1 else None,
        )

    async def _narrowest_index(self, filters: CallFilter) -> str | None:
        """With two or more indexed filters, the index with the fewest rows to walk.

        The planner cannot tell a context of 300,000 calls from one of 300; the rollup can,
        in one pass over its groups. A page walks its index newest first, so the smallest
        index finds a sparse combination soonest.
        """
        candidates = [
            (index, test, value)
            for index, test, value in (
                ("calls_by_context_ts", "context = ?", filters.context),
                ("calls_by_model_ts", "model = ?", filters.model),
                ("calls_errors_by_ts", "status = 'error'", filters.status == "error" or None),
            )
            if value
        ]
        if len(candidates) < 2:
            return None  # the planner's choice is the only sensible one
        sums = ", ".join(
            f"SUM(CASE WHEN {test} THEN calls ELSE 0 END)" for _, test, _ in candidates
        )
        where, params = CallFilter(since=filters.since, until=filters.until).rollup_where(
            filters.since[:10] if filters.since else None,
            _next_day(filters.until[:10]) if filters.until else None,
        )
        params = [v for _, test, v in candidates if "?" in test] + params
        row = await self.db.fetchone(f"SELECT {sums} FROM call_rollup{where}", params)
        counts = [int(v or 0) for v in row] if row else [0] * len(candidates)
        return min(zip(counts, (c[0] for c in candidates), strict=True))[1]

    async def _sparse_search(self, text: str) -> bool:
        """Whether few enough prompts may contain `text` to fetch them from the index."""
        query = _match_query(text)
        if query is None:
            return False
        found = await self.db.scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM call_search WHERE call_search MATCH ? LIMIT ?)",
            (query, _DENSE_SEARCH + 1),
        )
        return int(found or 0) <= _DENSE_SEARCH

    async def stats(
        self, by: str = "context", filters: CallFilter = CallFilter()
    ) -> list[dict[str, Any]]:
        """Totals per context, model or day; hit_rate None where there are no tokens."""
        if by not in ("context", "model", "day"):
            raise StoreError(f"invalid --by {by!r}: use context, model or day")
        groups = await self.breakdown(by, filters)
        if by == "day":
            groups.reverse()  # newest day first
        return [{by: key, **totals.public()} for key, totals in groups]

    async def count(self, filters: CallFilter = CallFilter()) -> int:
        """How many calls match."""
        return (await self.totals(filters)).calls

    async def facets(self) -> Facets:
        """Contexts and models seen in the log, and its first and last day."""
        contexts = await self.db.fetchall(
            "SELECT DISTINCT context FROM call_rollup WHERE context != '' ORDER BY 1"
        )
        models = await self.db.fetchall("SELECT DISTINCT model FROM call_rollup ORDER BY 1")
        span = await self.db.fetchone("SELECT MIN(day), MAX(day) FROM call_rollup")
        return Facets(
            contexts=tuple(r[0] for r in contexts),
            models=tuple(r[0] for r in models),
            first_day=span[0] if span else None,
            last_day=span[1] if span else None,
        )

    async def cache_events(self, hashes: Iterable[str]) -> list[CacheEvent]:
        """Events of successful calls that wrote or read any of these prefixes."""
        import json  # (the commands that read no ledger need not load it)

        from promptcache_tui.core.ttl import CacheEvent  # (history and stats need no ledger)

        wanted = sorted(set(hashes))
        if not wanted:
            return []
        rows = await self.db.fetchall(_CACHE_EVENTS, (json.dumps(wanted),))
        return [
            CacheEvent(
                ts=parse_iso(r["ts"]), model=r["model"], prefix_hash=r["prefix_hash"], ttl=r["ttl"]
            )
            for r in rows
        ]

    async def events_of_calls(self, call_ids: Iterable[int]) -> list[CacheEvent]:
        """The cache events of these calls (those logged by another process, for a live
        ledger: the watch's records carry no breakpoints)."""
        from promptcache_tui.core.ttl import CacheEvent  # (history and stats need no ledger)

        wanted = sorted(set(call_ids))
        events: list[CacheEvent] = []
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = await self.db.fetchall(
                f"""SELECT c.ts, c.model, b.prefix_hash, b.ttl FROM call_breakpoints b
                    JOIN calls c ON c.id = b.call_id
                    WHERE b.cached = 1 AND b.call_id IN ({marks})""",
                part,
            )
            events += [
                CacheEvent(
                    ts=parse_iso(r["ts"]),
                    model=r["model"],
                    prefix_hash=r["prefix_hash"],
                    ttl=r["ttl"],
                )
                for r in rows
            ]
        return events

    async def last_message_id(
        self,
        *,
        conversation_id: int | None = None,
        context: str | None = None,
        kind: str | None = None,
    ) -> str | None:
        """The message id of the latest call that has one: in this conversation, or else
        among this context's calls of this kind."""
        if conversation_id is not None:
            found = await self.db.scalar(
                "SELECT message_id FROM calls WHERE conversation_id = ? AND message_id IS NOT"
                " NULL ORDER BY id DESC LIMIT 1",
                (conversation_id,),
            )
        else:
            found = await self.db.scalar(
                "SELECT message_id FROM calls WHERE context = ? AND kind = ?"
                " AND message_id IS NOT NULL ORDER BY ts DESC, id DESC LIMIT 1",
                (context, kind),
            )
        return str(found) if found else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 10)
