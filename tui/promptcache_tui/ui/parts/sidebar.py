"""The sidebar: what the dashboard can show, each item with its countdown.

A list of items with a kind, under a heading per kind once there is more than one: named
contexts (most recently used first; the chat talks to them), then observed traffic, most
recently active first: the groups of calls through the recording proxy (one per client,
model and tools + system prefix) and Claude Code's sessions (imported). A context's
countdown comes from the screen's TTL ledger; an observed group's from the states the log
gave for its caches, ticking on locally from their expiry until the log says more. On a
narrow terminal the sidebar is hidden and opens over the chat (`ctrl+l`); choosing an item
closes it.
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

from promptcache_tui.core.sanitize import one_line
from promptcache_tui.ui.widgets.hanging_indent import HangingIndent
from promptcache_tui.ui.widgets.steady import SteadyGeometry

if TYPE_CHECKING:
    from promptcache_tui.core.ttl import EntryState, TTLLedger
    from promptcache_tui.store import ContextSummary
    from promptcache_tui.store.observed import ObservedGroup

CONTEXT = "context"
PROXY = "proxy"
CLAUDE_CODE = "claude-code"
OBSERVED = (PROXY, CLAUDE_CODE)
# In display order; a kind not listed goes last.
KIND_HEADINGS = {
    CONTEXT: "Contexts",
    PROXY: "Through the proxy",
    CLAUDE_CODE: "Claude Code sessions",
}
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
    extra: str = ""  # a line between detail and facts (an observed group: its model)
    group: str | None = None  # set for observed traffic: the group's key
    caches: tuple[EntryState, ...] = ()  # an observed group's, as the log last gave them


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


def observed_item(group: ObservedGroup) -> SidebarItem:
    """An observed group as a sidebar item: its name, who called, with which model, and how
    many calls (the list is in the order of their last call: no time needed)."""
    who = group.client or "unknown client"
    # A default name starts with the client (or says it is Claude Code's), which the
    # heading and the second line say already.
    title = group.name
    lead = "claude-code · " if group.kind == CLAUDE_CODE else f"{who.split(' ')[0]} · "
    if not group.renamed and title.startswith(lead) and len(title) > len(lead):
        title = title[len(lead) :]
    return SidebarItem(
        kind=group.kind,
        key=f"{group.kind}:{group.key}",
        title=one_line(title),
        detail=one_line(who),
        extra=one_line(group.model or "?"),
        facts=f"{group.calls:,} call{'s' if group.calls != 1 else ''}",
        model=group.model or "",
        group=group.key,
        caches=tuple(c.state for c in group.caches),
    )


def countdown_of(item: SidebarItem, ledger: TTLLedger | None, now: float) -> tuple[str, str]:
    """The item's countdown text and urgency: its soonest-expiring warm entry, else cold."""
    from promptcache_tui.core.keepwarm import soonest_warm  # after the first frame

    if item.group is not None:
        warm = [s for c in item.caches if (s := c.at(now)).state == "warm"]
        entry = min(warm, key=lambda e: e.remaining or 0.0) if warm else None
        if entry is None:
            return ("cold", "cold") if item.caches else ("", "cold")
        return f"{entry.countdown()} left", entry.urgency
    if not item.hashes or ledger is None:
        return "", "cold"
    entry = soonest_warm(ledger, item.model, item.hashes, now)
    if entry is None:
        return "cold", "cold"
    return f"{entry.countdown()} left", entry.urgency


def _ordered(items: Sequence[SidebarItem]) -> list[SidebarItem]:
    """Grouped by kind in the headings' order, each kind's items in the order given."""
    order = list(KIND_HEADINGS)
    return sorted(items, key=lambda i: order.index(i.kind) if i.kind in order else len(order))


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
        fresh = _ordered(
            [
                replace(item, hashes=known.get(item.key, ())) if not item.hashes else item
                for item in items
            ]
        )
        if active == self.active and [i.key for i in fresh] == [i.key for i in self.items]:
            # The same items in the same order (a group's calls changed): touch only the
            # options whose text changed, not the whole list.
            old = {item.key: item for item in self.items}
            self.items = fresh
            for item in fresh:
                if old.get(item.key) != item:
                    self.replace_option_prompt(item.key, self._prompt(item))
            return
        self.items = fresh
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

    def _prompt(self, item: SidebarItem) -> HangingIndent:
        # A line too long for the list wraps under its text, not under the marker.
        active = item.key == self.active
        text, urgency = self._countdowns.get(item.key, ("", "cold"))
        parts: list[Content | str | tuple[str, str]] = [
            ("● " if active else "  ", "$accent"),
            (item.title, "bold" if active else ""),
            "\n",
            (f"  {item.detail}", "$text-muted"),
            "\n",
        ]
        if item.extra:
            parts += [(f"  {item.extra}", "$text-muted"), "\n"]
        parts.append((f"  {item.facts}", "$text-muted"))
        if text:
            parts += [(" · ", "$text-muted"), (text, URGENCY_STYLE.get(urgency, "$text-muted"))]
        return HangingIndent(Content.assemble(*parts), indent=2)

    def _rebuild(self) -> None:
        items = self.items = _ordered(self.items)
        kinds = {item.kind for item in items}
        options: list[Option] = []
        for kind in dict.fromkeys(item.kind for item in items):
            # A heading per kind once there is more than one, or any observed traffic.
            if kinds != {CONTEXT}:
                heading = KIND_HEADINGS.get(kind, kind)
                options.append(Option(Content.styled(heading, "bold"), disabled=True))
            options += [Option(self._prompt(i), id=i.key) for i in items if i.kind == kind]
        # While the user moves through the list, a refresh (a call logged by another
        # process) leaves the cursor where it is; otherwise it goes to the active item.
        current = self.highlighted_option.id if self.highlighted_option is not None else None
        keep = current if self.has_focus and current is not None else self.active
        self.clear_options()
        self.add_options(options)
        if keep is not None:
            index = next((n for n, o in enumerate(options) if o.id == keep), None)
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

    def show(self, items: Sequence[SidebarItem], active: str | None) -> None:
        """The items (see `SidebarList.show`), under a title that says what they are."""
        observed = any(item.kind != CONTEXT for item in items)
        title = "Contexts & traffic" if observed else "Contexts"
        label = self.query_one("#sidebar-title", Label)
        if str(label.render()) != title:
            label.update(title)
        self.list.show(items, active)

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
