"""How a call becomes rows: the columns of `calls`, its INSERT and UPDATE statements and
their parameters, and the rows of an observed group and of a miss explanation. One
definition, used by the async store (`calls.py`, `observed.py`) and by the plain-sqlite3
import path (`imports.py`), which must write the same rows.

Standard library and core only: no aiosqlite.
"""

from __future__ import annotations

from collections.abc import Sequence

from promptcache_tui.core.records import CallRecord
from promptcache_tui.core.sanitize import one_line, redact

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    from typing import Any

    from promptcache_tui.core.miss import MissExplanation

# The columns a record writes, in `call_row` order. A call belongs to its context by id:
# its `context` is always the context's current name (a rename while a call is in flight
# cannot leave it under the old one), else the name it was sent with (a deleted context).
CALL_COLUMNS = (
    "ts", "context_id", "context", "conversation_id", "kind", "model", "status", "error",
    "input_tokens", "cache_creation_input_tokens", "cache_creation_5m_tokens",
    "cache_creation_1h_tokens", "cache_read_input_tokens", "output_tokens", "price_input",
    "price_output", "mult_write_5m", "mult_write_1h", "mult_read", "cost_usd",
    "uncached_cost_usd", "saved_usd", "ttft_ms", "duration_ms", "cache_miss_reason",
    "cache_missed_input_tokens", "request_id", "message_id", "stop_reason", "live", "prompt",
    "answer", "client", "session", "owner", "sidechain",
)  # fmt: skip
_CURRENT_NAME = "coalesce((SELECT name FROM contexts WHERE id = ?), ?)"
INSERT_CALL = (
    f"INSERT INTO calls (id, {', '.join(CALL_COLUMNS)}) VALUES (?, "
    + ", ".join(_CURRENT_NAME if c == "context" else "?" for c in CALL_COLUMNS)
    + ")"
)
# An update rewrites everything but the call's identity (id, ts, kind, prompt, context id).
_FIXED = {"ts", "context_id", "kind", "prompt"}
_UPDATED = [c for c in CALL_COLUMNS if c not in _FIXED]
UPDATE_CALL = (
    "UPDATE calls SET "
    + ", ".join(f"context = {_CURRENT_NAME}" if c == "context" else f"{c} = ?" for c in _UPDATED)
    + " WHERE id = ?"
)


def _values(rec: CallRecord, owner: str | None) -> dict[str, Any]:
    """The `calls` columns of a record (costs computed once, with its own prices; the error
    redacted: a server may echo the key it was sent)."""
    cost = rec.cost
    u = rec.usage
    p = rec.prices
    return {
        "ts": rec.ts,
        "context_id": rec.context_id,
        "context": rec.context,
        "conversation_id": rec.conversation_id,
        "kind": rec.kind,
        "model": rec.model,
        "status": rec.status,
        "error": redact(rec.error) if rec.error else rec.error,
        "input_tokens": u.input_tokens,
        "cache_creation_input_tokens": u.cache_creation_input_tokens,
        "cache_creation_5m_tokens": u.cache_creation_5m_tokens,
        "cache_creation_1h_tokens": u.cache_creation_1h_tokens,
        "cache_read_input_tokens": u.cache_read_input_tokens,
        "output_tokens": u.output_tokens,
        "price_input": p.input,
        "price_output": p.output,
        "mult_write_5m": p.write_5m,
        "mult_write_1h": p.write_1h,
        "mult_read": p.read,
        "cost_usd": cost.cost_usd,
        "uncached_cost_usd": cost.uncached_cost_usd,
        "saved_usd": cost.saved_usd,
        "ttft_ms": rec.ttft_ms,
        "duration_ms": rec.duration_ms,
        "cache_miss_reason": rec.cache_miss_reason,
        "cache_missed_input_tokens": rec.cache_missed_input_tokens,
        "request_id": rec.request_id,
        "message_id": rec.message_id,
        "stop_reason": rec.stop_reason,
        "live": int(rec.live),
        "prompt": rec.prompt,
        "answer": rec.answer,
        "client": rec.client,
        "session": rec.session,
        "owner": owner,
        "sidechain": int(rec.sidechain),
    }


def _params(columns: Sequence[str], values: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for column in columns:
        if column == "context":
            out += [values["context_id"], values["context"]]
        else:
            out.append(values[column])
    return out


def call_row(call_id: int | None, rec: CallRecord, owner: str | None = None) -> list[Any]:
    """The INSERT parameters of a record."""
    return [call_id, *_params(CALL_COLUMNS, _values(rec, owner))]


def update_row(rec: CallRecord, owner: str | None = None) -> list[Any]:
    """The UPDATE parameters of a record (its id last)."""
    return [*_params(_UPDATED, _values(rec, owner)), rec.id]


# An imported response is inserted at most once: the unique index `calls_imported` (message
# id, kind claude-code; migration 8) turns a second insert, by this process or another,
# into nothing. This is the importers' dedup rule; `imports.py` applies it.
INSERT_IMPORTED = INSERT_CALL.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)

MAX_GROUP_NAME = 80
# A group is created by its first call; a later call (or a rename) keeps its name.
ENSURE_GROUP = """INSERT OR IGNORE INTO observed_groups (key, kind, client, model, project, name,
    created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"""
SAVE_MISS = """INSERT OR REPLACE INTO call_misses (call_id, code, block_index, block_label,
    before, after, gap_s, previous_call_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""


def group_name(name: str) -> str:
    """A group's name as stored: one line, single spaces, at most 80 characters."""
    return one_line(" ".join(name.split()))[:MAX_GROUP_NAME]


def group_row(
    key: str,
    kind: str,
    *,
    name: str,
    client: str | None,
    model: str | None,
    project: str | None,
    now: str,
) -> tuple[Any, ...]:
    """The ENSURE_GROUP parameters."""
    return (key, kind, client, model, project, group_name(name), now)


def miss_row(call_id: int, found: MissExplanation) -> tuple[Any, ...]:
    """The SAVE_MISS parameters."""
    return (
        call_id,
        found.code,
        found.block_index,
        found.block_label,
        found.before,
        found.after,
        found.gap_s,
        found.previous_call_id,
    )
