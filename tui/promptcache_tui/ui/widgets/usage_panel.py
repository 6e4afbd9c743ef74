"""One row per logged call, newest first, with the totals of this session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

if TYPE_CHECKING:
    from textual.widgets import DataTable

    from promptcache_tui.core.records import CallRecord

MAX_ROWS = 200
# (label, width): fixed widths, so the table does not re-measure on every refill.
COLUMNS = (("time", 8), ("kind", 4), ("5m w", 5), ("1h w", 5), ("read", 5), ("in", 5),
           ("out", 5), ("cost $", 6), ("saved $", 7), ("hit", 4), ("miss reason", 16))
NUMERIC = range(2, 10)  # right-aligned columns


def tokens(value: int) -> str:
    """Compact token counts: 812, 8,417, 12.3k, 1.2M."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.1f}k"
    return f"{value:,}"


def money(value: float | None, sign: str = "$") -> str:
    """USD with four decimals; '-' when the price is unknown."""
    if value is None:
        return "-"
    return f"-{sign}{-value:.4f}" if value < 0 else f"{sign}{value:.4f}"


def percent(value: float | None) -> str:
    """A rate as a whole percentage; '-' where there is no data."""
    return "-" if value is None else f"{value * 100:.0f}%"


def local_time(ts: str, now: float | None = None) -> str:
    """HH:MM:SS in local time if on the day of `now` (default: today), else MM-DD HH:MM."""
    try:
        moment = datetime.fromisoformat(ts).astimezone()
    except ValueError:
        return ts[:16]
    today = datetime.fromtimestamp(now).astimezone() if now is not None else datetime.now()
    if moment.date() == today.astimezone().date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%m-%d %H:%M")


def row_of(record: CallRecord, now: float | None = None) -> list[Text]:
    """The cells of one call."""
    usage = record.usage
    cost = record.cost
    failed = record.status != "ok"
    reason = "error" if failed else (record.cache_miss_reason or "")
    cells = [
        local_time(record.ts, now),
        record.kind,
        tokens(usage.cache_creation_5m_tokens),
        tokens(usage.cache_creation_1h_tokens),
        tokens(usage.cache_read_input_tokens),
        tokens(usage.input_tokens),
        tokens(usage.output_tokens),
        money(cost.cost_usd, ""),
        money(cost.saved_usd, ""),
        percent(usage.hit_rate),
        reason,
    ]
    style = "red" if failed else ""
    return [Text(str(cell), style=style, justify="right" if i in NUMERIC else "left")
            for i, cell in enumerate(cells)]


def totals_line(records: Sequence[CallRecord]) -> str:
    """Calls, cost, saving and hit rate of a set of calls."""
    if not records:
        return "this session: no calls yet"
    costs = [r.cost for r in records]
    known = [c for c in costs if c.cost_usd is not None]
    cost = sum(c.cost_usd or 0.0 for c in known) if known else None
    saved = sum(c.saved_usd or 0.0 for c in known) if known else None
    read = sum(r.usage.cache_read_input_tokens for r in records)
    prompt = sum(r.usage.prompt_tokens for r in records)
    hit = read / prompt if prompt else None
    unknown = " (some prices unknown)" if known and len(known) < len(costs) else ""
    return (f"this session: {len(records)} call{'s' if len(records) != 1 else ''} · "
            f"cost {money(cost)} · saved {money(saved)} · hit {percent(hit)}{unknown}")


class UsagePanel(Vertical):
    """The calls of the selected context, and the totals of this session's calls."""

    DEFAULT_CSS = """
    UsagePanel {
        height: 1fr;
    }
    UsagePanel > .panel-title { text-style: bold; padding: 0 1; }
    UsagePanel > DataTable { height: 1fr; }
    UsagePanel > #usage-totals { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: list[CallRecord] = []
        self.session: list[CallRecord] = []

    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable

        yield Label("Calls", classes="panel-title", id="usage-title")
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True,
                                                 id="usage-table")
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        yield Label(totals_line(()), id="usage-totals")

    def show(self, records: Sequence[CallRecord], context: str | None) -> None:
        """Show a context's logged calls (newest first)."""
        self.records = list(records)[:MAX_ROWS]
        title = f"Calls: {context}" if context else "Calls"
        self.query_one("#usage-title", Label).update(title)
        self._fill()

    def add(self, record: CallRecord) -> None:
        """A call was just logged: put it on top and count it in the session totals."""
        self.records.insert(0, record)
        del self.records[MAX_ROWS:]
        self.session.append(record)
        self._fill()

    def _fill(self) -> None:
        table: DataTable[Text] = self.query_one("#usage-table")  # type: ignore[assignment]
        table.clear()
        now = getattr(self.app, "wall_now", None)
        today = now() if now is not None else None
        for record in self.records:
            table.add_row(*row_of(record, today))
        self.query_one("#usage-totals", Label).update(totals_line(self.session))
