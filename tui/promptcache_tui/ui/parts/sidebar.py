"""The sidebar: what the chat can talk to, most recently used first, each with its countdown.

A list of items with a kind, not of Context rows: today every item is a named context; a
later change can add observed traffic (a Claude Code session, a proxied client) as items of
another kind, grouped under their own heading, with the same countdown. On a narrow terminal
the sidebar is hidden and opens over the chat (`ctrl+l`); choosing an item closes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from promptcache_tui.ui.widgets.steady import SteadyGeometry

if TYPE_CHECKING:
    from promptcache_tui.core.ttl import TTLLedger
    from promptcache_tui.store import ContextSummary

CONTEXT = "context"
KIND_HEADINGS = {CONTEXT: "Contexts"}  # in display order; a kind not listed goes last
URGENCY_STYLE = {"warm": "$text-success", "expiring": "$text-warning", "cold": "$text-muted"}


@dataclass(frozen=True, slots=True)
class SidebarItem:
    """One thing the chat can talk to: its kind, a key unique among all items, what the
    list says about it, and the prefix hashes whose cache entries make its countdown."""

    kind: str
    key: str
    title: str
    detail: str  # the second line (a context: its model)
    facts: str  # the third, before the countdown (a context: its breakpoints)
    model: str
    hashes: tuple[str, ...] = ()  # unknown until its prefix is loaded: no countdown yet
    context_id: int | None = None  # set for named contexts


def context_item(summary: ContextSummary) -> SidebarItem:
    """A named context as a sidebar item."""
    return SidebarItem(
        kind=CONTEXT,
        key=f"{CONTEXT}:{summary.id}",
        title=summary.name,
        detail=summary.model,
        facts=f"{summary.breakpoints} bp",
        model=summary.model,
        context_id=summary.id,
    )


def countdown_of(item: SidebarItem, ledger: TTLLedger | None, now: float) -> tuple[str, str]:
    """The item's countdown text and urgency: its soonest-expiring warm entry, else cold."""
    from promptcache_tui.core.keepwarm import soonest_warm  # after the first frame

    if not item.hashes or ledger is None:
        return "", "cold"
    entry = soonest_warm(ledger, item.model, item.hashes, now)
    if entry is None:
        return "cold", "cold"
    return f"{entry.countdown()} left", entry.urgency


class SidebarList(SteadyGeometry, OptionList):
    """The items, grouped by kind; the active one is marked (still while the chat grows)."""

    DEFAULT_CSS = """
    SidebarList {
        height: 1fr;
        border: none;
    }
    """

    @dataclass
    class Chosen(Message):
        """Enter or a click chose an item."""

        item: SidebarItem

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[SidebarItem] = []
        self.active: str | None = None
        self._countdowns: dict[str, tuple[str, str]] = {}

    def names(self, kind: str = CONTEXT) -> set[str]:
        """The titles of the items of one kind (for a context: the names taken)."""
        return {item.title for item in self.items if item.kind == kind}

    def show(self, items: Sequence[SidebarItem], active: str | None) -> None:
        """Replace the items, keeping what is known of their prefixes; mark `active`."""
        known = {item.key: item.hashes for item in self.items}
        self.items = [
            replace(item, hashes=known.get(item.key, ())) if not item.hashes else item
            for item in items
        ]
        self.active = active
        self._rebuild()

    def set_hashes(self, hashes: dict[str, tuple[str, ...]]) -> None:
        """Give items their prefix hashes (their countdowns show from the next tick)."""
        self.items = [replace(i, hashes=hashes.get(i.key, i.hashes)) for i in self.items]

    def mark_active(self, key: str | None) -> None:
        """Mark the item the chat talks to."""
        if key != self.active:
            self.active = key
            self._rebuild()

    def item(self, key: str) -> SidebarItem | None:
        """The item with this key."""
        return next((i for i in self.items if i.key == key), None)

    def _prompt(self, item: SidebarItem) -> Content:
        active = item.key == self.active
        text, urgency = self._countdowns.get(item.key, ("", "cold"))
        parts: list[Content | str | tuple[str, str]] = [
            ("● " if active else "  ", "$accent"),
            (item.title, "bold" if active else ""),
            "\n",
            (f"  {item.detail}", "$text-muted"),
            "\n",
            (f"  {item.facts}", "$text-muted"),
        ]
        if text:
            parts += [(" · ", "$text-muted"), (text, URGENCY_STYLE.get(urgency, "$text-muted"))]
        return Content.assemble(*parts)

    def _rebuild(self) -> None:
        order = list(KIND_HEADINGS)
        items = sorted(
            self.items,
            key=lambda i: order.index(i.kind) if i.kind in order else len(order),
        )
        self.items = items
        kinds = {item.kind for item in items}
        options: list[Option] = []
        for kind in dict.fromkeys(item.kind for item in items):
            if len(kinds) > 1:  # a heading per group once there is more than one kind
                heading = KIND_HEADINGS.get(kind, kind)
                options.append(Option(Content.styled(heading, "bold"), disabled=True))
            options += [Option(self._prompt(i), id=i.key) for i in items if i.kind == kind]
        self.clear_options()
        self.add_options(options)
        if self.active is not None:
            index = next((n for n, o in enumerate(options) if o.id == self.active), None)
            if index is not None:
                self.highlighted = index

    def tick(self, ledger: TTLLedger | None, now: float) -> None:
        """Refresh each item's countdown, touching only the options whose text changed."""
        for item in self.items:
            countdown = countdown_of(item, ledger, now)
            if self._countdowns.get(item.key) != countdown:
                self._countdowns[item.key] = countdown
                self.replace_option_prompt(item.key, self._prompt(item))

    def countdowns(self) -> dict[str, str]:
        """Each item's countdown text by title (for tests)."""
        return {i.title: self._countdowns.get(i.key, ("", ""))[0] for i in self.items}

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        item = self.item(event.option.id or "")
        if item is not None:
            self.post_message(self.Chosen(item))


class Sidebar(Vertical):
    """The titled list; hidden on narrow terminals until opened (then it overlays the chat)."""

    def compose(self) -> ComposeResult:
        yield Label("Contexts", classes="pane-title", id="sidebar-title")
        yield SidebarList(id="contexts")

    @property
    def list(self) -> SidebarList:
        """The items list."""
        return self.query_one(SidebarList)

    @property
    def is_open(self) -> bool:
        """Whether it was opened over the chat (narrow terminals)."""
        return self.has_class("-open")

    def open(self) -> None:
        """Show it over the chat and put the cursor in it."""
        self.add_class("-open")
        self.list.focus()

    def close(self) -> None:
        """Hide it again (narrow terminals; on wide ones it stays in place)."""
        self.remove_class("-open")
