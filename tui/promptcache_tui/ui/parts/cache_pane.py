"""What the cache holds for the selected context (or observed group), and what every call
did with it.

The breakpoints with their countdowns above, the calls below; on a short terminal the two
are tabs (Cache | Calls) instead, and on a narrow one the screen's own tabs choose between
the chat, the cache and the calls. Which panel shows is a class on this pane (`-show-cache`
or `-show-calls`); the stylesheet decides by the screen's size whether that class matters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Tab, Tabs

from promptcache_tui.ui.messages import TokensCounted
from promptcache_tui.ui.services import services
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel, BreakpointRow
from promptcache_tui.ui.widgets.usage_panel import UsagePanel

if TYPE_CHECKING:
    from promptcache_tui.core.context import Context
    from promptcache_tui.core.ttl import EntryState, TTLLedger
    from promptcache_tui.store.observed import ObservedGroup

VIEWS = ("cache", "calls")


class CachePane(Vertical):
    """Breakpoints and countdowns; the calls of the selected context and the session."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-show-cache")
        self.ctx: Context | None = None
        self.group: ObservedGroup | None = None  # an observed group, shown instead
        self.model = ""
        self.ledger: TTLLedger | None = None
        self._counted: TokensCounted | None = None  # live prefix counts, if any

    def compose(self) -> ComposeResult:
        yield Tabs(Tab("Cache", id="cache"), Tab("Calls", id="calls"), id="cache-tabs")
        yield BreakpointPanel(id="breakpoints")
        yield UsagePanel(services(self).wall_now, id="usage")

    @property
    def breakpoints(self) -> BreakpointPanel:
        """The breakpoints panel."""
        return self.query_one(BreakpointPanel)

    @property
    def usage(self) -> UsagePanel:
        """The calls panel."""
        return self.query_one(UsagePanel)

    # -- which panel shows where there is room for one ------------------------------------

    @property
    def view(self) -> str:
        """`cache` or `calls`: the panel shown when only one fits."""
        return "calls" if self.has_class("-show-calls") else "cache"

    def show_view(self, view: str) -> None:
        """Show the breakpoints (`cache`) or the calls (`calls`) when only one fits."""
        self.set_class(view == "calls", "-show-calls")
        self.set_class(view != "calls", "-show-cache")
        tabs = self.query_one("#cache-tabs", Tabs)
        if tabs.active != view:
            tabs.active = view

    @on(Tabs.TabActivated, "#cache-tabs")
    def _tab_chosen(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id in VIEWS and event.tab.id != self.view:
            self.show_view(event.tab.id)

    # -- the breakpoints ------------------------------------------------------------------

    async def show_context(self, ctx: Context | None, model: str, ledger: TTLLedger) -> None:
        """Show this context's breakpoints; live, count their prefixes with count_tokens."""
        self.ctx, self.model, self.ledger = ctx, model, ledger
        self.group = None
        await self.show_breakpoints()
        if ctx is not None and services(self).settings.live:
            self.count_prefix_tokens(ctx, model)

    async def show_breakpoints(self) -> None:
        """Rebuild the breakpoint rows for the context and model shown."""
        from promptcache_tui.core.context import ContextError
        from promptcache_tui.core.overview import breakpoint_views

        panel = self.breakpoints
        app = services(self)
        ctx = self.ctx
        panel.show_keep_warm(ctx.keep_warm if ctx else None)
        if ctx is None or app.catalog is None or self.ledger is None:
            await panel.show([], "", "No context selected.")
            return
        now = await app.current_time()
        try:
            views = breakpoint_views(
                ctx,
                app.catalog,
                self.ledger,
                model=self.model,
                now=now,
                prefix_tokens=self._counts_for(ctx),
            )
        except ContextError as exc:
            await panel.show([], self.model, f"This context cannot be sent: {exc}")
            return
        await panel.show(
            views, self.model, "No breakpoints: nothing is cached. Add one in the editor (f2)."
        )

    async def show_group(self, group: ObservedGroup, now: float) -> None:
        """Show an observed group's caches: its latest breakpoints, or its session cache."""
        self.ctx, self.group, self.model = None, group, group.model or ""
        if group.kind == "claude-code":
            await self.breakpoints.show_caches(
                group.caches,
                now,
                title="Session cache",
                note="the main thread's, from its usage · estimates",
                empty="No calls of this session yet.",
            )
        else:
            await self.breakpoints.show_caches(
                group.caches,
                now,
                title="Breakpoints",
                note="of the latest call that cached · estimates",
                empty="No call of this group wrote or read the cache yet.",
            )

    def show_keep_warm(self, enabled: bool) -> None:
        """Say in the header whether keep-warm is on for the context shown."""
        if self.ctx is not None:
            self.ctx = self.ctx.with_changes(keep_warm=enabled)
        self.breakpoints.show_keep_warm(enabled)

    def tick(self, now: float) -> None:
        """Update the countdown labels (and nothing else)."""
        if self.ctx is not None and self.ledger is not None:
            self.breakpoints.tick(self.ledger, now)
        elif self.group is not None:
            self.breakpoints.tick(None, now)

    def soonest(self, now: float) -> EntryState | None:
        """The shown breakpoints' soonest-expiring warm entry (None: all cold)."""
        from promptcache_tui.core.keepwarm import soonest_warm

        if self.group is not None:
            warm = [e for e in self.breakpoints.cache_states(now) if e.state == "warm"]
            return min(warm, key=lambda e: e.remaining or 0.0) if warm else None
        if self.ctx is None or self.ledger is None:
            return None
        hashes = [row.prefix_hash for row in self.breakpoints.query(BreakpointRow)]
        return soonest_warm(self.ledger, self.model, hashes, now)

    @work(exclusive=True, group="count-tokens", exit_on_error=False)
    async def count_prefix_tokens(self, ctx: Context, model: str) -> None:
        """Live: count each breakpoint's prefix with count_tokens (estimates until then)."""
        from promptcache_tui.core.overview import breakpoint_hashes

        service = services(self).service
        if service is None:
            return
        counts = await service.counted_prefix_tokens(ctx, model)
        if counts is not None:
            self.post_message(TokensCounted(tuple(breakpoint_hashes(ctx, model)), model, counts))

    async def on_tokens_counted(self, message: TokensCounted) -> None:
        message.stop()
        self._counted = message
        await self.show_breakpoints()

    def _counts_for(self, ctx: Context) -> list[int] | None:
        """The live counts, if they were made for this context's current prefixes and model."""
        from promptcache_tui.core.overview import breakpoint_hashes

        counted = self._counted
        if counted is None or counted.model != self.model:
            return None
        same = counted.hashes == tuple(breakpoint_hashes(ctx, self.model))
        return counted.counts if same else None
