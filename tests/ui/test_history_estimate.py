"""A search with many candidates: the history screen shows an estimate at once, says it is
one, and then shows the exact figures (the only ones it ever quotes as the filter's count)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Label

from promptcache_tui.store import CallFilter, Store
from promptcache_tui.store import calls as call_log
from promptcache_tui.store.calls import Summary, Totals
from promptcache_tui.ui.widgets import history_charts, history_summary
from promptcache_tui.ui.widgets.history_summary import HistoryBreakdown, HistoryTotals, rounded

from .harness import wait_until
from .test_history_screen import SIZE, Host, seed_calls, settled

TERM = "the"  # in three prompts of four


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    asyncio.run(seed_calls(path, 250))
    return path


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Everything the totals line, the breakdown and the charts were given, in order; and
    thresholds low enough that 250 calls are "many"."""
    monkeypatch.setattr(call_log, "_ESTIMATE_FROM", 60)
    monkeypatch.setattr(call_log, "_SAMPLE_SIZE", 15)
    seen: dict[str, list[Any]] = {"totals": [], "breakdown": [], "charts": []}
    show_totals, show_breakdown = HistoryTotals.show, HistoryBreakdown.show
    show_charts = history_charts.HistoryCharts.show

    def totals(self: HistoryTotals, found: Totals, sample: int | None = None) -> None:
        seen["totals"].append((history_summary.totals_lines(found, sample), sample))
        show_totals(self, found, sample)

    def breakdown(self: HistoryBreakdown, summary: Summary) -> None:
        seen["breakdown"].append(summary.exact)
        show_breakdown(self, summary)

    def charts(self: Any, *args: Any, **kwargs: Any) -> None:
        seen["charts"].append(self.screen.summary.exact)
        show_charts(self, *args, **kwargs)

    monkeypatch.setattr(HistoryTotals, "show", totals)
    monkeypatch.setattr(HistoryBreakdown, "show", breakdown)
    monkeypatch.setattr(history_charts.HistoryCharts, "show", charts)
    return seen


async def _search(pilot: Any, term: str) -> None:
    """Type `term` into the search (applied after a pause; the shown tab stays)."""
    screen = await settled(pilot)
    screen.query_one("#filter-search", Input).value = term
    await wait_until(pilot, lambda: screen.filters.search == (term or None), what="the search")


async def _exact(db_path: Path, filters: CallFilter, *, grouped: bool = True) -> Summary:
    async with await Store.open(db_path) as store:
        return await store.calls.summary(filters, grouped=grouped)


async def test_the_totals_show_an_estimate_then_the_exact_figures(
    db_path: Path, shown: dict[str, list[Any]]
) -> None:
    exact = await _exact(db_path, CallFilter(search=TERM), grouped=False)
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, TERM)
        screen = await settled(pilot)
        assert screen.summary is not None and screen.summary.exact
        assert screen.summary.totals == exact.totals
        status = str(screen.query_one("#history-status", Label).render())
        assert f"of {exact.totals.calls:,} calls" in status
        assert not screen.query_one(HistoryTotals).has_class("-pending")
    searched = [(text, sample) for text, sample in shown["totals"][1:]]  # [0]: every call
    (first, sample), (last, final) = searched[0], searched[-1]
    assert sample is not None and final is None
    assert first.startswith("≈ [b]") and "calls (estimate, counting exactly…)" in first
    assert f"estimated from a sample of {sample:,} matching calls" in first
    assert last.startswith(f"[b]{exact.totals.calls:,}[/b] calls")
    assert "estimate" not in last and "≈" not in last


async def test_the_breakdown_shows_the_estimate_marked_and_the_charts_wait(
    db_path: Path, shown: dict[str, list[Any]]
) -> None:
    exact = await _exact(db_path, CallFilter(search=TERM))
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await pilot.press("2")
        await _search(pilot, TERM)
        screen = await settled(pilot)
        breakdown = screen.query_one(HistoryBreakdown)
        assert not breakdown.has_class("-estimate")
        table = breakdown.query_one("#by-context", DataTable)
        assert sum(int(str(table.get_row_at(i)[1])) for i in range(table.row_count)) == (
            exact.totals.calls
        )
        assert shown["breakdown"][-2:] == [False, True]  # the estimate, then the exact
        await _search(pilot, "")
        await pilot.press("3")
        await settled(pilot)
        estimates = sum(1 for _, sample in shown["totals"] if sample is not None)
        await _search(pilot, TERM)
        await settled(pilot)
        assert sum(1 for _, sample in shown["totals"] if sample is not None) == estimates + 1
    assert shown["charts"] and all(shown["charts"])  # the charts never drew an estimate


async def test_a_search_with_few_candidates_is_counted_exactly_at_once(
    db_path: Path, shown: dict[str, list[Any]]
) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, "rabbit")  # in one prompt of four: few enough to count at once
        await settled(pilot)
    assert [sample for _, sample in shown["totals"]] == [None, None]


def test_an_estimated_count_keeps_three_significant_figures() -> None:
    assert [rounded(n) for n in (0, 999, 1000, 1234, 476_945, 9_514, 1_000_499)] == [
        0,
        999,
        1000,
        1230,
        477_000,
        9_510,
        1_000_000,
    ]
