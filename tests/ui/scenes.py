"""Scenes of the real app, shared by the snapshot tests and `screenshots/make_screenshots.py`.

Each scene prepares a data dir, then drives the app with the keyboard to the state shown.
Times come from a frozen `FakeClock`, so countdowns and call times are always the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from promptcache_tui.config import Settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.records import iso_utc
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.demo import demo_context
from promptcache_tui.ui.parts.sidebar import SidebarList
from promptcache_tui.ui.screens.confirm import ConfirmDialog
from promptcache_tui.ui.screens.context_editor import BlocksList, ContextEditorScreen
from promptcache_tui.ui.screens.conversations import ConversationsDialog
from promptcache_tui.ui.screens.help import HelpScreen
from promptcache_tui.ui.screens.history import HistoryScreen
from promptcache_tui.ui.screens.name_dialog import NameDialog
from promptcache_tui.ui.screens.planner import PlannerScreen
from promptcache_tui.ui.screens.welcome import WelcomeScreen
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel
from promptcache_tui.ui.widgets.history_table import HistoryTable
from promptcache_tui.ui.widgets.line_table import LineTable
from promptcache_tui.ui.widgets.usage_panel import UsagePanel

from .harness import FakeClock, chat, make_app, seed, seed_demo, wait_selected, wait_until

FIRST_PROMPT = "Who is Dinah?"
SECOND_PROMPT = "What did the little bottle on the glass table say?"


def welcome_app(settings: Settings) -> PromptCacheApp:
    """An empty data dir: the welcome screen."""
    return make_app(settings, FakeClock())


async def show_welcome(pilot: Pilot[Any]) -> None:
    """Wait for the welcome screen."""
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, WelcomeScreen))
    await pilot.pause()


async def conversation_app(settings: Settings) -> tuple[PromptCacheApp, FakeClock]:
    """The demo context, stored, and an app on a frozen clock."""
    await seed_demo(settings)
    clock = FakeClock()
    return make_app(settings, clock), clock


async def two_contexts_app(settings: Settings) -> PromptCacheApp:
    """The demo and a small notes context (the demo used last), on a frozen clock."""
    notes = Context(
        name="meeting-notes",
        blocks=(Block("system", "Summarise the meeting notes. " * 200),),
        breakpoints=(Breakpoint(0, "5m"),),
    )
    await seed(settings, notes, demo_context())
    return make_app(settings, FakeClock())


async def show_conversation(pilot: Pilot[Any], clock: FakeClock) -> None:
    """Two chats 30 s apart, then 250 s later: the 1h entry warm, the 5m one expiring."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_selected(pilot, "alice-demo")
    await chat(pilot, FIRST_PROMPT)
    clock.advance(30)
    await chat(pilot, SECOND_PROMPT)
    clock.advance(250)
    await app.main.tick()
    app.clear_notifications()
    await pilot.pause()


async def show_editor(pilot: Pilot[Any]) -> None:
    """The demo context in the editor, the book's block highlighted."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_selected(pilot, "alice-demo")
    await pilot.press("f2")
    await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
    await pilot.press("ctrl+l")
    blocks = app.screen.query_one(BlocksList)
    await wait_until(pilot, lambda: blocks.has_focus)
    blocks.highlighted = 1
    app.clear_notifications()
    await pilot.pause()


async def show_keep_warm(pilot: Pilot[Any], clock: FakeClock) -> None:
    """The conversation, keep-warm turned on, then 25 s before the 5m entry expires: a ping."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await show_conversation(pilot, clock)
    await pilot.press("f7")
    await wait_until(
        pilot,
        lambda: (
            app.main.ctx is not None and app.main.ctx.keep_warm and bool(app.main.keep_warm.targets)
        ),
    )
    clock.advance(25)
    await app.main.tick()
    await wait_until(pilot, lambda: app.main.keeper.pings == 1 and not app.main.keep_warm.in_flight)
    if app.main.has_class("-narrow"):
        app.main.show_view("calls")  # the ping's row and the counter
    app.clear_notifications()
    await pilot.pause()


