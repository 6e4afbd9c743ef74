"""The history screen in a tiny host app: pages, filters, totals, drill-down, export, snapshots.

Update the snapshots after a deliberate UI change:
`pytest tests/ui/test_history_screen.py --snapshot-update`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Select, TabbedContent

from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, LoggedBreakpoint, iso_utc
from promptcache_tui.export import write
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.screens.history import (
    CallDetailScreen,
    ExportDialog,
    HistoryScreen,
    PageLoaded,
)
from promptcache_tui.ui.widgets.bar_chart import BarChart
from promptcache_tui.ui.widgets.history_table import HistoryTable

from .harness import FROZEN_EPOCH, FakeClock, wait_until

SIZE = (160, 44)
DAY = 86_400
PRICES = {
    "claude-sonnet-4-6": Prices(3.0, 15.0),
    "claude-haiku-4-5": Prices(1.0, 5.0),
    "claude-sonnet-5": Prices(None, None),
}
PROMPTS = (
    "What does the refund policy say?",
    "Summarise chapter two.",
    "Who is the White Rabbit?",
    "List the termination clauses.",
)


def make_calls(count: int, *, days: int = 10, seed: int = 11) -> list[CallRecord]:
    """Deterministic calls over the `days` before the frozen clock, oldest first."""
    rng = random.Random(seed)
    stamps = sorted(FROZEN_EPOCH - rng.random() * days * DAY for _ in range(count))
    calls = []
    for i, at in enumerate(stamps):
        context = ("alice", "handbook", "alice", "contracts")[i % 4]
        model = ("claude-sonnet-4-6", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-sonnet-5")[
            rng.randrange(4)
        ]
        kind = ("chat", "chat", "ask", "warm")[rng.randrange(4)]
        failed = i % 17 == 5
        hit = not failed and i % 3 != 0
        usage = (
            Usage()
            if failed
            else Usage.from_counts(
                input_tokens=20 + i % 50,
                cache_creation_input_tokens=0 if hit else 4000,
                cache_read_input_tokens=4000 if hit else 0,
                output_tokens=0 if kind == "warm" else 100 + i % 300,
            )
        )
        calls.append(
            CallRecord(
                ts=iso_utc(at),
                kind=kind,
                model=model,
                status="error" if failed else "ok",
                context=context,
                error="overloaded_error: Overloaded" if failed else None,
                usage=usage,
                prices=PRICES[model],
                ttft_ms=None if kind == "warm" else 420.0,
                duration_ms=1300.0,
                cache_miss_reason=None if hit or failed else "first write",
                request_id=f"req_{i:04d}",
                message_id=None if failed else f"msg_{i:04d}",
                stop_reason=None if failed else "end_turn",
                prompt=None if kind == "warm" else PROMPTS[i % 4],
                answer=None if kind == "warm" or failed else f"Answer number {i}.",
                breakpoints=(LoggedBreakpoint(0, "5m", f"hash{i % 4:02d}", 4000, not failed, 0),),
            )
        )
    return calls


async def seed_calls(path: Path, count: int) -> None:
    """Store `count` calls at `path`."""
    async with await Store.open(path) as store:
        await store.calls.log_many(make_calls(count))


class Host(App[None]):
    """Just enough app to push the history screen, on a frozen clock, without cursor blink,
    laid out by the app's own breakpoints."""

    HORIZONTAL_BREAKPOINTS = PromptCacheApp.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = PromptCacheApp.VERTICAL_BREAKPOINTS

    def __init__(self, db_path: Path, *, page_size: int = 100) -> None:
        super().__init__()
        self.db_path = db_path
        self.page_size = page_size
        self.clock = FakeClock()

    def compose(self) -> ComposeResult:
        yield Label("host")

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._settle)
        self.push_screen(
            HistoryScreen(db_path=self.db_path, clock=self.clock, page_size=self.page_size)
        )

    def _settle(self, screen: Screen[Any]) -> None:
        def no_blink() -> None:
            for widget in screen.query("Input"):
                widget.cursor_blink = False  # type: ignore[attr-defined]

        self.call_after_refresh(no_blink)


