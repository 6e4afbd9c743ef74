"""Memory over a long session (issue 16): what the chat no longer shows is released.

Counted, not timed: after a full collection, no row of text (a Textual `Strip`) that the chat
painted for an answer it no longer shows may still be alive.
"""

from __future__ import annotations

import gc
from typing import Any

from textual.pilot import Pilot
from textual.strip import Strip

from promptcache_tui.config import Settings
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.widgets.answer_turn import AnswerPart
from promptcache_tui.ui.widgets.chat_view import MAX_SHOWN_TURNS, ChatView

from .harness import make_app, seed_demo, wait_selected, wait_until

WORD = "Quixotically"  # in no other row on screen


def rows_showing(word: str, *, collect: bool = True) -> int:
    """Painted rows alive anywhere in the process that contain `word` (after a full pass of
    the cyclic collector, unless `collect` is false)."""
    if collect:
        gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Strip) and word in o.text)


def marked_answer(n: int) -> str:
    """An answer of `n` rows (longer than the chat: its scrollbar is there from the start;
    a chat that narrows repaints the answer, which hid the leak)."""
    return "\n".join(f"- {WORD} point {i}: the Rabbit hurried past the hedge." for i in range(n))


async def exchange(pilot: Pilot[Any], chat: ChatView, prompt: str, answer: str) -> None:
    """A prompt and its answer streamed into the chat, as a call shows them."""
    stream = await chat.start_exchange(prompt)
    for line in answer.splitlines(keepends=True):
        await stream.write(line)
    await stream.stop()
    chat.finish_exchange()
    await pilot.pause()


async def settled(pilot: Pilot[Any]) -> ChatView:
    """The app started and its start-up heap frozen (`gc.freeze`): rows drawn from here on
    are visible to `gc.get_objects`."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_selected(pilot)
    await wait_until(
        pilot,
        lambda: all(w.is_finished for w in app.workers if w.group == "backend"),
        what="start-up to settle",
    )
    return app.main.query_one(ChatView)


async def test_a_new_conversation_releases_the_rows_of_the_one_it_replaces(
    settings: Settings,
) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await settled(pilot)
        await exchange(pilot, chat, "Tell me", marked_answer(40))
        await wait_until(pilot, lambda: rows_showing(WORD) >= 20, what="the answer painted")
        await chat.show_turns([], "A new conversation.")
        await pilot.pause()
        await pilot.pause()
        assert rows_showing(WORD) == 0


async def test_an_answer_pushed_out_by_the_turn_cap_releases_its_rows(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await settled(pilot)
        await exchange(pilot, chat, "Tell me", marked_answer(40))
        await wait_until(pilot, lambda: rows_showing(WORD) >= 20, what="the answer painted")
        # Exchanges after it, up to the cap and one more: the marked answer goes.
        for i in range(MAX_SHOWN_TURNS // 2):
            await exchange(pilot, chat, f"Question {i}?", f"Answer {i}: the Queen shouted.")
        assert len(chat.query("UserTurn, AnswerTurn")) == MAX_SHOWN_TURNS
        assert not [part for part in chat.query(AnswerPart) if WORD in part.text]
        await pilot.pause()
        assert rows_showing(WORD) == 0


async def test_a_removed_answer_frees_its_rows_at_once_not_at_the_next_full_collection(
    settings: Settings,
) -> None:
    # A removed widget is cyclic garbage (parent, message queue...) and waits for a rare full
    # pass of the collector; its rows must not wait with it. Nor may a row keep itself alive:
    # Textual's strips cached themselves, so none was freed by its reference count.
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await settled(pilot)
        await exchange(pilot, chat, "Tell me", marked_answer(40))
        await wait_until(pilot, lambda: rows_showing(WORD) >= 20, what="the answer painted")
        gc.disable()
        try:
            await chat.show_turns([], "A new conversation.")
            await pilot.pause()
            await pilot.pause()
            assert rows_showing(WORD, collect=False) == 0
        finally:
            gc.enable()
