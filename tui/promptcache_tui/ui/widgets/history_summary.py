"""Totals of the filtered calls, and their breakdowns per context, model and day."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from promptcache_tui.core.formatting import counted, money, percent, tokens
from promptcache_tui.store.calls import Summary, Totals

BREAKDOWN_COLUMNS = (
    "calls",
    "errors",
    "input",
    "writes",
    "reads",
    "output",
    "cost",
    "uncached",
    "saved",
    "hit",
)


def totals_lines(totals: Totals, sample: int | None = None) -> str:
    """Two or three lines: calls and money, tokens by kind, and what is left out.

    With `sample` (the figures are an estimate from that many calls) the first line starts
    by saying so (first, so that a narrow terminal shows it too), the counts are rounded,
    and the last line says how the estimate was made.
    """
    if not totals.calls:
        return "no calls match these filters"
    saved_share = ""
    if totals.saved_usd is not None and totals.uncached_cost_usd:
        saved_share = f" ({totals.saved_usd / totals.uncached_cost_usd * 100:.0f}%)"
    calls = f"[b]{totals.calls:,}[/b] call{'' if totals.calls == 1 else 's'}"
    errors = counted(totals.errors, "error")
    if sample is not None:
        calls = f"≈ [b]{rounded(totals.calls):,}[/b] calls (estimate, counting exactly…)"
        errors = f"{rounded(totals.errors):,} errors"
    lines = [
        f"{calls} · {errors} · "
        f"cost [b]{money(totals.cost_usd)}[/b] · uncached {money(totals.uncached_cost_usd)}"
        f" · saved [b]{money(totals.saved_usd)}[/b]{saved_share} · "
        f"hit rate [b]{percent(totals.hit_rate)}[/b]",
        f"tokens: input {tokens(totals.input_tokens)} · 5m writes "
        f"{tokens(totals.cache_creation_5m_tokens)} · 1h writes "
        f"{tokens(totals.cache_creation_1h_tokens)} · reads "
        f"{tokens(totals.cache_read_input_tokens)} · output {tokens(totals.output_tokens)}",
    ]
    unpriced = totals.unpriced_calls
    if sample is not None:
        lines.append(f"[i]estimated from a sample of {sample:,} matching calls[/i]")
    elif unpriced:
        lines.append(
            f"[dim]{counted(unpriced, 'call')} of models with unknown prices "
            f"{'is' if unpriced == 1 else 'are'} not in the costs[/dim]"
        )
    return "\n".join(lines)


def rounded(count: int) -> int:
    """An estimated count to three significant figures (476,945 -> 477,000): no more
    precision than a sample gives."""
    if count < 1000:
        return count
    step = int(10 ** (len(str(count)) - 3))
    return round(count / step) * step


def breakdown_cells(totals: Totals) -> list[str]:
    """One breakdown row after its key."""
    return [
        f"{totals.calls:,}",
        f"{totals.errors:,}",
        tokens(totals.input_tokens),
        tokens(totals.cache_creation_input_tokens),
        tokens(totals.cache_read_input_tokens),
        tokens(totals.output_tokens),
        money(totals.cost_usd),
        money(totals.uncached_cost_usd),
        money(totals.saved_usd),
        percent(totals.hit_rate),
    ]


class HistoryTotals(Static):
    """The totals line of the filtered set (`…` while they are being counted)."""

    DEFAULT_CSS = """
    HistoryTotals {
        /* A fixed size: new figures never move the table below (no re-layout, no redraw). */
        height: 4;
        width: 1fr;
        padding: 0 1;
        border-bottom: hkey $foreground 20%;
    }
    HistoryTotals.-pending {
        color: $text-muted;
    }
    """

    def pending(self) -> None:
        """Mark the figures as out of date while a new filter is counted."""
        self.add_class("-pending")

    def show(self, totals: Totals, sample: int | None = None) -> None:
        """Show fresh figures; with `sample`, an estimate (still marked as out of date)."""
        self.set_class(sample is not None, "-pending")
        self.update(totals_lines(totals, sample))


class HistoryBreakdown(VerticalScroll):
    """Per context, per model and per day (newest first), each a small table."""

    DEFAULT_CSS = """
    HistoryBreakdown > DataTable {
        height: auto;
        max-height: 16;
        margin-bottom: 1;
    }
    HistoryBreakdown > Label {
        text-style: bold;
        padding: 0 1;
    }
    HistoryBreakdown > #breakdown-estimate {
        display: none;
        text-style: italic;
        color: $text-muted;
    }
    HistoryBreakdown.-estimate > #breakdown-estimate {
        display: block;
    }
    """

    def __init__(self, summary: Summary | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = summary
        self._ready = False  # the tables exist (a summary may arrive before they do)

    def compose(self) -> ComposeResult:
        yield Label("", id="breakdown-estimate")
        for name in ("context", "model", "day"):
            yield Label(f"per {name}")
            yield DataTable[str](id=f"by-{name}", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        for name in ("context", "model", "day"):
            self.query_one(f"#by-{name}", DataTable).add_columns(name, *BREAKDOWN_COLUMNS)
        self._ready = True
        if self._initial is not None:
            self.show(self._initial)

    def show(self, summary: Summary) -> None:
        """Fill the three tables (an estimate says so above them)."""
        if not self._ready:
            self._initial = summary
            return
        self.set_class(not summary.exact, "-estimate")
        if summary.sample is not None:
            self.query_one("#breakdown-estimate", Label).update(
                f"estimates from a sample of {summary.sample:,} calls · counting exactly…"
            )
        groups: dict[str, Sequence[tuple[Any, Totals]]] = {
            "context": summary.by_context,
            "model": summary.by_model,
            "day": list(reversed(summary.by_day)),
        }
        for name, rows in groups.items():
            table = self.query_one(f"#by-{name}", DataTable)
            table.clear()
            for key, totals in rows:
                table.add_row(key or "(none)", *breakdown_cells(totals))