def history(pilot: Pilot[Any]) -> HistoryScreen:
    """The history screen under test (it may have a dialog above it)."""
    return next(s for s in pilot.app.screen_stack if isinstance(s, HistoryScreen))


async def settled(pilot: Pilot[Any]) -> HistoryScreen:
    """Wait until the current filter's page and totals are both on screen."""
    await wait_until(
        pilot,
        lambda: any(isinstance(s, HistoryScreen) for s in pilot.app.screen_stack),
        what="the screen",
    )
    screen = history(pilot)
    await wait_until(
        pilot,
        lambda: not screen.page_pending and not screen.totals_pending,
        what="the page and the totals",
    )
    await pilot.pause()
    return screen


def table_ids(screen: HistoryScreen) -> list[int]:
    return list(screen.query_one(HistoryTable).ids)


def column(screen: HistoryScreen, key: str) -> list[str]:
    table = screen.query_one(HistoryTable)
    return [table.cells(row)[key] for row in range(table.row_count)]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    asyncio.run(seed_calls(path, 250))
    return path


async def reference(db_path: Path, filters: CallFilter) -> list[CallRecord]:
    async with await Store.open(db_path) as store:
        return await store.calls.history(filters, limit=None)


# -- pages ---------------------------------------------------------------------------------


async def test_first_page_is_newest_first_and_more_pages_load_as_you_scroll(db_path: Path) -> None:
    everything = [int(r.id or 0) for r in await reference(db_path, CallFilter())]
    app = Host(db_path, page_size=100)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        assert table_ids(screen) == everything[:100]
        status = str(screen.query_one("#history-status", Label).render())
        assert "showing 100 of 250 calls" in status
        assert screen.summary is not None and screen.summary.totals.calls == 250
        table = screen.query_one(HistoryTable)
        table.focus()
        for loaded in (200, 250):  # End reaches the last loaded row, which asks for more
            await pilot.press("end")
            await wait_until(pilot, lambda n=loaded: table.row_count == n, what=f"{loaded} rows")
        assert table.complete
        assert table_ids(screen) == everything  # each call once, in order
        assert len(set(table_ids(screen))) == 250


async def test_an_empty_log_says_so(tmp_path: Path) -> None:
    app = Host(tmp_path / "empty.sqlite3")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        assert screen.query_one(HistoryTable).row_count == 0
        assert "no calls logged yet" in str(screen.query_one("#history-status", Label).render())


async def test_stale_pages_are_dropped(db_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        before = table_ids(screen)
        screen.post_message(PageLoaded(screen.generation - 1, [], False, True, 0.0))
        await pilot.pause()
        assert table_ids(screen) == before


# -- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("select_id", "value", "filters"),
    [
        ("filter-context", "handbook", CallFilter(context="handbook")),
        ("filter-model", "claude-sonnet-5", CallFilter(model="claude-sonnet-5")),
        ("filter-kind", "warm", CallFilter(kind="warm")),
        ("filter-status", "error", CallFilter(status="error")),
    ],
)
async def test_each_menu_filters_the_rows_and_the_totals(
    db_path: Path, select_id: str, value: str, filters: CallFilter
) -> None:
    expected = await reference(db_path, filters)
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await wait_until(
            pilot,
            lambda: len(screen.query_one("#filter-context", Select)._options) > 1,
            what="the menus",
        )
        screen.query_one(f"#{select_id}", Select).value = value
        await wait_until(pilot, lambda: screen.filters == filters, what="the filter")
        screen = await settled(pilot)
        assert table_ids(screen) == [int(r.id or 0) for r in expected][:100]
        assert screen.summary is not None
        assert screen.summary.totals.calls == len(expected)
        known = [r.cost.cost_usd for r in expected if r.cost.cost_usd is not None]
        if known:
            assert screen.summary.totals.cost_usd == pytest.approx(sum(known))
        else:
            assert screen.summary.totals.cost_usd is None


