"""The contexts, most recently used first; Enter selects one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from promptcache_tui.ui.widgets.steady import SteadyGeometry

if TYPE_CHECKING:
    from promptcache_tui.store import ContextSummary


def _prompt(summary: ContextSummary, active: bool) -> Text:
    marker = "● " if active else "  "
    text = Text(marker + summary.name, style="bold" if active else "")
    text.append(f"\n  {summary.model}", style="dim")
    text.append(f"\n  {summary.breakpoints} bp · {summary.chars:,} chars", style="dim")
    return text


class ContextsList(SteadyGeometry, OptionList):
    """Contexts by name; the selected one is marked (still while the chat beside it grows)."""

    DEFAULT_CSS = """
    ContextsList {
        height: 1fr;
        border: none;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.summaries: list[ContextSummary] = []
        self.active_id: int | None = None

    def show(self, summaries: Sequence[ContextSummary], active_id: int | None) -> None:
        """Replace the list; highlight and mark `active_id`."""
        self.summaries = list(summaries)
        self.active_id = active_id
        self.clear_options()
        self.add_options(
            [Option(_prompt(s, s.id == active_id), id=str(s.id)) for s in self.summaries]
        )
        self._highlight(active_id)

    def mark_active(self, context_id: int | None) -> None:
        """Mark which context the chat uses."""
        self.show(self.summaries, context_id)

    def _highlight(self, context_id: int | None) -> None:
        for index, summary in enumerate(self.summaries):
            if summary.id == context_id:
                self.highlighted = index
                return

    def summary(self, context_id: int) -> ContextSummary | None:
        """The listed summary of a context."""
        return next((s for s in self.summaries if s.id == context_id), None)
