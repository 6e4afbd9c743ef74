"""The call log: insert, history queries with filters, totals, and the ledger's events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, LoggedBreakpoint, iso_utc, parse_iso
from promptcache_tui.core.ttl import CacheEvent
from promptcache_tui.store.database import Database, StoreError

GROUPS = {"context": "context", "model": "model", "day": "substr(ts, 1, 10)"}
_SINCE_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Columns a history row carries (prompt and answer only load in full detail).
_LIST_COLUMNS = """id, ts, context_id, context, conversation_id, kind, model, status, error,
    input_tokens, cache_creation_input_tokens, cache_creation_5m_tokens,
    cache_creation_1h_tokens, cache_read_input_tokens, output_tokens, price_input,
    price_output, mult_write_5m, mult_write_1h, mult_read, ttft_ms, duration_ms,
    cache_miss_reason, cache_missed_input_tokens, request_id, message_id, stop_reason, live"""


def parse_since(value: str, now: datetime | None = None) -> str:
    """`7d`, `12h`, `30m`, `2w` or an ISO date/time -> an ISO UTC lower bound."""
    now = now or datetime.now(UTC)
    text = value.strip()
    match = _SINCE_RE.match(text)
    if match:
        delta = timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
        return (now - delta).isoformat(timespec="microseconds")
    try:
        return iso_utc(parse_iso(text))
    except ValueError as exc:
        raise StoreError(
            f"invalid --since {value!r}: use a span like 7d, 12h, 30m or an ISO date (2026-11-01)"
        ) from exc


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls a history or stats query covers."""

    context: str | None = None
    model: str | None = None
    kind: str | None = None
    status: str | None = None
    since: str | None = None  # ISO UTC, inclusive
    until: str | None = None  # ISO UTC, exclusive
    search: str | None = None  # substring of the prompt

    def where(self) -> tuple[str, list[Any]]:
        """SQL WHERE clause and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("context", self.context), ("model", self.model),
                              ("kind", self.kind), ("status", self.status)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("ts < ?")
            params.append(self.until)
        if self.search:
            clauses.append("instr(lower(prompt), lower(?)) > 0")
            params.append(self.search)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _record(row: aiosqlite.Row, breakpoints: Sequence[LoggedBreakpoint] = ()) -> CallRecord:
    keys = row.keys()
    return CallRecord(
        id=row["id"], ts=row["ts"], kind=row["kind"], model=row["model"], status=row["status"],
        context=row["context"], context_id=row["context_id"],
        conversation_id=row["conversation_id"], error=row["error"],
        usage=Usage(
            input_tokens=row["input_tokens"],
            cache_creation_input_tokens=row["cache_creation_input_tokens"],
            cache_creation_5m_tokens=row["cache_creation_5m_tokens"],
            cache_creation_1h_tokens=row["cache_creation_1h_tokens"],
            cache_read_input_tokens=row["cache_read_input_tokens"],
            output_tokens=row["output_tokens"],
        ),
        prices=Prices(input=row["price_input"], output=row["price_output"],
                      write_5m=row["mult_write_5m"], write_1h=row["mult_write_1h"],
                      read=row["mult_read"]),
        ttft_ms=row["ttft_ms"], duration_ms=row["duration_ms"],
        cache_miss_reason=row["cache_miss_reason"],
        cache_missed_input_tokens=row["cache_missed_input_tokens"],
        request_id=row["request_id"], message_id=row["message_id"],
        stop_reason=row["stop_reason"], live=bool(row["live"]),
        prompt=row["prompt"] if "prompt" in keys else None,
        answer=row["answer"] if "answer" in keys else None,
        breakpoints=tuple(breakpoints),
    )


class CallLog:
    """Every call, ok or not, as rows of `calls` and `call_breakpoints`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def log(self, rec: CallRecord) -> int:
        """Insert a call and its breakpoints in one transaction; return its id."""
        cost = rec.cost
        u = rec.usage
        p = rec.prices
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """INSERT INTO calls (ts, context_id, context, conversation_id, kind, model,
                    status, error, input_tokens, cache_creation_input_tokens,
                    cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_input_tokens,
                    output_tokens, price_input, price_output, mult_write_5m, mult_write_1h,
                    mult_read, cost_usd, uncached_cost_usd, saved_usd, ttft_ms, duration_ms,
                    cache_miss_reason, cache_missed_input_tokens, request_id, message_id,
                    stop_reason, live, prompt, answer)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                           ?, ?, ?, ?, ?, ?, ?, ?)""",
                (rec.ts, rec.context_id, rec.context, rec.conversation_id, rec.kind, rec.model,
                 rec.status, rec.error, u.input_tokens, u.cache_creation_input_tokens,
                 u.cache_creation_5m_tokens, u.cache_creation_1h_tokens,
                 u.cache_read_input_tokens, u.output_tokens, p.input, p.output, p.write_5m,
                 p.write_1h, p.read, cost.cost_usd, cost.uncached_cost_usd, cost.saved_usd,
                 rec.ttft_ms, rec.duration_ms, rec.cache_miss_reason,
                 rec.cache_missed_input_tokens, rec.request_id, rec.message_id,
                 rec.stop_reason, int(rec.live), rec.prompt, rec.answer),
            )
            call_id = int(cursor.lastrowid or 0)
            await conn.executemany(
                "INSERT INTO call_breakpoints (call_id, position, ttl, prefix_hash,"
                " prefix_tokens, cached, context_block) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(call_id, b.position, b.ttl, b.prefix_hash, b.prefix_tokens, int(b.cached),
                  b.context_block) for b in rec.breakpoints],
            )
        rec.id = call_id
        return call_id

    async def get(self, call_id: int) -> CallRecord | None:
        """One call in full: prompt, answer, prices and breakpoints."""
        row = await self.db.fetchone("SELECT * FROM calls WHERE id = ?", (call_id,))
        if row is None:
            return None
        marks = await self.db.fetchall(
            "SELECT position, ttl, prefix_hash, prefix_tokens, cached, context_block"
            " FROM call_breakpoints WHERE call_id = ? ORDER BY position", (call_id,))
        return _record(row, [
            LoggedBreakpoint(position=m["position"], ttl=m["ttl"], prefix_hash=m["prefix_hash"],
                             prefix_tokens=m["prefix_tokens"], cached=bool(m["cached"]),
                             context_block=m["context_block"])
            for m in marks
        ])

    async def history(
        self, filters: CallFilter = CallFilter(), *, limit: int | None = 50, offset: int = 0
    ) -> list[CallRecord]:
        """Calls matching `filters`, newest first, one page at a time."""
        where, params = filters.where()
        sql = f"SELECT {_LIST_COLUMNS} FROM calls{where} ORDER BY ts DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [_record(row) for row in await self.db.fetchall(sql, params)]

    async def stats(self, by: str = "context", filters: CallFilter = CallFilter()
                    ) -> list[dict[str, Any]]:
        """Totals per context, model or day; hit_rate None where there are no tokens."""
        if by not in GROUPS:
            raise StoreError(f"invalid --by {by!r}: use context, model or day")
        key = GROUPS[by]
        where, params = filters.where()
        rows = await self.db.fetchall(
            f"""SELECT {key} AS key, COUNT(*) AS calls,
                   SUM(input_tokens) AS input_tokens,
                   SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
                   SUM(cache_read_input_tokens) AS cache_read_input_tokens,
                   SUM(output_tokens) AS output_tokens,
                   SUM(cost_usd) AS cost_usd, SUM(uncached_cost_usd) AS uncached_cost_usd,
                   SUM(saved_usd) AS saved_usd
                FROM calls{where} GROUP BY key ORDER BY {"key DESC" if by == "day" else "key"}""",
            params,
        )
        out = []
        for r in rows:
            tokens = r["input_tokens"] + r["cache_creation_input_tokens"] + \
                r["cache_read_input_tokens"]
            out.append({
                by: r["key"],
                "calls": r["calls"],
                "input_tokens": r["input_tokens"],
                "cache_creation_input_tokens": r["cache_creation_input_tokens"],
                "cache_read_input_tokens": r["cache_read_input_tokens"],
                "output_tokens": r["output_tokens"],
                "cost_usd": _round(r["cost_usd"]),
                "uncached_cost_usd": _round(r["uncached_cost_usd"]),
                "saved_usd": _round(r["saved_usd"]),
                "hit_rate": (r["cache_read_input_tokens"] / tokens) if tokens else None,
            })
        return out

    async def count(self, filters: CallFilter = CallFilter()) -> int:
        """How many calls match."""
        where, params = filters.where()
        return int(await self.db.scalar(f"SELECT COUNT(*) FROM calls{where}", params) or 0)

    async def cache_events(self, hashes: Iterable[str]) -> list[CacheEvent]:
        """Events of successful calls that wrote or read any of these prefixes."""
        wanted = sorted(set(hashes))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = await self.db.fetchall(
            f"""SELECT c.ts, c.model, b.prefix_hash, b.ttl FROM call_breakpoints b
                JOIN calls c ON c.id = b.call_id
                WHERE b.cached = 1 AND b.prefix_hash IN ({marks})""",
            wanted,
        )
        return [CacheEvent(ts=parse_iso(r["ts"]), model=r["model"], prefix_hash=r["prefix_hash"],
                           ttl=r["ttl"]) for r in rows]

    async def last_message_id(self, *, context_id: int | None,
                              conversation_id: int | None = None) -> str | None:
        """The message id of the latest ok call of this conversation (else of the context)."""
        if conversation_id is not None:
            found = await self.db.scalar(
                "SELECT message_id FROM calls WHERE conversation_id = ? AND message_id IS NOT"
                " NULL ORDER BY id DESC LIMIT 1", (conversation_id,))
            if found:
                return str(found)
        if context_id is None:
            return None
        found = await self.db.scalar(
            "SELECT message_id FROM calls WHERE context_id = ? AND message_id IS NOT NULL"
            " ORDER BY id DESC LIMIT 1", (context_id,))
        return str(found) if found else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 10)