async def test_menus_combine_and_clear(db_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        screen.query_one("#filter-kind", Select).value = "chat"
        screen.query_one("#filter-status", Select).value = "ok"
        await wait_until(pilot, lambda: screen.filters == CallFilter(kind="chat", status="ok"))
        await settled(pilot)
        assert set(column(screen, "kind")) == {"chat"} and set(column(screen, "status")) == {"ok"}
        screen.query_one(HistoryTable).focus()
        await pilot.press("c")
        await wait_until(pilot, lambda: screen.filters == CallFilter())
        await settled(pilot)
        assert screen.summary is not None and screen.summary.totals.calls == 250


async def test_a_date_range_is_exact_and_to_includes_its_day(db_path: Path) -> None:
    filters = CallFilter(
        since="2026-11-20T06:30:00.000000+00:00", until="2026-11-23T00:00:00.000000+00:00"
    )
    expected = await reference(db_path, filters)
    assert 0 < len(expected) < 250
    app = Host(db_path, page_size=500)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await pilot.click("#filter-since")
        await pilot.press(*"2026-11-20T06:30", "enter")
        await pilot.click("#filter-until")
        await pilot.press(*"2026-11-22", "enter")
        await wait_until(pilot, lambda: screen.filters == filters, what="the date range")
        await settled(pilot)
        assert table_ids(screen) == [int(r.id or 0) for r in expected]
        assert screen.summary is not None and screen.summary.totals.calls == len(expected)
        assert [day for day, _ in screen.summary.by_day] == [
            "2026-11-20",
            "2026-11-21",
            "2026-11-22",
        ]


async def test_a_span_counts_back_from_the_clock_and_a_bad_date_is_flagged(db_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await pilot.click("#filter-since")
        await pilot.press("2", "d", "enter")
        await wait_until(pilot, lambda: screen.filters.since is not None)
        assert screen.filters.since == "2026-11-24T10:00:00.000000+00:00"
        await settled(pilot)
        before = screen.filters
        since = screen.query_one("#filter-since", Input)
        since.focus()
        since.value = "last tuesday"
        await pilot.press("enter")
        await pilot.pause()
        assert since.has_class("-invalid")
        assert screen.filters.since is None  # the bad field is left out, the rest stays
        assert screen.filters != before


async def test_search_matches_prompts_as_you_type(db_path: Path) -> None:
    expected = await reference(db_path, CallFilter(search="REFUND"))
    assert expected
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await pilot.press("slash")
        assert screen.focused is screen.query_one("#filter-search", Input)
        await pilot.press(*"REFUND")  # no Enter: a pause in typing applies it
        await wait_until(pilot, lambda: screen.filters.search == "REFUND", what="the search")
        await settled(pilot)
        assert table_ids(screen) == [int(r.id or 0) for r in expected][:100]
        assert screen.summary is not None and screen.summary.totals.calls == len(expected)
        await pilot.press("escape")
        assert isinstance(screen.focused, HistoryTable)  # Escape leaves the filters first


# -- breakdowns and charts -----------------------------------------------------------------


async def test_breakdowns_and_charts_follow_the_filter(db_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await pilot.press("2")
        assert screen.query_one(TabbedContent).active == "tab-breakdown"
        by_context = screen.query_one("#by-context", DataTable)
        assert [by_context.get_row_at(i)[0] for i in range(by_context.row_count)] == [
            "alice",
            "contracts",
            "handbook",
        ]
        assert (
            sum(
                int(str(by_context.get_row_at(i)[1]).replace(",", ""))
                for i in range(by_context.row_count)
            )
            == 250
        )
        await pilot.press("3")
        assert screen.query_one(TabbedContent).active == "tab-charts"
        cost = screen.query_one("#chart-cost", BarChart)
        assert cost.bars is not None and len(cost.bars.values) == 11  # ten days and today
        before = list(cost.bars.values)
        screen.query_one("#filter-context", Select).value = "handbook"
        await wait_until(pilot, lambda: screen.filters.context == "handbook")
        await settled(pilot)
        assert list(cost.bars.values) != before  # the shown tab follows at once
        assert by_context.row_count == 3  # a hidden one waits until it is shown
        await pilot.press("2")
        await wait_until(pilot, lambda: by_context.row_count == 1, what="the breakdown")


async def test_a_search_counts_its_breakdowns_only_when_they_are_shown(db_path: Path) -> None:
    expected = await reference(db_path, CallFilter(search="chapter"))
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        await pilot.click("#filter-search")
        await pilot.press(*"chapter", "enter")
        await wait_until(pilot, lambda: screen.filters.search == "chapter")
        await settled(pilot)
        assert screen.summary is not None and not screen.summary.grouped
        assert screen.summary.totals.calls == len(expected)
        await pilot.press("2")
        await wait_until(
            pilot,
            lambda: screen.summary is not None and screen.summary.grouped,
            what="the breakdowns",
        )
        await settled(pilot)
        table = screen.query_one("#by-context", DataTable)
        await wait_until(pilot, lambda: table.row_count > 0, what="the breakdown table")
        counts = {
            str(table.get_row_at(i)[0]): int(str(table.get_row_at(i)[1]))
            for i in range(table.row_count)
        }
        assert counts == {
            c: sum(1 for r in expected if r.context == c)
            for c in {r.context or "" for r in expected}
        }


# -- the table -----------------------------------------------------------------------------


async def test_keys_and_clicks_move_the_cursor_and_open_a_call(db_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        table = screen.query_one(HistoryTable)
        table.focus()
        await pilot.press("down", "down", "pagedown", "up")
        assert table.cursor_row == 2 + (table.size.height - 2) - 1
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.click(HistoryTable, offset=(5, 3))  # the header is line 0
        assert table.cursor_row == 2
        await pilot.click(HistoryTable, offset=(5, 3))  # a click on the cursor row opens it
        await wait_until(pilot, lambda: isinstance(app.screen, CallDetailScreen))
        assert app.screen.record.id == table.ids[2]  # type: ignore[attr-defined]


async def test_cells_are_text_not_markup(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        await store.calls.log(
            CallRecord(
                ts="2026-11-26T09:00:00.000000+00:00",
                kind="ask",
                model="m",
                status="error",
                context="[bold]ctx",
                error="invalid_request_error: [red]bad[/red]\nsecond line",
            )
        )
    app = Host(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        cells = screen.query_one(HistoryTable).cells(0)
        assert cells["context"] == "[bold]ctx"
        assert cells["note"] == "invalid_request_error: [red]bad[/red] second line"  # not parsed


# -- drill-down ----------------------------------------------------------------------------


async def test_enter_shows_the_call_in_full(db_path: Path) -> None:
    newest = (await reference(db_path, CallFilter(kind="chat", status="ok")))[0]
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        screen.query_one("#filter-kind", Select).value = "chat"
        screen.query_one("#filter-status", Select).value = "ok"
        await wait_until(pilot, lambda: screen.filters == CallFilter(kind="chat", status="ok"))
        await settled(pilot)
        screen.query_one(HistoryTable).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CallDetailScreen), what="the detail")
        detail = app.screen
        assert isinstance(detail, CallDetailScreen) and detail.record.id == newest.id
        shown = " ".join(str(w.render()) for w in detail.query("Static"))
        assert PROMPTS[(int(newest.id or 0) - 1) % 4] in shown  # make_calls: id = index + 1
        assert f"Answer number {int(newest.id or 0) - 1}." in shown
        assert "prices in effect" in shown and "cache miss reason" in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen))


# -- export --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["calls.csv", "calls.json"])
async def test_export_writes_the_filtered_calls(db_path: Path, tmp_path: Path, name: str) -> None:
    target = tmp_path / "out" / name
    target.parent.mkdir()
    filters = CallFilter(context="alice")
    expected = io.StringIO()
    write(await reference(db_path, filters), expected, name.rsplit(".", 1)[1])
    app = Host(db_path, page_size=20)  # the export is not limited to what is on screen
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        screen.query_one("#filter-context", Select).value = "alice"
        await wait_until(pilot, lambda: screen.filters == filters)
        await settled(pilot)
        screen.query_one(HistoryTable).focus()
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog), what="the dialog")
        path_input = app.screen.query_one("#export-path", Input)
        path_input.value = str(target)
        await pilot.pause()
        assert app.screen.query_one("#export-format", Select).value == name.rsplit(".", 1)[1]
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists(), what="the export")
        await wait_until(
            pilot,
            lambda: any("exported" in n.message for n in app._notifications),
            what="the notice",
        )
    assert target.read_text(encoding="utf-8") == expected.getvalue()
    assert not (tmp_path / "out" / f"{name}.part").exists()
    if name.endswith(".json"):
        assert len(json.loads(target.read_text())) == 125
    else:
        assert len(list(csv.DictReader(io.StringIO(target.read_text())))) == 125