async def show_planner(pilot: Pilot[Any], clock: FakeClock) -> None:
    """The conversation, then the TTL planner for a call every 6 minutes."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await show_conversation(pilot, clock)
    await pilot.press("f9")
    await wait_until(pilot, lambda: isinstance(app.screen, PlannerScreen))
    screen = app.screen
    assert isinstance(screen, PlannerScreen)
    screen.query_one("#planner-gap", Input).value = "6m"
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.plan is not None and screen.plan.gap_s == 360)
    app.clear_notifications()
    await pilot.pause()


async def show_cache_view(pilot: Pilot[Any], clock: FakeClock) -> None:
    """The conversation's breakpoints: beside the chat, or the Cache tab where only one fits."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await show_conversation(pilot, clock)
    if app.main.has_class("-narrow"):
        app.main.show_view("cache")
    await pilot.pause()


async def show_calls_view(pilot: Pilot[Any], clock: FakeClock) -> None:
    """The conversation's calls, the first (a miss) highlighted: its outcome below the table."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await show_conversation(pilot, clock)
    if app.main.has_class("-narrow"):
        app.main.show_view("calls")
    elif app.main.has_class("-short"):
        app.main.cache.show_view("calls")
    table = app.main.query_one("#usage-table", LineTable)
    table.focus()
    table.move_cursor(1)
    await pilot.pause()


async def show_help(pilot: Pilot[Any], clock: FakeClock) -> None:
    """The conversation, then f1: every key of the main screen with its id."""
    await show_conversation(pilot, clock)
    await pilot.press("f1")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
    await pilot.pause()


async def show_delete_confirm(pilot: Pilot[Any]) -> None:
    """f8 on the demo context: the dialog that asks first."""
    await wait_selected(pilot, "alice-demo")
    await pilot.press("f8")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="confirm")
    await pilot.pause()


async def show_rename_refused(pilot: Pilot[Any]) -> None:
    """f3, a name the rules refuse, Enter: the reason, in full, in the dialog."""
    await wait_selected(pilot, "alice-demo")
    await pilot.press("f3")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, NameDialog), what="rename")
    screen = pilot.app.screen
    assert isinstance(screen, NameDialog)
    screen.query_one(Input).value = "my notes!"
    await pilot.press("enter")
    await wait_until(pilot, lambda: bool(screen.error_text), what="the refusal")
    await pilot.pause()


async def show_conversations(pilot: Pilot[Any], clock: FakeClock) -> None:
    """Two conversations stored, then ctrl+o: the list to resume one from."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_selected(pilot, "alice-demo")
    await chat(pilot, FIRST_PROMPT)
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: app.main.conversation_id is None)
    clock.advance(60)
    await chat(pilot, SECOND_PROMPT)
    # The store stamps conversations with the wall clock: put them on the frozen one.
    assert app.store is not None
    async with app.store.db.transaction() as conn:
        await conn.execute(
            "UPDATE conversations SET created_at = ?, updated_at = ?",
            (iso_utc(clock()), iso_utc(clock())),
        )
    app.clear_notifications()
    await pilot.press("ctrl+o")
    await wait_until(
        pilot, lambda: isinstance(app.screen, ConversationsDialog), what="the conversations"
    )
    await pilot.pause()


async def show_contexts(pilot: Pilot[Any]) -> None:
    """Two contexts, ctrl+l: the list (over the chat where it does not fit beside it)."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_selected(pilot, "alice-demo")
    await pilot.press("ctrl+l")
    await wait_until(pilot, lambda: app.main.query_one("#contexts").has_focus, what="the list")
    await pilot.pause()


async def show_history(pilot: Pilot[Any], clock: FakeClock) -> None:
    """The conversation and a warm-up (all three kinds of call), then ctrl+r: the history."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await show_conversation(pilot, clock)
    await pilot.press("f5")  # a warm-up, so all three kinds of row show
    await wait_until(pilot, lambda: not app.main.keep_warm.in_flight, what="the warm call")
    await pilot.press("ctrl+r")
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, HistoryScreen)
            and app.screen.query_one(HistoryTable).row_count >= 3
            and not app.screen.totals_pending
        ),
        what="the history table",
    )
    app.clear_notifications()
    await pilot.pause()


