"""Pick a stored conversation of the selected context to resume."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from promptcache_tui.core.formatting import local_time

if TYPE_CHECKING:
    from promptcache_tui.store.conversations import ConversationSummary


class ConversationsDialog(ModalScreen[int | None]):
    """The context's conversations, most recent first; Enter resumes one."""

    CSS_PATH = "../styles/dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="conversations.cancel"),
    ]

    def __init__(
        self, context: str, conversations: Sequence[ConversationSummary], now: float
    ) -> None:
        super().__init__()
        self.now = now  # wall-clock time, to show each conversation's date or time
        self.context = context
        self.conversations = list(conversations)

    def compose(self) -> ComposeResult:
        with Vertical(id="conversations", classes="dialog"):
            yield Static(f"Conversations of {self.context}", classes="dialog-title", markup=False)
            options = [
                Option(
                    Text(
                        f"{local_time(c.updated_at, self.now)}  {c.title or '(empty)'}"
                        f"  · {c.turns} turns"
                    ),
                    id=str(c.id),
                )
                for c in self.conversations
            ]
            yield OptionList(*options, id="conversation-list")
            yield Label("enter to resume · escape to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