async def test_an_export_that_cannot_be_written_is_a_notice(db_path: Path, tmp_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        screen.query_one(HistoryTable).focus()
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "no" / "x.csv")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: any("cannot write" in n.message for n in app._notifications),
            what="the notice",
        )


async def test_a_broken_database_is_a_notice_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_text("not a database\n" * 50)
    app = Host(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot,
            lambda: any("not a SQLite database" in n.message for n in app._notifications),
            what="the notice",
        )
        assert isinstance(app.screen, HistoryScreen)


async def test_escape_closes_the_screen(db_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.screen.query_one(HistoryTable).focus()
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HistoryScreen))


# -- snapshots -----------------------------------------------------------------------------


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    path = tmp_path / "small.sqlite3"
    asyncio.run(seed_calls(path, 40))
    return path


SNAPSHOT_SIZES = [(80, 24), (120, 36), (160, 44)]


@pytest.fixture(params=SNAPSHOT_SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    """Each history snapshot at 80x24, 120x36 and a wide size."""
    return request.param  # type: ignore[no-any-return]


def snapshot(
    snap_compare: Callable[..., bool],
    path: Path,
    steps: Callable[[Pilot[Any]], Any] | None = None,
    size: tuple[int, int] = SIZE,
) -> bool:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await settled(pilot)
        screen.query_one(HistoryTable).focus()
        if steps is not None:
            await steps(pilot)
        await pilot.pause()

    return snap_compare(Host(path), run_before=run_before, terminal_size=size)


def test_snapshot_calls(
    snap_compare: Callable[..., bool], small_db: Path, size: tuple[int, int]
) -> None:
    assert snapshot(snap_compare, small_db, size=size)


def test_snapshot_filtered(
    snap_compare: Callable[..., bool], small_db: Path, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        screen = history(pilot)
        screen.query_one("#filter-context", Select).value = "alice"
        await pilot.click("#filter-search")
        await pilot.press(*"refund", "enter")
        await wait_until(pilot, lambda: screen.filters.search == "refund")
        await settled(pilot)

    assert snapshot(snap_compare, small_db, steps, size)


def test_snapshot_breakdown(
    snap_compare: Callable[..., bool], small_db: Path, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("2")

    assert snapshot(snap_compare, small_db, steps, size)


def test_snapshot_charts(
    snap_compare: Callable[..., bool], small_db: Path, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("3")

    assert snapshot(snap_compare, small_db, steps, size)


def test_snapshot_detail(
    snap_compare: Callable[..., bool], small_db: Path, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down", "enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, CallDetailScreen))

    assert snapshot(snap_compare, small_db, steps, size)


def test_snapshot_export_dialog(
    snap_compare: Callable[..., bool], small_db: Path, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportDialog))
        pilot.app.screen.query_one("#export-path", Input).value = "/tmp/history.json"

    assert snapshot(snap_compare, small_db, steps, size)


async def test_a_search_shorter_than_three_characters_is_not_applied(db_path: Path) -> None:
    app = Host(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settled(pilot)
        everything = table_ids(screen)
        await pilot.press("slash", *"re", "enter")
        await settled(pilot)
        assert screen.filters.search is None
        assert table_ids(screen) == everything
        assert screen.query_one("#filter-search", Input).has_class("-invalid")
