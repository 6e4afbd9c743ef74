"""One row per logged call, newest first, the highlighted call's full cache outcome below
the table (a miss reason does not fit a column on a narrow terminal), the totals of this
session and the keep-warm ping counter.

It shows the calls of a named context or of an observed group (`session`); calls logged by
other processes come in through `follow` (not counted in this session's totals)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from promptcache_tui.core.formatting import local_time, money, percent
from promptcache_tui.core.sanitize import one_line
from promptcache_tui.ui.widgets.line_table import Row
from promptcache_tui.ui.widgets.usage_table import CallsTable

if TYPE_CHECKING:
    from promptcache_tui.core.call_columns import CallColumn
    from promptcache_tui.core.miss import MissExplanation
    from promptcache_tui.core.records import CallRecord

MAX_ROWS = 200


def usage_columns() -> tuple[CallColumn, ...]:
    """The panel's columns (imported when the panel mounts, after the first frame)."""
    from promptcache_tui.core.call_columns import USAGE_PANEL, columns

    return columns(USAGE_PANEL)


def row_of(record: CallRecord, now: float) -> Row:
    """One call as a table row (times local, seen from `now`)."""
    from promptcache_tui.core.call_columns import cells

    return Row(record.id, tuple(cells(record, usage_columns(), now)), record.status != "ok")


def detail_line(record: CallRecord, now: float, miss: MissExplanation | None = None) -> str:
    """The highlighted call in a sentence: its cache outcome (the miss reason or the error in
    full; with `miss`, the block that changed as `old → new`), then what it cost and saved,
    so it reads whole however narrow the table is."""
    from promptcache_tui.core.miss import miss_line

    usage = record.usage
    head = f"{local_time(record.ts, now)} {record.kind}"
    if record.status != "ok":
        return f"{head} failed: {one_line(record.error or 'unknown error')}"
    if record.cache_miss_reason:
        missed = record.cache_missed_input_tokens
        extra = f" ({missed:,} tokens missed)" if missed else ""
        reason = miss_line(miss) if miss is not None else one_line(record.cache_miss_reason)
        outcome = f"{head} missed the cache: {reason}{extra}"
    elif usage.cache_read_input_tokens:
        outcome = (
            f"{head} read {usage.cache_read_input_tokens:,} tokens from the cache "
            f"(hit {percent(usage.hit_rate)})"
        )
    elif usage.cache_creation_input_tokens:
        outcome = f"{head} wrote {usage.cache_creation_input_tokens:,} tokens to the cache"
    else:
        outcome = f"{head}: nothing was cached"
    cost = record.cost
    return f"{outcome} · cost {money(cost.cost_usd)}, saved {money(cost.saved_usd)}"


def warm_summary(record: CallRecord) -> str:
    """What a warm call wrote and read, and its cost (for its notice)."""
    usage = record.usage
    if record.status != "ok":
        return f"failed: {record.error or 'unknown error'}"
    writes = []
    if usage.cache_creation_1h_tokens:
        writes.append(f"{usage.cache_creation_1h_tokens:,} (1h)")
    if usage.cache_creation_5m_tokens:
        writes.append(f"{usage.cache_creation_5m_tokens:,} (5m)")
    cost = record.cost.cost_usd
    return (
        f"wrote {' + '.join(writes) or '0'} tokens, read "
        f"{usage.cache_read_input_tokens:,} · cost "
        f"{money(cost)}"
    )


@dataclass
class SessionTotals:
    """Running totals of a set of calls. A session's calls are counted, not kept: a list of
    them (prompts and answers included) grew with every call for as long as the app ran."""

    calls: int = 0
    priced: int = 0  # calls whose cost is known
    cost: float = 0.0
    saved: float = 0.0
    read: int = 0
    prompt: int = 0

    def add(self, record: CallRecord) -> None:
        """Count one more call."""
        self.calls += 1
        if record.cost.cost_usd is not None:
            self.priced += 1
            self.cost += record.cost.cost_usd
            self.saved += record.cost.saved_usd or 0.0
        self.read += record.usage.cache_read_input_tokens
        self.prompt += record.usage.prompt_tokens

    def line(self) -> str:
        """Calls, cost, saving and hit rate."""
        if not self.calls:
            return "this session: no calls yet"
        cost, saved = (self.cost, self.saved) if self.priced else (None, None)
        hit = self.read / self.prompt if self.prompt else None
        unknown = " (some prices unknown)" if 0 < self.priced < self.calls else ""
        return (
            f"this session: {self.calls} call{'s' if self.calls != 1 else ''} · "
            f"cost {money(cost)} · saved {money(saved)} · hit {percent(hit)}{unknown}"
        )


