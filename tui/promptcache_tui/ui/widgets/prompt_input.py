"""The chat input: Enter sends the prompt."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from promptcache_tui.ui.messages import PromptSubmitted

# Enter as it arrives when it was typed before the terminal left line mode: a newline.
SUBMIT_KEYS = frozenset({"enter", "ctrl+j", "ctrl+m"})


class PromptInput(Input):
    """A one-line prompt; Enter posts `PromptSubmitted` (the input keeps its text until sent)."""

    class Focused(Message):
        """The input has the focus for the first time: keys typed before can come in."""

        def __init__(self, prompt: PromptInput) -> None:
            super().__init__()
            self.prompt = prompt

        @property
        def control(self) -> PromptInput:
            """The input."""
            return self.prompt

    DEFAULT_CSS = """
    PromptInput {
        height: 3;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "send",
            "Send",
            id="chat.send",
            tooltip="Send the prompt in the input to the selected context",
        ),
    ]

    def action_send(self) -> None:
        """Ask the screen to send what is typed (empty input: nothing happens)."""
        text = self.value.strip()
        if text:
            self.post_message(PromptSubmitted(text))

    _announced = False

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        if not self._announced:
            self._announced = True
            self.post_message(self.Focused(self))

    def take_keys(self, keys: Iterable[events.Key]) -> None:
        """Type keys that arrived before the input existed: characters go in, Enter sends."""
        run: list[str] = []  # characters typed in a row go in as one edit, not one each
        for key in keys:
            if key.key in SUBMIT_KEYS:
                if run:
                    self.insert_text_at_cursor("".join(run))
                    run.clear()
                self.action_send()
            elif key.is_printable and key.character:
                run.append(key.character)
        if run:
            self.insert_text_at_cursor("".join(run))

    def restore(self, prompt: str) -> None:
        """Put an unsent prompt back, ahead of anything typed since."""
        typed = self.value.strip()
        self.value = f"{prompt} {typed}" if typed else prompt
        self.cursor_position = len(self.value)
