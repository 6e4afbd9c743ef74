"""Ask for a name (a context's, when renaming or duplicating one; an observed group's),
checked before the dialog closes."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from promptcache_tui.core.context import ContextError, validate_name


class NameDialog(ModalScreen[str | None]):
    """One name; Enter accepts a valid name, Escape cancels."""

    CSS_PATH = "../styles/dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="name.cancel"),
    ]

    def __init__(
        self,
        title: str,
        initial: str = "",
        *,
        taken: set[str] | None = None,
        check: Callable[[str], str | None] | None = None,
        placeholder: str = "letters, digits, '.', '_' or '-'",
    ) -> None:
        """`check` replaces the context-name rules: it returns why a name is refused, or
        None."""
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.taken = {name.casefold() for name in taken or set()}
        self.check = check
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="name", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Input(self.initial, placeholder=self.placeholder, id="name-input")
            # A Static: the reason a name is refused wraps instead of being cut.
            yield Static("", id="name-error", classes="dialog-error", markup=False)
            yield Static("enter to accept · escape to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#name-input", Input).focus()

    @property
    def error_text(self) -> str:
        """Why the name typed was refused ('' when it was not)."""
        return str(self.query_one("#name-error", Static).render())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        if self.check is not None:
            problem = self.check(name)
            if problem:
                self.query_one("#name-error", Static).update(problem)
                return
            self.dismiss(name)
            return
        try:
            validate_name(name)
        except ContextError as exc:
            self.query_one("#name-error", Static).update(str(exc))
            return
        if name.casefold() in self.taken:
            self.query_one("#name-error", Static).update(f"a context named {name!r} exists")
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        """Close without a name."""
        self.dismiss(None)
