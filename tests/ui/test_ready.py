"""Ready when it looks ready: keys typed before the store opens are kept, and sent."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.config import Settings
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.ui.widgets.chat_view import UserTurn
from promptcache_tui.ui.widgets.prompt_input import PromptInput

from .harness import make_app, seed_demo, wait_selected, wait_until
from .test_main_screen import toasts


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Hold the store closed until the test sets the event (a slow disk, a big database)."""
    opened = Store.open.__func__  # type: ignore[attr-defined]
    event = asyncio.Event()

    async def slow_open(cls: type[Store], path: Path, **options: Any) -> Store:
        await event.wait()
        return await opened(cls, path, **options)  # type: ignore[no-any-return]

    monkeypatch.setattr(Store, "open", classmethod(slow_open))
    return event


async def seed_behind(gate: asyncio.Event, settings: Settings) -> None:
    """The demo context stored, the gate then shut again (the seed opens the store too)."""
    gate.set()
    await seed_demo(settings)
    gate.clear()


async def test_a_prompt_sent_before_the_store_opens_shows_at_once_and_goes_out(
    settings: Settings, gate: asyncio.Event
) -> None:
    await seed_behind(gate, settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.main.query_one(PromptInput)
        await wait_until(pilot, lambda: prompt.has_focus, what="the input")
        assert not app.ready
        await pilot.press(*"Who is Dinah?", "enter")
        # Shown as sent, the input cleared, while the store is still closed.
        await wait_until(pilot, lambda: bool(app.main.query(UserTurn)), what="the prompt shown")
        assert prompt.value == "" and not app.ready
        assert "Opening the store" in str(app.main.query_one(".chat-waiting").render())
        gate.set()
        await wait_until(pilot, lambda: len(app.main.turns) == 2, timeout=20, what="the answer")
        assert app.main.turns[0].text == "Who is Dinah?"
        assert not app.main.query(".chat-waiting")
        assert app.store is not None
        logged = await app.store.calls.history(CallFilter(kind="chat"))
        assert len(logged) == 1 and logged[0].id is not None
        call = await app.store.calls.get(logged[0].id)
        assert call is not None and call.prompt == "Who is Dinah?"


async def test_a_prompt_with_nowhere_to_go_comes_back_to_the_input(
    settings: Settings, gate: asyncio.Event
) -> None:
    app = make_app(settings)  # an empty data dir: no context to send it to
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.main.query_one(PromptInput)
        await wait_until(pilot, lambda: prompt.has_focus, what="the input")
        await pilot.press(*"hello", "enter")
        await wait_until(pilot, lambda: bool(app.main.query(UserTurn)), what="the prompt shown")
        gate.set()
        await wait_until(pilot, lambda: prompt.value == "hello", what="the prompt given back")
        assert any("no context" in text for text in toasts(app))


async def test_a_prompt_is_given_back_when_the_store_cannot_open(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = asyncio.Event()

    async def broken(cls: Any, path: Path, **options: Any) -> Store:
        await started.wait()
        raise OSError(13, "Permission denied", str(path))

    monkeypatch.setattr(Store, "open", classmethod(broken))
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.main.query_one(PromptInput)
        await wait_until(pilot, lambda: prompt.has_focus, what="the input")
        await pilot.press(*"hello", "enter")
        await wait_until(pilot, lambda: bool(app.main.query(UserTurn)), what="the prompt shown")
        started.set()
        await wait_until(pilot, lambda: prompt.value == "hello", what="the prompt given back")
        assert any("Permission denied" in text for text in toasts(app))


async def test_keys_typed_before_the_input_has_the_focus_are_typed_into_it(
    settings: Settings, gate: asyncio.Event
) -> None:
    await seed_behind(gate, settings)
    app = make_app(settings)
    app.main.AUTO_FOCUS = "#nowhere"  # type: ignore[misc]  # nothing has the focus yet
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.focused is None and not app.ready
        # What a terminal delivers for keys typed in line mode: characters, then a newline.
        await pilot.press(*"Who is Dinah?", "ctrl+j")
        assert not app.main.query(UserTurn)  # kept, not lost, not typed anywhere else
        gate.set()
        # The input takes them when it first has the focus (once its context is shown).
        await wait_until(pilot, lambda: len(app.main.turns) == 2, timeout=20, what="the answer")
        assert app.main.turns[0].text == "Who is Dinah?"
        prompt = app.main.query_one(PromptInput)
        assert prompt.has_focus and prompt.value == ""
        # From then on keys go where the focus is, as usual.
        await pilot.press(*"next")
        assert prompt.value == "next"


async def test_the_side_panes_come_after_a_prompt_typed_at_launch_is_shown(
    settings: Settings, gate: asyncio.Event
) -> None:
    """The chat is what is ready first: the cache pane (which has nothing to show before
    the store is open) does not delay a prompt typed at launch, and comes right after it."""
    await seed_behind(gate, settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        prompt = app.main.query_one(PromptInput)
        await wait_until(pilot, lambda: prompt.has_focus, what="the input")
        await pilot.pause()
        assert not app.main.query("#cache-pane")
        await pilot.press(*"Who is Dinah?", "enter")
        await wait_until(pilot, lambda: bool(app.main.query("#cache-pane")), what="the pane")
        assert app.main.query(UserTurn) and not app.ready  # after the prompt, store still shut
        gate.set()
        await wait_until(pilot, lambda: len(app.main.turns) == 2, timeout=20, what="the answer")
        assert app.main.cache.usage.query("#usage-table")  # the call is in the side panel


async def test_without_typing_the_side_panes_come_with_the_contexts(
    settings: Settings, gate: asyncio.Event
) -> None:
    gate.set()
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: bool(app.main.query("#cache-pane")), what="the pane")
        await wait_until(pilot, lambda: bool(app.main.query("#observed-pane")), what="observed")
        await wait_until(pilot, lambda: app.main.ctx is not None, what="the context")


async def test_quitting_during_start_up_leaves_without_an_error(
    settings: Settings, gate: asyncio.Event
) -> None:
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(*"hi", "enter", "ctrl+q")  # the panes are due as the app closes
    assert app.return_code == 0


@pytest.mark.parametrize("store_opens", [True, False], ids=["settled", "store failed"])
async def test_the_garbage_collector_is_back_on_once_the_app_has_started(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, store_opens: bool
) -> None:
    """`run_tui` turns the collector off for the start-up; the app must turn it back on,
    whether the backend settles or fails to open (else memory would only grow)."""
    if store_opens:
        await seed_demo(settings)
    else:

        async def broken(cls: Any, path: Path, **options: Any) -> Store:
            raise OSError(13, "Permission denied", str(path))

        monkeypatch.setattr(Store, "open", classmethod(broken))
    app = make_app(settings)
    gc.disable()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            if store_opens:
                await wait_selected(pilot, "alice-demo")
            else:
                await wait_until(
                    pilot,
                    lambda: any("Permission denied" in text for text in toasts(app)),
                    what="the failure shown",
                )
            await wait_until(pilot, gc.isenabled, timeout=20, what="the collector on")
    finally:
        gc.enable()
