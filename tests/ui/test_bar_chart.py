"""The history's charts: bars from zero, a rate on 0-100%, axes and dates that fit 80 columns."""

from __future__ import annotations

from promptcache_tui.ui.widgets.bar_chart import BLOCKS, Bars, bar_rows, buckets, chart_lines


def test_a_bar_fills_eighths_from_the_bottom() -> None:
    rows = bar_rows([0.0, 0.5, 1.0], rows=2)
    assert rows == [" " + BLOCKS[0] + BLOCKS[8], " " + BLOCKS[8] + BLOCKS[8]]
    assert bar_rows([1 / 16], rows=1) == [BLOCKS[0]]  # under half an eighth: nothing
    assert bar_rows([2 / 16], rows=1) == [BLOCKS[1]]


def test_days_that_do_not_fit_share_bars() -> None:
    assert buckets(5, 10) == [(i, i + 1) for i in range(5)]
    assert buckets(10, 10) == [(i, i + 1) for i in range(10)]  # at the limit: one a day
    assert buckets(11, 10) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 11)]


def test_a_hit_rate_is_drawn_on_0_to_100_percent() -> None:
    days = ["2026-11-24", "2026-11-25", "2026-11-26"]
    lines = [
        str(line)
        for line in chart_lines(
            Bars([96.0, 97.0, 98.0], days, lambda v: f"{v:.0f}%", scale_max=100.0), 80, 6
        )
    ]
    assert lines[0].startswith("100% ┤") and lines[5].startswith("  0% ┤")
    # 96-98% of the way up: full bars, not a slope from empty to full as a sparkline draws.
    assert all(BLOCKS[8] in line for line in lines[1:6])
    assert lines[-1].strip().startswith("2026-11-24") and lines[-1].endswith("2026-11-26")


def test_a_year_of_days_fits_80_columns() -> None:
    days = [f"d{i:03}" for i in range(365)]
    lines = chart_lines(Bars([float(i) for i in range(365)], days, str), 80, 6)
    assert max(len(str(line)) for line in lines) <= 80
