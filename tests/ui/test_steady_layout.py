"""The chat stays scrolled to its newest line and renders stored answers off the event loop;
the tables beside it sit still."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.strip import Strip
from textual.widget import Widget

from promptcache_tui.core.request import Turn
from promptcache_tui.ui.widgets import answer_turn, chat_view
from promptcache_tui.ui.widgets.answer_turn import AnswerPart, render_answer
from promptcache_tui.ui.widgets.chat_view import ChatView, UserTurn
from promptcache_tui.ui.widgets.line_table import Row
from promptcache_tui.ui.widgets.usage_table import CallsTable

from .harness import wait_until


class CountingTable(CallsTable):
    """The usage table, counting the Resize events it receives."""

    resizes = 0

    def on_resize(self, event: events.Resize) -> None:
        self.resizes += 1


def count_refreshes(widget: Widget) -> list[None]:
    """A list that grows by one each time `widget` is refreshed."""
    calls: list[None] = []
    refresh = widget.refresh

    def counted(*args: Any, **kwargs: Any) -> Widget:
        calls.append(None)
        return refresh(*args, **kwargs)

    widget.refresh = counted  # type: ignore[method-assign]
    return calls


@dataclass(frozen=True)
class Col:
    key: str
    title: str
    width: int
    right: bool


COLUMNS = [Col("call", "call", 8, False), Col("cost", "cost", 6, True)]


def rows(n: int) -> list[Row]:
    return [Row(i, (f"call {i}", f"{i / 100:.2f}")) for i in range(n)]


class Host(App[None]):
    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ChatView(id="chat")
            yield CountingTable(COLUMNS)

    def on_mount(self) -> None:
        # More rows than fit: a vertical scrollbar.
        self.query_one(CountingTable).set_rows(rows(60))


async def test_the_chat_follows_the_stream_and_the_table_is_not_resized_by_it() -> None:
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        chat, table = app.query_one(ChatView), app.query_one(CountingTable)
        await pilot.pause()
        resizes, scrollbar = table.resizes, table.show_vertical_scrollbar
        redraws = count_refreshes(table.vertical_scrollbar)
        stream = await chat.start_exchange("Tell me a long story")
        for i in range(120):
            await stream.write(f"- line {i} of the story\n")
            if i % 10 == 0:  # let it lay out and paint as it streams
                await wait_until(
                    pilot,
                    lambda i=i: any(f"line {i} " in p.text for p in app.query(AnswerPart)),
                    what=f"line {i} shown",
                )
        await stream.stop()
        chat.finish_exchange()

        def at_the_end() -> bool:
            last = list(app.query(AnswerPart))[-1]
            return (
                "line 119" in last.text
                and chat.max_scroll_y > 0
                and chat.scroll_y == chat.max_scroll_y
                and chat.region.bottom - 2 <= last.region.bottom <= chat.region.bottom
            )

        # The newest line is in view: the chat is scrolled to its end.
        await wait_until(pilot, at_the_end, what="the chat scrolled to the last line")
        await pilot.pause()  # and the frame after it painted
        # Laid out some sixty times beside it, the table was not resized or redrawn, and kept
        # its scrollbar. (Textual alone redraws the scrollbar on every layout pass.)
        assert table.resizes == resizes
        assert redraws == []
        assert table.show_vertical_scrollbar == scrollbar is True


async def test_a_real_resize_still_reaches_the_table() -> None:
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(CountingTable)
        await pilot.pause()
        before = table.resizes
        await pilot.resize_terminal(100, 30)
        await wait_until(pilot, lambda: table.resizes > before, what="a Resize")
        assert table.size.height > 18
        table.set_rows(rows(61))
        await pilot.pause()
        assert table.row_count == 61 and table.virtual_size.height == 62  # and the header


async def test_a_long_stored_conversation_renders_off_the_loop_and_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_loop: list[str] = []

    def render(*args: Any) -> list[Strip]:
        if threading.current_thread() is threading.main_thread():
            on_loop.append(args[1][:20])
        return render_answer(*args)

    monkeypatch.setattr(answer_turn, "render_answer", render)
    app = Host()
    async with app.run_test(size=(100, 24)) as pilot:
        chat = app.query_one(ChatView)
        answer = "".join(f"- point {i}: " + "the Queen shouted " * 6 + "\n" for i in range(40))
        turns = [
            Turn(role, f"Question {i}?" if role == "user" else answer)
            for i in range(12)
            for role in ("user", "assistant")
        ]
        await chat.show_turns(turns, "no turns")
        parts = list(app.query(AnswerPart))
        assert len(parts) == 12  # one widget per stored answer

        def exact(part: AnswerPart) -> bool:
            width = part.size.width
            expected = render_answer(app.console, part.text, width, part.rich_style)
            return part.size.height == len(expected) and all(
                part.render_line(y) == row for y, row in enumerate(expected)
            )

        await wait_until(
            pilot,
            lambda: all(exact(part) for part in parts) and chat.max_scroll_y > 0,
            what="every stored answer rendered at its width",
        )
        await wait_until(
            pilot, lambda: chat.scroll_y == chat.max_scroll_y, what="the chat at the newest answer"
        )
        assert on_loop == []  # no Markdown was rendered on the event loop


async def test_a_long_session_keeps_the_last_40_turns_on_screen() -> None:
    assert chat_view.MAX_SHOWN_TURNS == 40  # the README's figure (tests/test_readme_defaults.py)
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        chat = app.query_one(ChatView)
        for i in range(21):  # 42 turns: the first exchange scrolls out
            stream = await chat.start_exchange(f"Question {i}?")
            await stream.write(f"Answer {i}.")
            await stream.stop()
            chat.finish_exchange()
        await pilot.pause()
        shown = [
            str(turn.render()) if isinstance(turn, UserTurn) else turn.query_one(AnswerPart).text
            for turn in chat.query("UserTurn, AnswerTurn")
        ]
        assert len(shown) == 40
        assert shown[:2] == ["Question 1?", "Answer 1."]
        assert shown[-2:] == ["Question 20?", "Answer 20."]
