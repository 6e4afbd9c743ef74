"""The columns of a logged call, in one list: the usage panel, the history screen and the
`history` command each show a selection of them, in this order.

What matters first: when, what kind, what it wrote to and read from the cache, the hit rate,
what it cost and saved; then the raw input and output, the writes split by TTL (5m, 1h), and
the note (why it missed, or the error). A view picks columns by key; the cells read the
same in the shell and on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from promptcache_tui.core.formatting import local_time, money, percent, tokens, utc_time
from promptcache_tui.core.records import CallRecord
from promptcache_tui.core.sanitize import redact

Cell = Callable[[CallRecord, float], str]  # (record, now as epoch seconds) -> text


@dataclass(frozen=True, slots=True)
class CallColumn:
    """One column: its key, its title, its width in cells and how its text aligns."""

    key: str
    title: str
    width: int
    right: bool
    cell: Cell

    def text(self, record: CallRecord, now: float) -> str:
        """This column's cell for one call, on one line."""
        return " ".join(self.cell(record, now).split())


def _note(record: CallRecord, now: float) -> str:
    if record.status != "ok":
        # Rows logged before errors were redacted on the way in may still hold a key.
        return redact(record.error) if record.error else record.status
    return record.cache_miss_reason or ""


COLUMNS: tuple[CallColumn, ...] = (
    CallColumn("time", "time", 11, False, lambda r, now: local_time(r.ts, now)),
    CallColumn("time_utc", "time (UTC)", 19, False, lambda r, now: utc_time(r.ts)),
    CallColumn("context", "context", 15, False, lambda r, now: r.context or "-"),
    # chat, ask, warm and proxy fit; claude-code shows cut where room is short.
    CallColumn("kind", "kind", 6, False, lambda r, now: r.kind),
    CallColumn(
        "writes", "writes", 6, True, lambda r, now: tokens(r.usage.cache_creation_input_tokens)
    ),
    CallColumn("read", "read", 6, True, lambda r, now: tokens(r.usage.cache_read_input_tokens)),
    CallColumn("hit", "hit", 4, True, lambda r, now: percent(r.usage.hit_rate)),
    CallColumn("cost", "cost", 8, True, lambda r, now: money(r.cost.cost_usd)),
    CallColumn("saved", "saved", 8, True, lambda r, now: money(r.cost.saved_usd)),
    CallColumn("input", "in", 6, True, lambda r, now: tokens(r.usage.input_tokens)),
    CallColumn("output", "out", 6, True, lambda r, now: tokens(r.usage.output_tokens)),
    CallColumn(
        "write_5m", "5m w", 6, True, lambda r, now: tokens(r.usage.cache_creation_5m_tokens)
    ),
    CallColumn(
        "write_1h", "1h w", 6, True, lambda r, now: tokens(r.usage.cache_creation_1h_tokens)
    ),
    CallColumn("model", "model", 18, False, lambda r, now: r.model),
    CallColumn("status", "status", 6, False, lambda r, now: r.status),
    CallColumn("note", "miss reason / error", 20, False, _note),
)
BY_KEY = {column.key: column for column in COLUMNS}

# Each view's selection, in the shared order.
USAGE_PANEL = (
    "time",
    "kind",
    "writes",
    "read",
    "hit",
    "cost",
    "saved",
    "input",
    "output",
    "write_5m",
    "write_1h",
    "note",
)
# The history screen at 80 columns shows every money column whole: its context column
# gives the kind's two more cells back (proxy fits; claude-code is cut to claud…).
HISTORY_WIDTHS = {"context": 13}
HISTORY = (
    "time_utc",
    "context",
    "kind",
    "writes",
    "read",
    "hit",
    "cost",
    "saved",
    "input",
    "output",
    "write_5m",
    "write_1h",
    "model",
    "status",
    "note",
)


def columns(keys: Sequence[str], widths: Mapping[str, int] | None = None) -> tuple[CallColumn, ...]:
    """The columns named by `keys`, in the order given (a view's selection); `widths`
    gives some of them more room in a view that has it."""
    chosen = tuple(BY_KEY[key] for key in keys)
    if not widths:
        return chosen
    return tuple(replace(c, width=widths.get(c.key, c.width)) for c in chosen)


def cells(record: CallRecord, chosen: Sequence[CallColumn], now: float) -> list[str]:
    """One call's cells for these columns."""
    return [column.text(record, now) for column in chosen]
