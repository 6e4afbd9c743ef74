"""Scenes of the real app, shared by the snapshot tests and `screenshots/make_screenshots.py`.

Each scene prepares a data dir, then drives the app with the keyboard to the state shown.
Times come from a frozen `FakeClock`, so countdowns and call times are always the same.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from promptcache_tui.config import Settings
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.screens.context_editor import BlocksList, ContextEditorScreen
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
