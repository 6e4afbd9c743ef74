"""The first screen on an empty data dir: one key creates the demo context."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

WELCOME = "\n\n".join(
    (
        "A cached context is a large, stable prompt prefix (documents, instructions) with up "
        "to four cache breakpoints. Chat against it and see, for every call, what was written "
        "to and read from the cache, what it cost, what caching saved, and how long each "
        "entry has left.",
        "Press d to create the demo: the first three chapters of Lewis Carroll's \"Alice's "
        'Adventures in Wonderland" (1865, public domain, about 8,300 tokens), the book behind '
        "a 1h breakpoint and a short style note behind a 5m one. Ask it a question twice: the "
        "first call writes the cache, the second reads it.",
        "Press ctrl+t to create a context of your own from files, f1 for every key, or ctrl+q "
        "to quit.",
    )
)


class WelcomeScreen(Screen[None]):
    """Shown while there are no contexts."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "app.create_demo", "Create demo", id="welcome.demo"),
        Binding("ctrl+t", "app.new_context", "New context", id="welcome.new_context"),
    ]

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(id="welcome-box"), Vertical(id="welcome-text"):
            yield Static("Welcome to promptcache-tui", id="welcome-title")
            yield Static(WELCOME, markup=False)
            yield Static(f"Mode: {self.mode}", id="welcome-mode", markup=False)
        yield Footer(compact=True)
