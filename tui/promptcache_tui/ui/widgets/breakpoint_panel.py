"""The selected context's breakpoints (or an observed group's caches), each with a live TTL
countdown.

The rows are built when the context (or its model) changes; the once-a-second tick only
rewrites the countdown labels whose text or urgency changed. An observed group shows the
breakpoints of its latest call that wrote or read (proxied calls) or its session cache
(Claude Code), with the states the log gave, ticking on locally from their expiry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Static

from promptcache_tui.core.sanitize import one_line

if TYPE_CHECKING:
    from promptcache_tui.core.overview import BreakpointView
    from promptcache_tui.core.ttl import EntryState, TTLLedger
    from promptcache_tui.store.observed import GroupCache

URGENCY_CLASSES = ("-cold", "-warm", "-expiring")
NOTE = "countdowns are estimates from the call log"


def countdown_text(entry: EntryState) -> str:
    """What a countdown label shows: `m:ss left`, or `cold`."""
    text = entry.countdown()
    return text if text == "cold" else f"{text} left"


class Countdown(Label):
    """One breakpoint's time left, coloured by urgency."""

    DEFAULT_CSS = """
    Countdown {
        width: 14;
        text-align: right;
        text-style: bold;
    }
    Countdown.-cold { color: $text-muted; }
    Countdown.-warm { color: $success; }
    Countdown.-expiring { color: $warning; }
    """

    def __init__(self, text: str, *, classes: str = "") -> None:
        super().__init__(text, classes=classes, markup=False)
        self.text = text

    def show(self, entry: EntryState) -> None:
        """Update text and colour, touching the widget only when something changed."""
        text = countdown_text(entry)
        urgency = f"-{entry.urgency}"
        if self.text != text:
            self.text = text
            self.update(text)
        if not self.has_class(urgency):
            self.remove_class(*URGENCY_CLASSES)
            self.add_class(urgency)


class CacheRow(Vertical):
    """One cache in the panel: a title and its countdown on one line, details below."""

    DEFAULT_CSS = """
    CacheRow {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
    }
    CacheRow > Horizontal { height: 1; }
    CacheRow .bp-title { width: 1fr; }
    CacheRow .bp-detail { color: $text-muted; }
    CacheRow .bp-warning { color: $warning; }
    """


class BreakpointRow(CacheRow):
    """A breakpoint: where it is, its TTL and prefix size, its countdown and any warnings."""

    def __init__(self, view: BreakpointView, model: str) -> None:
        super().__init__()
        self.view = view
        self.model = model
        self.prefix_hash = view.planned.prefix_hash

    def compose(self) -> ComposeResult:
        view = self.view
        approx = "~" if view.estimated else ""
        with Horizontal():
            yield Label(
                f"#{view.position} after {view.block}: {view.label}",
                classes="bp-title",
                markup=False,
            )
            yield Countdown(countdown_text(view.entry), classes=f"-{view.entry.urgency}")
        yield Label(
            f"TTL {view.planned.ttl} · prefix {approx}{view.prefix_tokens:,} tokens",
            classes="bp-detail",
        )
        for warning in view.warnings:
            yield Static(f"! {warning.message}", classes="bp-warning", markup=False)

    def tick(self, ledger: TTLLedger, now: float) -> None:
        """Refresh the countdown from the ledger."""
        # A row mounted a moment ago may not have composed its countdown yet.
        for countdown in self.query(Countdown):
            countdown.show(ledger.state(self.model, self.prefix_hash, now))


