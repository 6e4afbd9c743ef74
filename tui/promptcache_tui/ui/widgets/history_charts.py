"""Per-day charts of the filtered calls: cost and savings, hit rate, cache writes vs reads.

Sparklines, one per series, each over the same run of days (days without calls count as
zero) with its first and last date under it and the figures that matter beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, Sparkline

from promptcache_tui.core.formatting import money, tokens
from promptcache_tui.store.calls import Totals


@dataclass(frozen=True, slots=True)
class Series:
    """One chart: a title, a value per day, and what to say beside it."""

    key: str
    title: str
    values: list[float]
    note: str
    summary: Callable[[Sequence[float]], float] = max


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def continuous_days(by_day: Sequence[tuple[str, Totals]]) -> list[tuple[str, Totals]]:
    """Every day from the first to the last, with empty totals where nothing was logged."""
    if not by_day:
        return []
    known = dict(by_day)
    first, last = date.fromisoformat(by_day[0][0]), date.fromisoformat(by_day[-1][0])
    days = []
    for offset in range((last - first).days + 1):
        day = (first + timedelta(days=offset)).isoformat()
        days.append((day, known.get(day, Totals())))
    return days


def series_of(by_day: Sequence[tuple[str, Totals]]) -> list[Series]:
    """The four series the charts show."""
    days = continuous_days(by_day)
    cost = [t.cost_usd or 0.0 for _, t in days]
    saved = [t.saved_usd or 0.0 for _, t in days]
    hit = [(t.hit_rate or 0.0) * 100 for _, t in days]
    writes = [float(t.cache_creation_input_tokens) for _, t in days]
    reads = [float(t.cache_read_input_tokens) for _, t in days]
    peak = max(range(len(cost)), key=cost.__getitem__) if cost else 0
    total_writes, total_reads = sum(writes), sum(reads)
    ratio = (
        f" · {total_reads / total_writes:.1f} tokens read per token written" if total_writes else ""
    )
    return [
        Series(
            "cost",
            "cost per day",
            cost,
            f"total {money(sum(cost))} · peak {money(max(cost, default=0))}"
            + (f" on {days[peak][0]}" if days else ""),
        ),
        Series(
            "saved",
            "saved per day",
            saved,
            f"total {money(sum(saved))} · best day {money(max(saved, default=0))}",
        ),
        Series(
            "hit",
            "hit rate per day (%)",
            hit,
            f"mean {_mean(hit):.0f}% · lowest {min(hit, default=0):.0f}%",
            _mean,
        ),
        Series(
            "writes", "cache writes per day (tokens)", writes, f"total {tokens(int(total_writes))}"
        ),
        Series(
            "reads",
            "cache reads per day (tokens)",
            reads,
            f"total {tokens(int(total_reads))}{ratio}",
        ),
    ]


class HistoryCharts(VerticalScroll):
    """Sparklines of the filtered calls per day."""

    DEFAULT_CSS = """
    HistoryCharts .chart-title {
        text-style: bold;
        padding: 0 1;
    }
    HistoryCharts .chart-note {
        color: $text-muted;
        padding: 0 1;
    }
    HistoryCharts Sparkline {
        height: 3;
        margin: 0 1;
    }
    HistoryCharts .chart-axis {
        height: 1;
        margin: 0 1 1 1;
        color: $text-muted;
    }
    HistoryCharts .chart-axis Label {
        width: 1fr;
    }
    HistoryCharts .chart-axis .axis-end {
        text-align: right;
    }
    HistoryCharts #sparkline-saved > .sparkline--max-color {
        color: $success;
    }
    HistoryCharts #sparkline-hit > .sparkline--max-color {
        color: $accent;
    }
    HistoryCharts #sparkline-reads > .sparkline--max-color {
        color: $success;
    }
    """

    def __init__(
        self, by_day: Sequence[tuple[str, Totals]] | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._initial = by_day
        self._ready = False  # the sparklines exist (days may arrive before they do)

    def on_mount(self) -> None:
        self._ready = True
        if self._initial is not None:
            self.show(self._initial)

    def compose(self) -> ComposeResult:
        for series in series_of([]):
            yield Label(series.title, classes="chart-title", id=f"title-{series.key}")
            yield Label("", classes="chart-note", id=f"note-{series.key}")
            yield Sparkline([], id=f"sparkline-{series.key}", summary_function=series.summary)
            with Horizontal(classes="chart-axis"):
                yield Label("", id=f"from-{series.key}")
                yield Label("", id=f"to-{series.key}", classes="axis-end")

    def show(self, by_day: Sequence[tuple[str, Totals]]) -> None:
        """Draw the series of these days."""
        if not self._ready:
            self._initial = by_day
            return
        first = by_day[0][0] if by_day else ""
        last = by_day[-1][0] if by_day else ""
        for series in series_of(by_day):
            self.query_one(f"#sparkline-{series.key}", Sparkline).data = series.values
            self.query_one(f"#note-{series.key}", Label).update(
                series.note if by_day else "no calls"
            )
            self.query_one(f"#from-{series.key}", Label).update(first)
            self.query_one(f"#to-{series.key}", Label).update(last)