async def show_observed(pilot: Pilot[Any]) -> None:
    """The bot's calls through the proxy and a Claude Code session beside the demo; the
    bot's group chosen from the list: its breakpoint's countdown, its calls, its last miss."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_selected(pilot, "alice-demo")
    await pilot.press("ctrl+l")
    options = app.main.query_one(SidebarList)
    await wait_until(
        pilot,
        lambda: options.has_focus and any(i.group for i in options.items),
        what="the observed groups",
    )
    bot = next(i for i in options.items if i.kind == "proxy")
    options.highlighted = options.get_option_index(bot.key)
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: (
            app.main.group is not None
            and len(app.main.query_one(UsagePanel).records) == 3
            and app.main.query_one(BreakpointPanel).countdowns() == ["4:50 left"]
        ),
        what="the bot's group",
    )
    app.clear_notifications()
    await pilot.pause()


async def show_observed_list(pilot: Pilot[Any]) -> None:
    """The list of contexts and observed traffic, opened over the group (80x24)."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await show_observed(pilot)
    await pilot.press("ctrl+l")
    await wait_until(pilot, lambda: app.main.query_one(SidebarList).has_focus, what="the list")
    await pilot.pause()


# -- every scene, by name: the snapshot tests and the README's screenshots run these ---------

Run = Callable[[Pilot[Any]], Awaitable[None]]

NARROW = (80, 24)
COMMON = (120, 36)  # the README's screenshots
WIDE = (160, 48)


@dataclass(frozen=True)
class Scene:
    """A data dir and app to start, the steps to the state shown, and the sizes to show."""

    prepare: Callable[[Settings], Coroutine[Any, Any, tuple[PromptCacheApp, Run]]]
    sizes: tuple[tuple[int, int], ...] = (NARROW, COMMON)


def _with_clock(steps: Callable[[Pilot[Any], FakeClock], Awaitable[None]]) -> Scene:
    async def prepare(settings: Settings) -> tuple[PromptCacheApp, Run]:
        app, clock = await conversation_app(settings)
        return app, lambda pilot: steps(pilot, clock)

    return Scene(prepare)


def _on_demo(steps: Run) -> Scene:
    async def prepare(settings: Settings) -> tuple[PromptCacheApp, Run]:
        await seed_demo(settings)
        return make_app(settings, FakeClock()), steps

    return Scene(prepare)


async def _welcome(settings: Settings) -> tuple[PromptCacheApp, Run]:
    return welcome_app(settings), show_welcome


async def _contexts(settings: Settings) -> tuple[PromptCacheApp, Run]:
    return await two_contexts_app(settings), show_contexts


def _observed(steps: Run) -> Scene:
    async def prepare(settings: Settings) -> tuple[PromptCacheApp, Run]:
        from .observed import seed_observed  # starts a proxy and a simulator: only here

        await seed_demo(settings)
        clock = FakeClock()
        await seed_observed(settings, clock)
        return make_app(settings, clock), steps

    return Scene(prepare)


SCENES: dict[str, Scene] = {
    "welcome": Scene(_welcome, (NARROW, COMMON, WIDE)),
    "conversation": replace(_with_clock(show_conversation), sizes=(NARROW, COMMON, WIDE)),
    "cache": replace(_with_clock(show_cache_view), sizes=(NARROW,)),
    "calls": replace(_with_clock(show_calls_view), sizes=(NARROW, (100, 30))),
    "keep_warm": _with_clock(show_keep_warm),
    "planner": _with_clock(show_planner),
    "editor": replace(_on_demo(show_editor), sizes=(NARROW, COMMON, WIDE)),
    "help": _with_clock(show_help),
    "delete": _on_demo(show_delete_confirm),
    "rename": _on_demo(show_rename_refused),
    "conversations": _with_clock(show_conversations),
    "contexts": Scene(_contexts, (NARROW, COMMON, WIDE)),
    "history": replace(_with_clock(show_history), sizes=(NARROW, COMMON, WIDE)),
    "observed": _observed(show_observed),
    "observed_list": _observed(show_observed_list),
}