class GroupCacheRow(CacheRow):
    """One cache of an observed group: a proxied breakpoint, or a session's cache."""

    def __init__(self, cache: GroupCache, now: float) -> None:
        super().__init__()
        self.cache = cache
        self.now = now

    def compose(self) -> ComposeResult:
        cache = self.cache
        entry = cache.state.at(self.now)
        with Horizontal():
            yield Label(one_line(cache.label), classes="bp-title", markup=False)
            yield Countdown(countdown_text(entry), classes=f"-{entry.urgency}")
        ttl = cache.ttl or cache.state.ttl
        if cache.prefix_hash is None:  # a Claude Code session: no prefix is known
            model = one_line(cache.model or "no model yet")
            detail = (
                f"TTL {ttl or '-'} · {model}: the TTL of its last write (5m/1h split), "
                "refreshed by every read"
            )
        else:
            tokens = f"~{cache.prefix_tokens:,}" if cache.prefix_tokens is not None else "?"
            detail = f"TTL {ttl or '-'} · prefix {tokens} tokens"
        yield Static(detail, classes="bp-detail", markup=False)

    def tick(self, now: float) -> None:
        """Count down from the expiry the log gave."""
        for countdown in self.query(Countdown):
            countdown.show(self.cache.state.at(now))


class BreakpointPanel(Vertical):
    """The breakpoints of the selected context, and whether keep-warm is on for it."""

    DEFAULT_CSS = """
    BreakpointPanel {
        height: auto;
        max-height: 50%;
    }
    BreakpointPanel > Horizontal { height: 1; padding: 0 1; }
    BreakpointPanel .panel-title { text-style: bold; width: 1fr; }
    BreakpointPanel #bp-keepwarm { width: auto; color: $text-muted; }
    BreakpointPanel #bp-keepwarm.-on { color: $success; text-style: bold; }
    BreakpointPanel > .panel-note { color: $text-muted; padding: 0 1; }
    BreakpointPanel > VerticalScroll { height: auto; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="bp-header"):
            yield Label("Breakpoints", classes="panel-title", id="bp-title")
            yield Label("", id="bp-keepwarm")
        yield Label(NOTE, classes="panel-note", id="bp-note")
        yield VerticalScroll(id="bp-rows")

    def _titled(self, title: str, note: str) -> None:
        for selector, text in (("#bp-title", title), ("#bp-note", note)):
            label = self.query_one(selector, Label)
            if str(label.render()) != text:
                label.update(text)

    def show_keep_warm(self, enabled: bool | None) -> None:
        """Say in the header whether keep-warm is on (None: no context, say nothing)."""
        label = self.query_one("#bp-keepwarm", Label)
        label.update("" if enabled is None else f"keep-warm {'on' if enabled else 'off'}")
        label.set_class(bool(enabled), "-on")

    @property
    def keep_warm_text(self) -> str:
        """What the header says about keep-warm (for tests and status lines)."""
        return str(self.query_one("#bp-keepwarm", Label).render())

    async def show(self, views: Sequence[BreakpointView], model: str, empty: str) -> None:
        """Rebuild the rows for a context's breakpoints (or show why there are none)."""
        self._titled("Breakpoints", NOTE)
        rows = self.query_one("#bp-rows", VerticalScroll)
        await rows.remove_children()
        if views:
            await rows.mount_all([BreakpointRow(view, model) for view in views])
        else:
            await rows.mount(Static(empty, classes="bp-detail", markup=False))

    async def show_caches(
        self, caches: Sequence[GroupCache], now: float, *, title: str, note: str, empty: str
    ) -> None:
        """Rebuild the rows for an observed group's caches (or say why there are none)."""
        self._titled(title, note)
        self.show_keep_warm(None)
        rows = self.query_one("#bp-rows", VerticalScroll)
        await rows.remove_children()
        if caches:
            await rows.mount_all([GroupCacheRow(cache, now) for cache in caches])
        else:
            await rows.mount(Static(empty, classes="bp-detail", markup=False))

    def tick(self, ledger: TTLLedger | None, now: float) -> None:
        """Update every countdown label (and nothing else)."""
        if ledger is not None:
            for row in self.query(BreakpointRow):
                row.tick(ledger, now)
        for cache_row in self.query(GroupCacheRow):
            cache_row.tick(now)

    def cache_states(self, now: float) -> list[EntryState]:
        """An observed group's shown caches at `now` (for the soonest countdown)."""
        return [row.cache.state.at(now) for row in self.query(GroupCacheRow)]

    def countdowns(self) -> list[str]:
        """The countdown texts shown, in prompt order (for tests and status lines)."""
        return [label.text for label in self.query(Countdown)]
