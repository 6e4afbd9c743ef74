"""Per-day charts of the filtered calls: cost and savings, hit rate, cache writes vs reads.

One bar chart per series, each over the same run of days (days without calls count as zero),
on a scale from zero (the hit rate from 0 to 100%), with the figures that matter beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from promptcache_tui.core.formatting import money, tokens
from promptcache_tui.store.calls import Totals
from promptcache_tui.ui.widgets.bar_chart import BarChart, Bars


@dataclass(frozen=True, slots=True)
class Series:
    """One chart: a title, a value per day, what to say beside it, and how to draw it."""

    key: str
    title: str
    values: list[float]
    note: str
    label: Callable[[float], str]
    scale_max: float | None = None  # None: the largest value
    merge: Callable[[Sequence[float]], float] = sum
    style: str = "$primary"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def _tokens(value: float) -> str:
    return tokens(round(value))


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
    """The five series the charts show."""
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
    lost = sum(v for v in saved if v < 0)
    return [
        Series(
            "cost",
            "cost per day",
            cost,
            f"total {money(sum(cost))} · peak {money(max(cost, default=0))}"
            + (f" on {days[peak][0]}" if days else ""),
            money,
        ),
        Series(
            "saved",
            "saved per day",
            [max(v, 0.0) for v in saved],  # bars from zero; a first write's loss is said
            f"total {money(sum(saved))} · best day {money(max(saved, default=0))}"
            + (f" · first writes cost {money(-lost)} more than uncached" if lost else ""),
            money,
            style="$success",
        ),
        Series(
            "hit",
            "hit rate per day",
            hit,
            f"mean {_mean(hit):.0f}% · lowest {min(hit, default=0):.0f}%",
            _percent,
            scale_max=100.0,
            merge=_mean,
            style="$accent",
        ),
        Series(
            "writes",
            "cache writes per day (tokens)",
            writes,
            f"total {tokens(int(total_writes))}",
            _tokens,
            style="$warning",
        ),
        Series(
            "reads",
            "cache reads per day (tokens)",
            reads,
            f"total {tokens(int(total_reads))}{ratio}",
            _tokens,
            style="$success",
        ),
    ]


class HistoryCharts(VerticalScroll):
    """Bar charts of the filtered calls per day."""

    DEFAULT_CSS = """
    HistoryCharts .chart-title {
        text-style: bold;
        padding: 0 1;
    }
    HistoryCharts .chart-note {
        color: $text-muted;
        padding: 0 1;
        width: 1fr;
    }
    HistoryCharts BarChart {
        margin: 0 1 1 1;
    }
    """

    def __init__(
        self, by_day: Sequence[tuple[str, Totals]] | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._initial = by_day
        self._ready = False  # the charts exist (days may arrive before they do)

    def on_mount(self) -> None:
        self._ready = True
        if self._initial is not None:
            self.show(self._initial)

    def compose(self) -> ComposeResult:
        for series in series_of([]):
            yield Label(series.title, classes="chart-title", id=f"title-{series.key}")
            yield Static("", classes="chart-note", id=f"note-{series.key}", markup=False)
            yield BarChart(id=f"chart-{series.key}")

    def show(self, by_day: Sequence[tuple[str, Totals]]) -> None:
        """Draw the series of these days."""
        if not self._ready:
            self._initial = by_day
            return
        days = [day for day, _ in continuous_days(by_day)]
        for series in series_of(by_day):
            self.query_one(f"#chart-{series.key}", BarChart).show(
                Bars(
                    series.values, days, series.label, series.scale_max, series.merge, series.style
                )
            )
            self.query_one(f"#note-{series.key}", Static).update(
                series.note if by_day else "no calls"
            )
