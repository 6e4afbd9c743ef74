"""Scenes of the real app, shared by the snapshot tests and `screenshots/make_screenshots.py`.

Each scene prepares a data dir, then drives the app with the keyboard to the state shown.
Times come from a frozen `FakeClock`, so countdowns and call times are always the same.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from promptcache_tui.config import Settings
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.screens.context_editor import BlocksList, ContextEditorScreen
from promptcache_tui.ui.screens.planner import PlannerScreen
from promptcache_tui.ui.screens.welcome import WelcomeScreen

from .harness import FakeClock, chat, make_app, seed_demo, wait_selected, wait_until

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
            app.main.ctx is not None and app.main.ctx.keep_warm and bool(app.main._warm_targets)
        ),
    )
    clock.advance(25)
    await app.main.tick()
    await wait_until(pilot, lambda: app.main.keeper.pings == 1 and not app.main._warming)
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
