"""Save as context: which call's prefix, up to which breakpoint, under which name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from promptcache_tui.core.context import ContextError, validate_name
from promptcache_tui.core.records import CallRecord
from promptcache_tui.core.sanitize import one_line

WHOLE = 0  # the Select's value for "the whole prompt" (a call without breakpoints)


def choices(record: CallRecord, labels: Sequence[str]) -> list[tuple[str, int]]:
    """`up to breakpoint N · label (TTL, ~tokens)`, last first (the default: everything
    the call cached)."""
    out = [
        (
            one_line(
                f"up to breakpoint {b.position + 1} · {label} ({b.ttl}, ~{b.prefix_tokens:,} "
                "tokens)"
            ),
            b.position + 1,
        )
        for b, label in zip(record.breakpoints, labels, strict=False)
    ]
    return list(reversed(out)) or [("the whole prompt (the call marked no breakpoint)", WHOLE)]


class SaveContextDialog(ModalScreen[tuple[str, int | None] | None]):
    """A name and a breakpoint; Enter saves, Escape cancels. Gives (name, breakpoint)."""

    CSS_PATH = "../styles/dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="save_context.cancel"),
    ]

    def __init__(
        self,
        record: CallRecord,
        labels: Sequence[str],
        suggestion: str,
        *,
        taken: set[str] | None = None,
    ) -> None:
        super().__init__()
        self.record = record
        self.options = choices(record, labels)
        self.suggestion = suggestion
        self.taken = {name.casefold() for name in taken or set()}

    def compose(self) -> ComposeResult:
        with Vertical(id="save-context", classes="dialog"):
            yield Static(
                f"Save call {self.record.id}'s prefix as a context", classes="dialog-title"
            )
            yield Static(
                "Its tools, system prompt and messages up to the breakpoint chosen become a "
                "named context with those breakpoints: chat with it, move them in the editor "
                "(f2), plan the TTL (f9).",
                classes="dialog-text",
                markup=False,
            )
            yield Static("copy", classes="dialog-label")
            yield Select(
                self.options, value=self.options[0][1], allow_blank=False, id="save-breakpoint"
            )
            yield Static("as the context named", classes="dialog-label")
            yield Input(
                self.suggestion, placeholder="letters, digits, '.', '_' or '-'", id="save-name"
            )
            yield Static("", id="save-error", classes="dialog-error", markup=False)
            yield Static("enter saves · escape cancels", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save-ok")
                yield Button("Cancel", id="save-cancel")

    def on_mount(self) -> None:
        self.query_one("#save-name", Input).focus()

    @property
    def error_text(self) -> str:
        """Why the name typed was refused ('' when it was not)."""
        return str(self.query_one("#save-error", Static).render())

    @on(Input.Submitted, "#save-name")
    @on(Button.Pressed, "#save-ok")
    def _submit(self) -> None:
        name = self.query_one("#save-name", Input).value.strip()
        try:
            validate_name(name)
        except ContextError as exc:
            self.query_one("#save-error", Static).update(str(exc))
            return
        if name.casefold() in self.taken:
            self.query_one("#save-error", Static).update(f"a context named {name!r} exists")
            return
        chosen = self.query_one("#save-breakpoint", Select).value
        position = int(chosen) if isinstance(chosen, int) else WHOLE
        self.dismiss((name, position or None))

    @on(Button.Pressed, "#save-cancel")
    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
