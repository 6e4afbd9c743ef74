"""The conversation: user turns as plain text, answers as Markdown streamed in place.

The Markdown widget (and its parser) loads with the first answer, not before the first frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from promptcache_tui.core.sanitize import terminal_safe
from promptcache_tui.ui.widgets.steady import SingleLayoutPass

if TYPE_CHECKING:
    from promptcache_tui.core.request import Turn
    from promptcache_tui.ui.widgets.answer_turn import AnswerStream, BackgroundRenderer

# A long conversation shows its tail (resumed or not); the whole of it is still sent.
MAX_SHOWN_TURNS = 40


class UserTurn(Static):
    """A prompt the user sent."""

    DEFAULT_CSS = """
    UserTurn {
        margin: 1 0 0 4;
        padding: 0 1;
        border-left: thick $primary;
        background: $boost;
    }
    """


class ChatView(SingleLayoutPass, VerticalScroll):
    """The chat transcript of the current conversation."""

    DEFAULT_CSS = """
    ChatView {
        height: 1fr;
        padding: 0 1;
    }
    ChatView > .chat-hint {
        color: $text-muted;
        margin: 1 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.can_focus = False  # the prompt input keeps the focus; scroll with the mouse or keys
        self._renderer: BackgroundRenderer | None = None  # for stored answers

    def on_mount(self) -> None:
        """Stay scrolled to the newest text while it streams in."""
        self.anchor()

    async def show_turns(self, turns: Sequence[Turn], hint: str) -> None:
        """Replace the transcript with stored turns (or a hint when there are none)."""
        from promptcache_tui.ui.widgets.answer_turn import AnswerTurn, BackgroundRenderer

        if self._renderer is None:
            self._renderer = BackgroundRenderer(self)
        await self.remove_children()
        widgets: list[Widget] = []
        if not turns:
            widgets.append(Static(hint, classes="chat-hint", markup=False))
        for turn in list(turns)[-MAX_SHOWN_TURNS:]:
            # Stored text came from outside (files, answers): control characters visible.
            if turn.role == "user":
                widgets.append(UserTurn(terminal_safe(turn.text), markup=False))
            else:
                widgets.append(AnswerTurn(terminal_safe(turn.text), renderer=self._renderer))
        await self.mount_all(widgets)
        self.scroll_end(animate=False)
        self.anchor()

    async def start_exchange(self, prompt: str) -> AnswerStream:
        """Show a prompt and an empty answer; return the stream that fills the answer."""
        from promptcache_tui.ui.widgets.answer_turn import AnswerStream, AnswerTurn

        for hint in self.query(".chat-hint"):
            await hint.remove()
        # A long session keeps the same tail a resumed conversation shows: the screen (and
        # every layout pass) stays bounded; the whole conversation is still sent.
        shown = list(self.query("UserTurn, AnswerTurn"))
        if len(shown) + 2 > MAX_SHOWN_TURNS:
            await self.remove_children(shown[: len(shown) + 2 - MAX_SHOWN_TURNS])
        answer = AnswerTurn(classes="-streaming")
        await self.mount_all([UserTurn(terminal_safe(prompt), markup=False), answer])
        self.anchor()
        self.scroll_end(animate=False)
        return AnswerStream(answer)

    def finish_exchange(self) -> None:
        """The answer is complete."""
        for answer in self.query("AnswerTurn.-streaming"):
            answer.remove_class("-streaming")

    async def drop_exchange(self) -> None:
        """Remove the last prompt and its (partial) answer: the call failed."""
        turns = list(self.query("UserTurn, AnswerTurn"))
        for widget in turns[-2:]:
            await widget.remove()
