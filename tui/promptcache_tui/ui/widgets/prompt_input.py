"""The chat input: Enter sends the prompt."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from promptcache_tui.ui.messages import PromptSubmitted


class PromptInput(Input):
    """A one-line prompt; Enter posts `PromptSubmitted` (the input keeps its text until sent)."""

    DEFAULT_CSS = """
    PromptInput {
        height: 3;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "send", "Send", id="chat.send"),
    ]

    def action_send(self) -> None:
        """Ask the screen to send what is typed (empty input: nothing happens)."""
        text = self.value.strip()
        if text:
            self.post_message(PromptSubmitted(text))

    def restore(self, prompt: str) -> None:
        """Put an unsent prompt back, ahead of anything typed since."""
        typed = self.value.strip()
        self.value = f"{prompt} {typed}" if typed else prompt
        self.cursor_position = len(self.value)