class UsagePanel(Vertical):
    """The calls of the selected context, and the totals of this session's calls."""

    DEFAULT_CSS = """
    UsagePanel {
        height: 1fr;
    }
    UsagePanel > .panel-title { text-style: bold; padding: 0 1; }
    UsagePanel > CallsTable { height: 1fr; }
    UsagePanel > #usage-detail { height: auto; max-height: 7; padding: 0 1; }
    UsagePanel > #usage-totals { height: auto; padding: 0 1; color: $text-muted; }
    UsagePanel > #usage-keepwarm {
        height: auto; padding: 0 1; color: $success; display: none;
    }
    UsagePanel > #usage-keepwarm.-shown { display: block; }
    """

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock  # wall-clock time for the time column (injected: tests freeze it)
        self.records: list[CallRecord] = []
        self.session = SessionTotals()
        self.context: str | None = None
        self.group: str | None = None  # an observed group's key, when one is shown
        self.misses: dict[int, MissExplanation] = {}  # why shown calls missed, by call id

    def compose(self) -> ComposeResult:
        yield Label("Calls", classes="panel-title", id="usage-title")
        yield CallsTable(usage_columns(), id="usage-table")
        yield Static("", id="usage-detail", markup=False)
        # Static, not Label: on a narrow terminal these wrap instead of being cut off.
        yield Static(SessionTotals().line(), id="usage-totals", markup=False)
        yield Static("", id="usage-keepwarm", markup=False)

    def show(
        self,
        records: Sequence[CallRecord],
        context: str | None,
        *,
        group: str | None = None,
        misses: dict[int, MissExplanation] | None = None,
    ) -> None:
        """Show a context's logged calls (newest first), or an observed group's: then
        `context` is the title and `group` the group's key."""
        self.records = list(records)[:MAX_ROWS]
        self.context, self.group = (None, group) if group is not None else (context, None)
        self.misses = dict(misses or {})
        title = f"Calls: {context}" if context else "Calls"
        self.query_one("#usage-title", Label).update(one_line(title))
        self._fill()

    def _shows(self, record: CallRecord) -> bool:
        if self.group is not None:
            return record.session == self.group
        return record.context == self.context

    def _put(self, record: CallRecord) -> Literal["replaced", "inserted"] | None:
        """In place of the row of the same call (it settled since), or on top (the oldest
        row then goes when the table is full); None when it is not shown here."""
        for index, shown in enumerate(self.records):
            if shown.id is not None and shown.id == record.id:
                self.records[index] = record
                return "replaced"
        if not self._shows(record):
            return None
        self.records.insert(0, record)
        del self.records[MAX_ROWS:]
        return "inserted"

    def add(self, record: CallRecord) -> None:
        """A call was just logged: count it in the session totals, and put it on top if it
        belongs to the context shown (a keep-warm ping may be for another one)."""
        self.session.add(record)
        self._put(record)
        self._fill()

    def follow(
        self, records: Sequence[CallRecord], misses: dict[int, MissExplanation] | None = None
    ) -> None:
        """Calls another process logged or settled (oldest first): those of what is shown go
        on top, or replace their row; this session's totals count only its own calls."""
        self.misses.update(misses or {})
        table = self.query_one("#usage-table", CallsTable)
        highlighted = table.cursor_row
        changed = [self._put(record) for record in records]
        # Only the rows shown keep their explanations: a group followed for days stays small.
        shown = {r.id for r in self.records}
        self.misses = {k: v for k, v in self.misses.items() if k in shown}
        if any(changed):
            self._fill()
            if highlighted > 0:  # stay on the call looked at (row 0 follows the newest)
                # Rows on top push it down, even when a full table drops its oldest.
                below = highlighted + changed.count("inserted")
                table.move_cursor(min(below, len(self.records) - 1))

    def show_keep_warm(self, summary: str | None) -> None:
        """The keep-warm counter (pings and their cost); None hides it."""
        label = self.query_one("#usage-keepwarm", Static)
        label.update(summary or "")
        label.set_class(summary is not None, "-shown")

    @property
    def keep_warm_text(self) -> str:
        """The keep-warm counter shown ('' when hidden)."""
        label = self.query_one("#usage-keepwarm", Static)
        return str(label.render()) if label.has_class("-shown") else ""

    @property
    def highlighted(self) -> CallRecord | None:
        """The call the table's cursor is on."""
        index = self.query_one("#usage-table", CallsTable).cursor_row
        return self.records[index] if 0 <= index < len(self.records) else None

    @property
    def detail_text(self) -> str:
        """The highlighted call's sentence under the table."""
        return str(self.query_one("#usage-detail", Static).render())

    @on(CallsTable.RowHighlighted)
    def _row_highlighted(self, event: CallsTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        detail = self.query_one("#usage-detail", Static)
        if 0 <= index < len(self.records):
            record = self.records[index]
            miss = self.misses.get(record.id) if record.id is not None else None
            detail.update(detail_line(record, self.clock(), miss))
        else:
            detail.update("")

    def _fill(self) -> None:
        table = self.query_one("#usage-table", CallsTable)
        now = self.clock()
        table.set_rows([row_of(record, now) for record in self.records])
        self._show_detail(table.cursor_row)
        self.query_one("#usage-totals", Static).update(self.session.line())
