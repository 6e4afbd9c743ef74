"""A bar chart in text: one bar per day (or per few days when they do not fit), on a scale
that starts at zero, with its top and bottom labelled and the dates under it.

A sparkline scales between its own minimum and maximum, so a hit rate of 96-98% looked like
a crash; here the scale is fixed where it means something (a rate: 0 to 100%) and starts at
zero otherwise. Bars are drawn with eighth blocks, so six rows give 48 steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual.content import Content
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"
STEPS = len(BLOCKS) - 1


@dataclass(frozen=True, slots=True)
class Bars:
    """What to draw: a value per day, how to merge days that share a bar, the top of the
    scale (None: the largest value) and how to label it."""

    values: Sequence[float]
    days: Sequence[str]
    label: Callable[[float], str]
    scale_max: float | None = None
    merge: Callable[[Sequence[float]], float] = sum
    style: str = "$primary"


def buckets(count: int, slots: int) -> list[tuple[int, int]]:
    """Split `count` days into at most `slots` runs of consecutive days: (start, end)."""
    n = count
    if n <= slots:
        return [(i, i + 1) for i in range(n)]
    size = math.ceil(n / slots)
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def bar_rows(heights: Sequence[float], rows: int) -> list[str]:
    """Each bar (0..1 of the scale) as `rows` characters top to bottom, eighths at the top."""
    columns = []
    for h in heights:
        eighths = round(max(0.0, min(h, 1.0)) * rows * STEPS)
        column = []
        for row in range(rows - 1, -1, -1):  # top row first
            filled = eighths - row * STEPS
            column.append(BLOCKS[max(0, min(filled, STEPS))])
        columns.append(column)
    return ["".join(column[r] for column in columns) for r in range(rows)]


def chart_lines(bars: Bars, width: int, rows: int) -> list[Content]:
    """The chart at `width` cells: `rows` rows of bars with a labelled axis, then the dates."""
    if not bars.values:
        return [Content.styled("no calls", "$text-muted")]
    top = bars.scale_max if bars.scale_max is not None else max(bars.values)
    top_label, zero_label = bars.label(top), bars.label(0)
    axis = max(len(top_label), len(zero_label))
    room = max(1, width - axis - 2)
    runs = buckets(len(bars.values), room // 2 or 1)
    merged = [bars.merge(list(bars.values[a:b])) for a, b in runs]
    bar_width = max(1, min(3, room // max(len(runs), 1) - 1))
    heights = [value / top if top > 0 else 0.0 for value in merged]
    drawn = bar_rows(heights, rows)
    lines: list[Content] = []
    for r, row in enumerate(drawn):
        label = top_label if r == 0 else zero_label if r == rows - 1 else ""
        cells = " ".join(ch * bar_width for ch in row)
        lines.append(Content.assemble((f"{label:>{axis}} ┤", "$text-muted"), (cells, bars.style)))
    span = len(runs) * (bar_width + 1) - 1
    lines.append(Content.styled(f"{'':>{axis}} └{'─' * max(span, 1)}", "$text-muted"))
    first, last = bars.days[0], bars.days[-1]
    dates = (
        first if first == last else f"{first}{' ' * max(1, span - len(first) - len(last))}{last}"
    )
    lines.append(Content.styled(f"{'':>{axis}}  {dates}", "$text-muted"))
    return lines


class BarChart(Widget):
    """Bars of a series of days; drawn at whatever width the chart is given."""

    DEFAULT_CSS = """
    BarChart {
        height: 8;
    }
    """

    def __init__(self, *, rows: int = 6, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = rows
        self.bars: Bars | None = None

    def show(self, bars: Bars) -> None:
        """Draw these bars."""
        self.bars = bars
        self.refresh()

    def render(self) -> Content:
        if self.bars is None:
            return Content("")
        return Content("\n").join(chart_lines(self.bars, self.size.width, self.rows))
