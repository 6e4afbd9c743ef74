"""The usage panel's table: rows on screen newest first, a keyboard and mouse cursor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord
from promptcache_tui.ui.widgets.usage_panel import MAX_ROWS, SessionTotals, UsagePanel
from promptcache_tui.ui.widgets.usage_table import CallsTable

from .harness import wait_until


def calls(n: int) -> list[CallRecord]:
    """n calls, newest first; every 7th failed."""
    return [
        CallRecord(
            ts=f"2026-11-26T10:{59 - i // 60:02}:{59 - i % 60:02}+00:00",
            kind="chat",
            model="m",
            context="notes",
            status="error" if i % 7 == 3 else "ok",
            error="API error 529 overloaded_error: busy" if i % 7 == 3 else None,
            cache_miss_reason=f"reason {i}",
        )
        for i in range(n)
    ]


# The rows' day, at 12:00 UTC: "today" for the panel, whatever day the suite runs.
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()


class Host(App[None]):
    def __init__(self, now: float = NOON) -> None:
        super().__init__()
        self.now = now

    def compose(self) -> ComposeResult:
        yield UsagePanel(lambda: self.now)


def screen_text(app: App[None]) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_rows_show_newest_first_and_a_new_call_goes_on_top() -> None:
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        panel = app.query_one(UsagePanel)
        records = calls(3)
        panel.show(records[1:], "notes")
        await pilot.pause()
        text = screen_text(app)
        assert text.index("10:59:58") < text.index("10:59:57")
        panel.add(records[0])
        await pilot.pause()
        text = screen_text(app)
        assert text.index("10:59:59") < text.index("10:59:58") < text.index("10:59:57")
        assert app.query_one(CallsTable).row_count == 3


async def test_the_cursor_moves_with_keys_and_clicks_and_the_detail_follows() -> None:
    app = Host()
    async with app.run_test(size=(100, 16)) as pilot:
        panel = app.query_one(UsagePanel)
        table = app.query_one(CallsTable)
        records = calls(40)
        panel.show(records, "notes")
        table.focus()
        await pilot.pause()
        assert "reason 0" in panel.detail_text
        await pilot.press("down", "down", "down")
        await wait_until(
            pilot,
            lambda: "failed: API error 529" in panel.detail_text,
            what="the failed call's detail",
        )
        await pilot.press("end")
        await wait_until(pilot, lambda: "reason 39" in panel.detail_text, what="the last row")
        # The last row was scrolled into view.
        assert table.scroll_offset.y > 0 and "10:59:20" in screen_text(app)
        await pilot.press("home")
        await wait_until(pilot, lambda: table.scroll_offset.y == 0, what="back to the top")
        await pilot.click(CallsTable, offset=(3, 3))  # the header, then rows 0, 1, 2
        await wait_until(pilot, lambda: table.cursor_row == 2, what="a click on row 2")
        assert "reason 2" in panel.detail_text


@pytest.mark.parametrize("shown", [MAX_ROWS - 1, MAX_ROWS], ids=["room left", "table full"])
async def test_followed_calls_keep_the_highlight_on_the_call_looked_at(shown: int) -> None:
    app = Host()
    async with app.run_test(size=(100, 16)) as pilot:
        panel = app.query_one(UsagePanel)
        table = app.query_one(CallsTable)
        records = [replace(r, id=10_000 - i) for i, r in enumerate(calls(shown))]
        panel.show(records, "notes")
        table.focus()
        await pilot.press("down", "down", "down")
        await wait_until(pilot, lambda: table.cursor_row == 3, what="row 3 highlighted")
        looked_at = records[3].id
        # Another process logged a new call and settled an older one shown.
        newer = replace(records[0], id=20_000, ts="2026-11-26T11:00:00+00:00")
        settled = replace(records[10], cache_miss_reason="settled since")
        panel.follow([newer, settled])
        await pilot.pause()
        assert panel.records[0].id == 20_000 and len(panel.records) == min(shown + 1, MAX_ROWS)
        assert panel.records[table.cursor_row].id == looked_at


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so the expected text does not depend on the runner's zone."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_rows_of_other_days_show_their_date_in_full() -> None:
    week_later = NOON + 7 * 86400
    year_later = NOON + 400 * 86400
    for now, shown in ((NOON, "10:59:59"), (week_later, "11-26 10:59"), (year_later, "2026-11-26")):
        app = Host(now)
        async with app.run_test(size=(100, 12)) as pilot:
            panel = app.query_one(UsagePanel)
            table = app.query_one(CallsTable)
            panel.show(calls(1), "notes")
            await wait_until(pilot, lambda t=table: t.row_count == 1, what="the row")
            text = screen_text(app)
            assert shown in text, (now, text)
            assert "…" not in text.splitlines()[2], "the time cell is cut off"
            assert panel.detail_text.startswith(shown)


def rows_alive(word: str) -> int:
    """Drawn rows (Textual strips) alive anywhere in the process that contain `word`."""
    import gc

    from textual.strip import Strip

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Strip) and word in o.text)


async def test_rows_pushed_far_out_of_view_by_new_calls_are_released() -> None:
    # Each drawn row also holds the styled copies Textual made of it; kept for every row,
    # a long session's table grew ~13 strips per call until it held 200 rows.
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        panel = app.query_one(UsagePanel)
        panel.show([], "notes")
        for record in calls(90)[::-1]:  # oldest first, as they are logged
            panel.add(record)
            await pilot.pause()
        assert "10:59:59" in screen_text(app)  # the newest call on top
        assert rows_alive("10:58:") == 0  # the 30 oldest calls, drawn when they were new
        assert rows_alive("10:59:5") > 0


async def test_session_totals_count_every_call_and_say_when_prices_are_unknown() -> None:
    sonnet, unpriced = Prices(input=3.0, output=15.0), Prices(None, None)
    first = Usage.from_counts(input_tokens=13, cache_creation_input_tokens=1217, output_tokens=226)
    second = Usage.from_counts(input_tokens=16, cache_read_input_tokens=1217, output_tokens=60)
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        panel = app.query_one(UsagePanel)
        panel.show([], "notes")
        totals = panel.query_one("#usage-totals", Static)
        assert str(totals.render()) == "this session: no calls yet"
        # The README's seed example: $0.0080 then $0.0013; saved -$0.0009 then $0.0033.
        for record in calls(2):
            panel.add(record)
        panel.add(replace(calls(1)[0], usage=first, prices=sonnet, context="other"))
        panel.add(replace(calls(1)[0], usage=second, prices=sonnet))
        await pilot.pause()
        # 4 calls: 2 without usage or price, the seed's two (one for another context).
        assert str(totals.render()) == (
            "this session: 4 calls · cost $0.0093 · saved $0.0024 · hit 49% (some prices unknown)"
        )
        assert "unknown" not in totals_of([first, second], sonnet)
        assert totals_of([first], unpriced) == (
            "this session: 1 call · cost unknown · saved unknown · hit 0%"
        )


def totals_of(usages: list[Usage], prices: Prices) -> str:
    """The session line for calls of these usages, all at `prices`."""
    totals = SessionTotals()
    for usage in usages:
        totals.add(replace(calls(1)[0], usage=usage, prices=prices))
    return totals.line()
