"""Ask for a context name (rename, duplicate), checked before the dialog closes."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from promptcache_tui.core.context import ContextError, validate_name


class NameDialog(ModalScreen[str | None]):
    """One name; Enter accepts a valid name, Escape cancels."""

    DEFAULT_CSS = """
    NameDialog { align: center middle; }
    NameDialog > Vertical {
        width: 64;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    NameDialog .dialog-title { text-style: bold; }
    NameDialog #name-error { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="name.cancel"),
    ]

    def __init__(self, title: str, initial: str = "", *, taken: set[str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.taken = taken or set()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Input(
                self.initial, placeholder="letters, digits, '.', '_' or '-'", id="name-input"
            )
            yield Label("", id="name-error")
            yield Label("enter to accept · escape to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        settle = getattr(self.app, "settle_cursor", None)
        if settle is not None:
            settle(self)
        self.query_one("#name-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        try:
            validate_name(name)
        except ContextError as exc:
            self.query_one("#name-error", Label).update(str(exc))
            return
        if name in self.taken:
            self.query_one("#name-error", Label).update(f"a context named {name!r} exists")
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        """Close without a name."""
        self.dismiss(None)
