"""The TUI warns on a context whose model is retiring or retired, on the app's own clock."""

from __future__ import annotations

from datetime import UTC, datetime

from promptcache_tui.config import Settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.ui.demo import demo_text
from promptcache_tui.ui.screens.context_editor import ContextEditorScreen

from .harness import FakeClock, make_app, seed, wait_selected, wait_until


def _at(year: int, month: int, day: int) -> float:
    return datetime(year, month, day, 12, tzinfo=UTC).timestamp()


async def test_the_breakpoint_panel_names_the_replacement(settings: Settings) -> None:
    book = Context(
        name="legal",
        model="claude-opus-4-5",  # retires 2027-01-22
        blocks=(Block("document", demo_text(), name="alice.txt"),),
        breakpoints=(Breakpoint(0, "1h"),),
    )
    await seed(settings, book)
    clock = FakeClock(_at(2027, 1, 12))  # ten days before
    app = make_app(settings, clock)
    async with app.run_test(size=(110, 40)) as pilot:
        await wait_selected(pilot, "legal")
        shown = [str(w.render()) for w in app.main.query(".bp-warning")]
        assert any("retires on 2027-01-22 (in 10 days)" in w for w in shown), shown
        assert any("claude-opus-4-8" in w for w in shown)


async def test_a_retired_model_says_the_api_refuses_it(settings: Settings) -> None:
    old = Context(
        name="old",
        model="claude-sonnet-4-5",  # retired 2026-11-30
        blocks=(Block("document", demo_text(), name="alice.txt"),),
        breakpoints=(Breakpoint(0, "5m"),),
    )
    await seed(settings, old)
    app = make_app(settings, FakeClock(_at(2026, 12, 1)))
    async with app.run_test(size=(110, 40)) as pilot:
        await wait_selected(pilot, "old")
        shown = [str(w.render()) for w in app.main.query(".bp-warning")]
        assert any("was retired on 2026-11-30" in w and "claude-sonnet-4-6" in w for w in shown)


async def test_the_editor_counts_days_on_the_apps_clock(settings: Settings) -> None:
    book = Context(
        name="legal",
        model="claude-opus-4-5",  # retires 2027-01-22
        blocks=(Block("document", demo_text(), name="alice.txt"),),
        breakpoints=(Breakpoint(0, "1h"),),
    )
    await seed(settings, book)
    app = make_app(settings, FakeClock(_at(2027, 1, 12)))  # ten days before
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_selected(pilot, "legal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
        problems = app.screen.query_one("#editor-problems")
        await wait_until(pilot, lambda: "retires on" in str(problems.render()))
        assert "retires on 2027-01-22 (in 10 days)" in str(problems.render())
