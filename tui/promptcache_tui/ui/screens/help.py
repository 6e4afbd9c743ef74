"""Help (`f1`, or `?` outside a text field): every key of the screen below, what it does,
and its binding id, the name `keys.toml` remaps it by."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from promptcache_tui.ui.commands import BindingEntry, binding_entries

FOOTNOTE = (
    'Remap a key in keys.toml in the data dir, by id: [keys] then main.warm_now = "f6". '
    "ctrl+p searches these too. Keys a text field uses itself (ctrl+a, ctrl+w...) stay with "
    "it while it has the cursor."
)


def keys_table(entries: list[BindingEntry]) -> Table:
    """The keys as a table that wraps to the width it is given."""
    table = Table(box=None, expand=True, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("key", no_wrap=True)
    table.add_column("what it does · binding id", ratio=1)
    for entry in entries:
        table.add_row(
            Text(entry.key, style="bold"),
            Text.assemble((entry.title, "bold"), ": ", entry.help, (f" · {entry.id}", "dim")),
        )
    return table


class HelpScreen(ModalScreen[None]):
    """The keys of one screen (and the app's), with what each does and its id."""

    CSS_PATH = "../styles/dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, below: Screen[object]) -> None:
        super().__init__()
        self.below = below
        self.entries: list[BindingEntry] = []

    def compose(self) -> ComposeResult:
        self.entries = binding_entries(self.below, self.app)
        name = self.below.title or type(self.below).__name__.removesuffix("Screen")
        with Vertical(id="help", classes="dialog"):
            yield Label(f"Keys: {name}", classes="dialog-title", markup=False)
            with VerticalScroll(id="help-keys"):
                yield Static(keys_table(self.entries), id="help-table")
                yield Static(FOOTNOTE, classes="dialog-hint", markup=False)
            yield Static("escape closes · arrows scroll", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()

    def action_close(self) -> None:
        """Back to the screen."""
        self.dismiss(None)
