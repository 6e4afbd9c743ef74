"""A search with many candidates: the history screen shows an estimate at once, says it is
one, and then shows the exact figures (the only ones it ever quotes as the filter's count).

The exact count is held back by a gate the test opens, so what the screen shows meanwhile
is checked on the screen itself, not inferred from timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Label

from promptcache_tui.store import CallFilter, Store
from promptcache_tui.store import calls as call_log
from promptcache_tui.store.calls import CallLog, Summary
from promptcache_tui.ui.widgets import history_charts
from promptcache_tui.ui.widgets.history_summary import HistoryBreakdown, HistoryTotals, rounded

from .harness import wait_until
from .test_history_screen import SIZE, Host, seed_calls, settled

TERM = "the"  # in three prompts of four


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    asyncio.run(seed_calls(path, 250))
    return path


class Gate:
    """Holds every exact count of a search until `open()`; thresholds low enough that 250
    calls are "many"; and records whether each chart drawing was of exact figures."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.event: asyncio.Event | None = None
        self.charts: list[bool] = []
        monkeypatch.setattr(call_log, "_ESTIMATE_FROM", 60)
        monkeypatch.setattr(call_log, "_SAMPLE_SIZE", 15)
        summary, show_charts = CallLog.summary, history_charts.HistoryCharts.show
        gate = self

        async def held(log: CallLog, filters: CallFilter, **options: Any) -> Summary:
            if filters.search:
                if gate.event is None:
                    gate.event = asyncio.Event()
                await gate.event.wait()
            return await summary(log, filters, **options)

        def charts(chart: Any, *args: Any, **kwargs: Any) -> None:
            gate.charts.append(chart.screen.summary.exact)
            show_charts(chart, *args, **kwargs)

        monkeypatch.setattr(CallLog, "summary", held)
        monkeypatch.setattr(history_charts.HistoryCharts, "show", charts)

    def open(self) -> None:
        if self.event is None:
            self.event = asyncio.Event()
        self.event.set()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    yield Gate(monkeypatch)


async def _search(pilot: Any, term: str) -> None:
    """Type `term` into the search (applied after a pause; the shown tab stays)."""
    screen = await settled(pilot)
    screen.query_one("#filter-search", Input).value = term
    await wait_until(pilot, lambda: screen.filters.search == (term or None), what="the search")


async def _exact(db_path: Path, filters: CallFilter, *, grouped: bool = True) -> Summary:
    async with await Store.open(db_path) as store:
        return await store.calls.summary(filters, grouped=grouped)


def _text(widget: Any) -> str:
    return str(widget.render())


async def test_the_totals_show_an_estimate_then_the_exact_figures(
    db_path: Path, gate: Gate
) -> None:
    gate.open()  # (the reference count below)
    exact = await _exact(db_path, CallFilter(search=TERM), grouped=False)
    gate.event = None
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, TERM)
        screen = pilot.app.screen
        totals = screen.query_one(HistoryTotals)
        await wait_until(
            pilot,
            lambda: screen.summary is not None and not screen.summary.exact,
            what="the estimate",
        )
        await pilot.pause()
        sample = screen.summary.sample
        shown = _text(totals)
        assert shown.startswith("≈ ") and "calls (estimate, counting exactly…)" in shown
        assert f"estimated from a sample of {sample:,} matching calls" in shown
        assert totals.has_class("-pending")  # muted: not the final figures
        assert screen.totals_pending
        assert " of " not in _text(screen.query_one("#history-status", Label))  # no count yet
        gate.open()
        await settled(pilot)
        assert screen.summary is not None and screen.summary.exact
        assert screen.summary.totals == exact.totals
        shown = _text(totals)
        assert shown.startswith(f"{exact.totals.calls:,} calls")
        assert "estimate" not in shown and "≈" not in shown
        assert not totals.has_class("-pending")
        status = _text(screen.query_one("#history-status", Label))
        assert f"of {exact.totals.calls:,} calls" in status


async def test_the_breakdown_shows_the_estimate_marked_and_the_charts_wait(
    db_path: Path, gate: Gate
) -> None:
    gate.open()
    exact = await _exact(db_path, CallFilter(search=TERM))
    gate.event = None
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await pilot.press("2")
        await _search(pilot, TERM)
        breakdown = screen.query_one(HistoryBreakdown)
        table = breakdown.query_one("#by-context", DataTable)

        def contexts() -> int:
            return sum(
                int(str(table.get_row_at(i)[1]).replace(",", "")) for i in range(table.row_count)
            )

        await wait_until(pilot, lambda: breakdown.has_class("-estimate"), what="the estimate")
        await pilot.pause()
        assert screen.summary is not None and not screen.summary.exact
        assert contexts() == sum(t.calls for _, t in screen.summary.by_context)
        note = _text(breakdown.query_one("#breakdown-estimate", Label))
        assert f"estimates from a sample of {screen.summary.sample:,} calls" in note
        gate.open()
        await settled(pilot)
        await wait_until(pilot, lambda: not breakdown.has_class("-estimate"), what="exact")
        assert contexts() == exact.totals.calls
        # The charts tab: an estimate arrives, but the charts wait for the exact figures.
        await _search(pilot, "")
        await pilot.press("3")
        await settled(pilot)
        gate.event = None
        await _search(pilot, TERM)
        await wait_until(
            pilot,
            lambda: screen.summary is not None and not screen.summary.exact,
            what="the estimate",
        )
        await pilot.pause()
        gate.open()
        await settled(pilot)
    assert gate.charts and all(gate.charts)  # the charts never drew an estimate


async def test_a_search_with_few_candidates_is_counted_exactly_at_once(
    db_path: Path, gate: Gate
) -> None:
    gate.open()
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, "rabbit")  # in one prompt of four: few enough to count at once
        screen = await settled(pilot)
        assert screen.summary is not None and screen.summary.exact
        assert "estimate" not in _text(screen.query_one(HistoryTotals))


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
