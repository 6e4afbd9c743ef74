"""The main screen: it composes the parts and passes messages between them.

- `ui/parts/sidebar.py`: what the chat can talk to (the contexts), each with its countdown;
- `ui/parts/chat_pane.py`: the transcript and the input, sending prompts, streaming answers;
- `ui/parts/cache_pane.py`: the breakpoints' countdowns and the calls;
- `ui/parts/warming.py`: the warm key's calls and keep-warm's pings (decided in the core);
- `ui/parts/observed_pane.py`: in the chat's place, what an observed group is and offers;
- `ui/parts/follow.py`: calls logged by any process, once a second;
- `ui/context_actions.py`: create, edit, rename, duplicate, delete, the demo;
- `ui/observed_actions.py`: observed groups listed, loaded, renamed, saved as contexts.

The screen owns what is selected (a context, or an observed group: calls through the proxy,
a Claude Code session) and the TTL ledger every countdown reads. Workers
fetch and send; their results come back as messages (`ui.messages`), handled by the part
that asked and then, as they bubble up, here. The layout follows the terminal's size
through the app's breakpoint classes (`-narrow`/`-medium`/`-wide`, `-short`/`-tall`) in
`main.tcss`: on a narrow terminal tabs choose between the chat, the cache and the calls.

Keep-warm covers the contexts with keep-warm on that were selected in this session (the
selected one included). The ledger holds the cache events logged before the app started
(for every listed context) and those of the calls made since, by this app or any other
process (`CallsFollowed`). An observed group's countdowns are the states the log gave for
its caches, re-read when its calls change and ticking on locally in between.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Footer, Header, Tab, Tabs

from promptcache_tui.ui.context_actions import ContextActions
from promptcache_tui.ui.messages import (
    CallFinished,
    CallsFollowed,
    ContextLoaded,
    ContextSaved,
    ContextsLoaded,
    GroupLoaded,
    GroupRenamed,
    GroupsLoaded,
    KeepWarmSaved,
    KeepWarmStatus,
    PlannerReady,
    PrefixesLoaded,
    PromptWaiting,
    SaveReady,
    UsageLogged,
    WarmFinished,
)
from promptcache_tui.ui.observed_actions import ObservedActions
from promptcache_tui.ui.parts.chat_pane import ChatPane
from promptcache_tui.ui.parts.follow import Follow
from promptcache_tui.ui.parts.sidebar import (
    CONTEXT,
    Sidebar,
    SidebarItem,
    SidebarList,
    context_item,
    observed_item,
)
from promptcache_tui.ui.parts.warming import WarmCalls
from promptcache_tui.ui.services import services
from promptcache_tui.ui.store_work import run_store_op
from promptcache_tui.ui.widgets.deferred import Deferred

if TYPE_CHECKING:
    from textual.widget import Widget

    from promptcache_tui.core.context import Context
    from promptcache_tui.core.keepwarm import KeepWarm, KeepWarmController
    from promptcache_tui.core.request import Turn
    from promptcache_tui.core.ttl import CacheEvent, TTLLedger
    from promptcache_tui.store import ContextSummary, Store
    from promptcache_tui.store.observed import ObservedGroup
    from promptcache_tui.ui.parts.cache_pane import CachePane
    from promptcache_tui.ui.parts.observed_pane import ObservedPane

TICK_SECONDS = 1.0
VIEWS = ("chat", "cache", "calls")


class MainScreen(Screen[None]):
    """Contexts, chat, breakpoints and usage."""

    AUTO_FOCUS = "#prompt"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+l",
            "focus_contexts",
            "Contexts",
            id="main.focus_contexts",
            tooltip="Open the contexts list (or go back to the input) to pick what to chat with",
        ),
        Binding(
            "ctrl+r",
            "history",
            "History",
            id="main.history",
            tooltip="Every logged call (an observed group's when one is shown): filters, "
            "totals, charts, details and export",
        ),
        Binding(
            "f6",
            "save_as_context",
            "Save as context",
            id="main.save_as_context",
            tooltip="Copy an observed call's prefix (tools, system, messages up to a "
            "breakpoint) into a named context, and open it",
        ),
        Binding(
            "f10",
            "next_view",
            "View",
            id="main.next_view",
            tooltip="Show the next view: chat, cache, calls (when they do not fit side by side)",
        ),
        Binding(
            "ctrl+n",
            "new_conversation",
            "New chat",
            show=False,
            id="main.new_conversation",
            tooltip="Start a new conversation; the context's cache stays warm",
        ),
        Binding(
            "ctrl+o",
            "open_conversation",
            "Resume chat",
            show=False,
            id="main.open_conversation",
            tooltip="Pick a stored conversation of this context to resume",
        ),
        Binding(
            "ctrl+t",
            "new_context",
            "New context",
            show=False,
            id="main.new_context",
            tooltip="Create a context: name, files, system text, model",
        ),
        Binding(
            "f2",
            "edit_context",
            "Edit context",
            show=False,
            id="main.edit_context",
            tooltip="Edit the selected context's blocks and breakpoints",
        ),
        Binding(
            "f3",
            "rename_context",
            "Rename context",
            show=False,
            id="main.rename_context",
            tooltip="Give the selected context a new name (its history follows)",
        ),
        Binding(
            "f4",
            "duplicate_context",
            "Duplicate context",
            show=False,
            id="main.duplicate_context",
            tooltip="Copy the selected context's blocks and breakpoints under a new name",
        ),
        Binding(
            "f8",
            "delete_context",
            "Delete context",
            show=False,
            id="main.delete_context",
            tooltip="Delete the selected context after asking (its logged calls stay)",
        ),
        Binding(
            "f5",
            "warm_now",
            "Warm now",
            show=False,
            id="main.warm_now",
            tooltip="Pre-warm the selected context: a prefill-only call, logged as kind warm",
        ),
        Binding(
            "f7",
            "toggle_keep_warm",
            "Keep-warm",
            show=False,
            id="main.keep_warm",
            tooltip="Turn keep-warm on or off: ping the cache just before it expires, capped",
        ),
        Binding(
            "f9",
            "plan_ttl",
            "Plan TTL",
            show=False,
            id="main.plan_ttl",
            tooltip="Cost per hour with no caching, 5m, 1h and 5m with keep-warm",
        ),
        # Scrolling is conventional, so it stays out of the footer (help and the palette list it).
        Binding(
            "pageup",
            "scroll_chat(-1)",
            "Scroll chat up",
            show=False,
            id="main.scroll_up",
            tooltip="Scroll the conversation up a page (the input keeps the focus)",
        ),
        Binding(
            "pagedown",
            "scroll_chat(1)",
            "Scroll chat down",
            show=False,
            id="main.scroll_down",
            tooltip="Scroll the conversation down a page",
        ),
        Binding(
            "escape",
            "close_sidebar",
            "Close list",
            show=False,
            id="main.close_sidebar",
            tooltip="Close the contexts list opened over the chat",
        ),
    ]

    def __init__(self) -> None:
        super().__init__(classes="-view-chat")
        self.ctx: Context | None = None  # the selected context
        self.group: ObservedGroup | None = None  # or the selected observed group
        self._ledger: TTLLedger | None = None
        self._context_items: list[SidebarItem] = []
        self._groups: list[ObservedGroup] = []  # the sidebar's, most recently active first
        self.actions = ContextActions(self)
        self.observed = ObservedActions(self)
        # Built and mounted a little after the first frame (see `_release_parts`).
        self._later = (Deferred(_build_observed_pane), Deferred(_build_cache_pane))

    # -- the parts -------------------------------------------------------------------------

    def _apply_breakpoints(self) -> None:
        """Give the screen its size classes (-narrow, -tall...) before anything is styled.

        Textual adds them on the first Resize, after the first styling and layout: then
        the whole screen is styled and laid out a second time at start-up. The rule is
        Textual's: per axis, the class of the largest breakpoint the size reaches.
        """
        app = self.app
        width, height = app.size
        for size, points in (
            (width, app.HORIZONTAL_BREAKPOINTS or []),
            (height, app.VERTICAL_BREAKPOINTS or []),
        ):
            reached = [name for edge, name in sorted(points) if size >= edge]
            for _, name in points:
                self.set_class(bool(reached) and name == reached[-1], name)

    def compose(self) -> ComposeResult:
        self._apply_breakpoints()
        yield Header()
        yield Tabs(
            Tab("Chat", id="chat"), Tab("Cache", id="cache"), Tab("Calls", id="calls"), id="views"
        )
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            yield ChatPane(id="chat-pane")
            yield self._later[0]
            # The cache pane is the costly part of the first frame, and neither it nor the
            # observed pane (hidden until a group is picked) has anything to show before
            # the store is open: they mount once a prompt typed at launch is on screen, or
            # when the contexts load (see benchmarks/bench_startup.py).
            yield self._later[1]
        yield WarmCalls(lambda: self.ledger, id="warm-calls")
        yield Follow(id="follow")
        yield Lazy(Footer(compact=True))

    @property
    def sidebar(self) -> Sidebar:
        """The contexts list."""
        return self.query_one(Sidebar)

    @property
    def chat(self) -> ChatPane:
        """The conversation and the input."""
        return self.query_one(ChatPane)

    @property
    def cache(self) -> CachePane:
        """The breakpoints and the calls (mounted a little after the first frame)."""
        from promptcache_tui.ui.parts.cache_pane import CachePane

        return self.query_one("#cache-pane", CachePane)

    @property
    def warming(self) -> WarmCalls:
        """Warm calls and keep-warm."""
        return self.query_one(WarmCalls)

    @property
    def follow(self) -> Follow:
        """Calls logged by any process."""
        return self.query_one(Follow)

    @property
    def observed_pane(self) -> ObservedPane:
        """What an observed group shows in the chat's place."""
        from promptcache_tui.ui.parts.observed_pane import ObservedPane

        return self.query_one("#observed-pane", ObservedPane)

    @property
    def ledger(self) -> TTLLedger:
        """The TTL ledger every countdown reads (created on first use, after the first frame)."""
        if self._ledger is None:
            from promptcache_tui.core.ttl import TTLLedger

            app = services(self)
            # An alias reads its model's entries (the catalog loads before any event).
            self._ledger = TTLLedger(clock=app.now, resolve=app.cache_id)
        return self._ledger

    @property
    def keep_warm(self) -> KeepWarmController:
        """Keep-warm's decisions and session state."""
        return self.warming.controller

    @property
    def keeper(self) -> KeepWarm:
        """Keep-warm's session counts and caps."""
        return self.keep_warm.keeper

    # What the chat holds, for tests and status lines.
    @property
    def busy(self) -> bool:
        """A call is in flight."""
        return self.chat.busy

    @property
    def turns(self) -> list[Turn]:
        """The conversation's turns."""
        return self.chat.turns

    @property
    def conversation_id(self) -> int | None:
        """The conversation the next prompt joins (None: a new one)."""
        return self.chat.conversation_id

    @property
    def model(self) -> str:
        """The model calls use: the session's --model, else the context's own."""
        return services(self).model_for(self.ctx.model) if self.ctx else ""

    def on_mount(self) -> None:
        # One timer for every countdown; an async callback never queues up behind itself.
        self.set_interval(TICK_SECONDS, self.tick)

    def on_resize(self) -> None:
        self.refresh_bindings()  # the view key shows only when the views do not all fit

    async def tick(self) -> None:
        """Once a second: update the countdown labels and send any keep-warm ping due."""
        if not services(self).ready:
            return
        now = await services(self).current_time()
        if self._ledger is not None:
            self.sidebar.list.tick(self._ledger, now)
        if self.query("#cache-pane"):
            self.cache.tick(now)
            self._label_cache_tab(now)
        busy = self.ctx.id if self.ctx is not None and self.chat.busy else None
        self.warming.tick(now, busy_context=busy)
        self.follow.tick(self.group.key if self.group is not None else None)

    def _label_cache_tab(self, now: float) -> None:
        """On a narrow terminal the Cache tab carries the soonest countdown."""
        entry = self.cache.soonest(now)
        label = f"Cache {entry.countdown()}" if entry is not None else "Cache"
        tab = self.query_one("#views", Tabs).query_one("#cache", Tab)
        if str(tab.label) != label:
            tab.label = label

    async def backend_failed(self, error: str) -> None:
        """Show why nothing works where the conversation would be."""
        self._release_parts()  # the layout users know, even with nothing in it
        await self.chat.backend_failed(error)

    def on_prompt_waiting(self, message: PromptWaiting) -> None:
        # What was typed at launch is on screen (after the frame being drawn): the cache
        # pane may come now.
        message.stop()
        self._release_parts()

    def _release_parts(self) -> None:
        for part in self._later:
            part.release()

    async def _parts_mounted(self) -> None:
        """Mount the cache and observed panes if they are not yet, and wait until they are."""
        self._release_parts()  # both in the same frame
        for part in self._later:
            await part.wait()

    def _ready(self, *, need_context: bool = True, idle: bool = True) -> bool:
        app = services(self)
        if not app.ready:
            self.notify("Still starting: the store is not open yet.", severity="warning")
            return False
        if idle and self.chat.busy:
            self.notify("A call is in progress: wait for the answer to finish.", severity="warning")
            return False
        if need_context and self.ctx is None:
            if self.group is not None:
                self.notify(
                    "This is observed traffic, not a context: save a call of it as a context "
                    "first (f6), then chat with it, edit it, warm it or plan its TTL.",
                    severity="warning",
                )
            else:
                self.notify("Select or create a context first (ctrl+t).", severity="warning")
            return False
        return True

    def _focus_home(self) -> None:
        """The input, or an observed group's first action where the chat would be."""
        if self.group is not None:
            self.observed_pane.focus_first()
        else:
            self.chat.input.focus()

    # -- the contexts list -----------------------------------------------------------------

    def load_contexts(self, select_id: int | None = None) -> None:
        """Fetch the contexts list (most recently used first), then select one. The first
        time, start following the log (before anything of it is read, so that no call is
        missed) and list the observed groups too."""
        first = self.follow.log_watch is None
        app = services(self)

        async def listed(store: Store) -> ContextsLoaded:
            from promptcache_tui.ui.observed_actions import GROUP_LIMIT

            await self._parts_mounted()
            watch = await store.watch() if first else None
            summaries = await store.contexts.list()
            groups = None
            if first:
                groups = await store.observed.groups(
                    await app.current_time(), limit=GROUP_LIMIT, resolve=app.cache_id
                )
            return ContextsLoaded(summaries, select_id, watch=watch, groups=groups)

        run_store_op(
            self,
            listed,
            failure="Cannot list contexts",
            done=lambda loaded: loaded,
            group="contexts",
        )

    async def on_contexts_loaded(self, message: ContextsLoaded) -> None:
        from promptcache_tui.ui.screens.welcome import WelcomeScreen

        summaries = message.summaries
        if message.watch is not None:
            self.follow.start(message.watch)
        if message.groups is not None:
            self._groups = list(message.groups)
        self.warming.keep_only([s.id for s in summaries])  # a deleted context is not pinged
        self._context_items = [context_item(s) for s in summaries]
        if not summaries:
            self.ctx = None
            if self._groups:  # observed traffic and no context yet: show the traffic
                self._show_sidebar()
                if self.group is None or self.group.key not in {g.key for g in self._groups}:
                    self.observed.select(self._groups[0].key)
                return
            self._show_sidebar(None)
            if not isinstance(self.app.screen, WelcomeScreen):
                await self.app.push_screen(WelcomeScreen(services(self).settings.mode_label()))
            # After the welcome screen is up: a prompt given back says why, on that screen.
            await self._show_nothing("No contexts yet.")
            return
        if isinstance(self.app.screen, WelcomeScreen):
            self.app.pop_screen()
        ids = [s.id for s in summaries]
        current = self.ctx.id if self.ctx else None
        if self.group is not None and message.select_id not in ids:
            self._show_sidebar()  # an observed group stays shown
        else:
            pick = (
                message.select_id
                if message.select_id in ids
                else (current if current in ids else ids[0])
            )
            self._show_sidebar(f"{CONTEXT}:{pick}")
            if pick != current or message.select_id is not None:
                self.select_context(pick)
        self.load_prefixes(summaries)

    def _show_sidebar(self, active: str | bool | None = True) -> None:
        """The contexts, then the observed groups; `active` marks one (True: as it was)."""
        items = [*self._context_items, *(observed_item(g) for g in self._groups)]
        current = self.sidebar.list.active if active is True else active
        self.sidebar.show(items, current if isinstance(current, str) else None)

    def load_prefixes(self, summaries: list[ContextSummary]) -> None:
        """Each listed context's breakpoint hashes and their cache events: every item in the
        sidebar gets its countdown, not only the selected one."""
        app = services(self)

        async def prefixes(store: Store) -> PrefixesLoaded:
            from promptcache_tui.core.context import ContextError
            from promptcache_tui.core.overview import breakpoint_hashes

            contexts = [await store.contexts.get_by_id(s.id) for s in summaries]

            def hash_all() -> dict[str, tuple[str, ...]]:
                found = {}
                for ctx in contexts:
                    if ctx is None or ctx.id is None:
                        continue
                    try:
                        hashes = breakpoint_hashes(ctx, app.model_for(ctx.model))
                    except ContextError:
                        hashes = []  # an invalid context has no cache entries to look up
                    found[f"{CONTEXT}:{ctx.id}"] = tuple(hashes)
                return found

            hashes = await asyncio.to_thread(hash_all)  # a big context hashes in a thread
            events = await store.calls.cache_events({h for hs in hashes.values() for h in hs})
            return PrefixesLoaded(hashes, events)

        run_store_op(
            self,
            prefixes,
            failure="Cannot read the cache state",
            done=lambda m: m,
            group="prefixes",
        )

    async def on_prefixes_loaded(self, message: PrefixesLoaded) -> None:
        self.ledger.record_all(message.events)
        self.sidebar.list.set_hashes(message.hashes)
        self.sidebar.list.tick(self.ledger, await services(self).current_time())

    @on(SidebarList.Chosen)
    def _item_chosen(self, event: SidebarList.Chosen) -> None:
        event.stop()
        self.sidebar.close()
        group = event.item.group
        if group is not None:
            if self.group is not None and self.group.key == group:
                self._focus_home()
            elif self._ready(need_context=False):
                self.observed.select(group)
            return
        context_id = event.item.context_id
        if context_id is None:
            return
        if self.ctx is not None and context_id == self.ctx.id:
            self._focus_home()
            return
        if self._ready(need_context=False):
            self.select_context(context_id)

    def select_context(self, context_id: int) -> None:
        """Load a context, its latest conversation, its recent calls and its cache events."""
        model_for = services(self).model_for

        async def load(store: Store) -> ContextLoaded | None:
            from promptcache_tui.core.context import ContextError
            from promptcache_tui.core.overview import breakpoint_hashes
            from promptcache_tui.store import CallFilter

            ctx = await store.contexts.get_by_id(context_id)
            if ctx is None:
                self.notify("That context no longer exists.", severity="warning")
                return None
            conversation_id = await store.conversations.latest(context_id)
            turns = await store.conversations.turns(conversation_id) if conversation_id else []
            records = await store.calls.history(CallFilter(context=ctx.name), limit=50)
            try:
                hashes = breakpoint_hashes(ctx, model_for(ctx.model))
            except ContextError:
                hashes = []  # an invalid context has no cache entries to look up
            events: list[CacheEvent] = await store.calls.cache_events(hashes)
            return ContextLoaded(ctx, conversation_id, turns, records, events)

        run_store_op(
            self, load, failure="Cannot load the context", done=lambda m: m, group="select"
        )

    async def on_context_loaded(self, message: ContextLoaded) -> None:
        ctx = message.context
        self.ctx = ctx
        self._show_observed(None)
        model = self.model
        self.ledger.record_all(message.events)
        self.app.sub_title = f"{services(self).settings.mode_label()} · {model}"
        self.sidebar.list.mark_active(f"{CONTEXT}:{ctx.id}")
        self.warming.follow(ctx, model)
        await self.cache.show_context(ctx, model, self.ledger)
        self.cache.usage.show(message.records, ctx.name)
        await self.chat.show_context(ctx, model, message.conversation_id, message.turns)

    # -- observed traffic ------------------------------------------------------------------

    def _show_observed(self, group: ObservedGroup | None) -> None:
        """Show an observed group where the chat would be (None: the chat again)."""
        was = self.group is not None
        self.group = group
        self.set_class(group is not None, "-observed")
        tab = self.query_one("#views", Tabs).query_one("#chat", Tab)
        label = "Group" if group is not None else "Chat"
        if str(tab.label) != label:
            tab.label = label
        if was and group is None and self.has_class("-view-chat"):
            self.chat.input.focus()

    async def on_group_loaded(self, message: GroupLoaded) -> None:
        group = message.group
        self.ctx = None
        self._show_observed(group)
        key = f"{group.kind}:{group.key}"
        if self._merge_groups([group]):
            self._show_sidebar(key)
        else:
            self.sidebar.list.mark_active(key)
        mode = services(self).settings.mode_label()
        self.app.sub_title = f"{mode} · observed · {group.model or '?'}"
        now = await services(self).current_time()
        await self.cache.show_group(group, now)
        self.cache.usage.show(message.records, group.name, group=group.key, misses=message.misses)
        self.observed_pane.show(
            group, message.totals, message.records, services(self).wall_now(), message.misses
        )
        self._label_cache_tab(now)
        if not self.has_class("-narrow") or self.has_class("-view-chat"):
            self.observed_pane.focus_first()

    def _merge_groups(self, groups: list[ObservedGroup]) -> bool:
        """Take fresher copies of some groups (new ones too), most recently active first;
        whether the sidebar's list changed."""
        if not groups:
            return False
        fresh = {g.key: g for g in groups}
        merged = [fresh.pop(g.key, g) for g in self._groups] + list(fresh.values())
        merged.sort(key=lambda g: g.last_ts or "", reverse=True)
        from promptcache_tui.ui.observed_actions import GROUP_LIMIT

        merged = merged[:GROUP_LIMIT]
        changed = merged != self._groups
        self._groups = merged
        return changed

    async def on_groups_loaded(self, message: GroupsLoaded) -> None:
        if message.complete:
            self._groups = list(message.groups)
        else:
            self._merge_groups(message.groups)
        await self._groups_changed(message.groups)

    async def _groups_changed(self, groups: list[ObservedGroup]) -> None:
        """The sidebar, and the shown group's caches and summary, as the log now has them."""
        self._show_sidebar()
        now = await services(self).current_time()
        self.sidebar.list.tick(self._ledger, now)
        shown = self.group
        fresh = next((g for g in groups if shown is not None and g.key == shown.key), None)
        if fresh is not None:
            self.group = fresh
            await self.cache.show_group(fresh, now)
            self.observed_pane.show(
                fresh,
                None,
                self.cache.usage.records,
                services(self).wall_now(),
                self.cache.usage.misses,
            )
            self._label_cache_tab(now)

    async def on_calls_followed(self, message: CallsFollowed) -> None:
        """Calls any process logged or settled: the ledger, the calls shown, the groups."""
        records = [*message.added, *message.settled]
        # An entry is (model, prefix): whoever wrote or read it, a context's countdown moves.
        self.ledger.record_all(message.events)
        if self.query("#cache-pane"):
            self.cache.usage.follow(records, message.misses)
        self._merge_groups(message.groups)
        if message.groups:
            await self._groups_changed(message.groups)
        if (
            message.totals is not None
            and self.group is not None
            and message.shown == self.group.key
        ):
            self.observed_pane.show(
                self.group,
                message.totals,
                self.cache.usage.records,
                services(self).wall_now(),
                self.cache.usage.misses,
            )
        await self._countdowns()

    def on_group_renamed(self, message: GroupRenamed) -> None:
        self.notify(message.notice)
        self.observed.load_groups([message.key])

    def on_save_ready(self, message: SaveReady) -> None:
        self.observed.save(message, self.sidebar.list.names())

    def action_save_as_context(self) -> None:
        """Copy an observed call's prefix into a named context, and open it."""
        if not self._ready(need_context=False):
            return
        group = self.group
        if group is None:
            self.notify(
                "Save as context copies an observed call's prefix: pick a group under "
                "'Through the proxy' first (ctrl+l). To copy a context, duplicate it (f4).",
                severity="warning",
            )
            return
        if group.kind != "proxy":
            self.notify(
                "A Claude Code transcript keeps usage, not the prompt: there is no prefix to "
                "save. Run Claude Code through the proxy (promptcache-tui proxy) to save one.",
                severity="warning",
                timeout=10,
            )
            return
        highlighted = self.cache.usage.highlighted
        self.observed.prepare_save(group, highlighted.id if highlighted is not None else None)

    def action_history(self) -> None:
        """Every logged call; with an observed group shown, that group's calls."""
        from promptcache_tui.ui.screens.history import HistoryScreen

        app = services(self)
        group = self.group
        self.app.push_screen(
            HistoryScreen(
                db_path=app.settings.db_path,
                clock=app.wall_now,
                group=(group.key, group.name) if group is not None else None,
            )
        )

    async def _show_nothing(self, hint: str) -> None:
        self._show_observed(None)
        self.app.sub_title = services(self).settings.mode_label()
        await self.cache.show_context(None, "", self.ledger)
        self.cache.usage.show([], None)
        await self.chat.show_nothing(hint)

    async def on_context_saved(self, message: ContextSaved) -> None:
        from promptcache_tui.ui.screens.welcome import WelcomeScreen

        if message.context_id is not None and isinstance(self.app.screen, WelcomeScreen):
            await self.app.pop_screen()  # first: the notice belongs on this screen
        if message.notice:
            self.notify(message.notice)
        if message.context_id is None:
            self.ctx = None
        if message.chat and self.has_class("-narrow"):
            self.show_view("chat")
        self.load_contexts(message.context_id)

    # -- what calls report -----------------------------------------------------------------

    async def on_call_finished(self, message: CallFinished) -> None:
        from promptcache_tui.calls.service import feed_ledger

        record = message.record
        if record.status == "ok":
            feed_ledger(self.ledger, record)
            await self._countdowns()
        self.post_message(UsageLogged(record))

    async def on_warm_finished(self, message: WarmFinished) -> None:
        from promptcache_tui.calls.service import feed_ledger

        if message.record.status == "ok":
            feed_ledger(self.ledger, message.record)
            await self._countdowns()
        self.post_message(UsageLogged(message.record))

    async def _countdowns(self) -> None:
        """Show what the ledger says now (a call just refreshed some entries)."""
        now = await services(self).current_time()
        self.cache.tick(now)
        self._label_cache_tab(now)
        self.sidebar.list.tick(self.ledger, now)

    def on_usage_logged(self, message: UsageLogged) -> None:
        self.cache.usage.add(message.record)

    def on_keep_warm_status(self, message: KeepWarmStatus) -> None:
        if self.query("#cache-pane"):
            self.cache.usage.show_keep_warm(message.text)

    def on_keep_warm_saved(self, message: KeepWarmSaved) -> None:
        if message.error:  # not stored: show the flag as it was
            enabled = not message.context.keep_warm
            if self.ctx is not None and self.ctx.id == message.context.id:
                self.ctx = self.ctx.with_changes(keep_warm=enabled)
                self.cache.show_keep_warm(enabled)

    # -- actions ---------------------------------------------------------------------------

    def action_focus_contexts(self) -> None:
        """Open the contexts list (or go back to the input) to pick what to chat with."""
        sidebar = self.sidebar
        if sidebar.list.has_focus:
            sidebar.close()
            self._focus_home()
        else:
            sidebar.open()

    def action_close_sidebar(self) -> None:
        """Close the contexts list opened over the chat."""
        if self.sidebar.is_open:
            self.sidebar.close()
            self._focus_home()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The view key only where the chat, cache and calls do not all fit."""
        if action == "next_view":
            return self.has_class("-narrow") or self.has_class("-short")
        if action == "close_sidebar":
            return self.sidebar.is_open
        if action == "save_as_context":  # while a group is shown (a session's says why not)
            return self.group is not None
        return True

    def action_next_view(self) -> None:
        """Show the next view: chat, cache, calls (when they do not fit side by side)."""
        if self.has_class("-narrow"):
            current = next((v for v in VIEWS if self.has_class(f"-view-{v}")), "chat")
            if current == "cache" and self.cache.view == "calls":
                current = "calls"
            self.show_view(VIEWS[(VIEWS.index(current) + 1) % len(VIEWS)])
        else:
            self.show_view("calls" if self.cache.view == "cache" else "cache")

    def show_view(self, view: str) -> None:
        """Chat, cache or calls: which view shows where only one fits."""
        for name in VIEWS:
            self.set_class(name == view, f"-view-{name}")
        if view != "chat":
            self.cache.show_view(view)
        tabs = self.query_one("#views", Tabs)
        if tabs.active != view:
            tabs.active = view
        if view == "chat":
            self._focus_home()
        elif self.has_class("-narrow"):
            # The input is hidden: keys go to what is shown (the calls table), not into it.
            if view == "calls":
                self.cache.usage.query_one("#usage-table").focus()
            else:
                self.set_focus(None)

    @on(Tabs.TabActivated, "#views")
    def _view_tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id in VIEWS and not self.has_class(f"-view-{event.tab.id}"):
            self.show_view(event.tab.id)

    async def action_new_conversation(self) -> None:
        """Start a new conversation; the context's cache stays warm."""
        await self.chat.new_conversation()

    def action_open_conversation(self) -> None:
        """Pick a stored conversation of this context to resume."""
        self.chat.open_conversation()

    def action_scroll_chat(self, direction: int) -> None:
        """Scroll the conversation a page (the input keeps the focus)."""
        self.chat.scroll(direction)

    def action_new_context(self) -> None:
        """Create a context: name, files, system text, model."""
        if self._ready(need_context=False):
            self.actions.new(self.sidebar.list.names())

    def action_create_demo(self) -> None:
        """Add the demo context (the welcome screen's key)."""
        self.actions.demo()

    def action_edit_context(self) -> None:
        """Edit the selected context's blocks and breakpoints."""
        if self._ready():
            assert self.ctx is not None
            self.actions.edit(self.ctx, self.sidebar.list.names())

    def action_rename_context(self) -> None:
        """Give the selected context (or observed group) a new name (its history follows)."""
        if self.group is not None:
            if self._ready(need_context=False):
                self.observed.rename(self.group)
            return
        if self._ready():
            assert self.ctx is not None
            self.actions.rename(self.ctx, self.sidebar.list.names())

    def action_duplicate_context(self) -> None:
        """Copy the selected context under a new name (an observed group: save as context)."""
        if self.group is not None:
            self.action_save_as_context()
            return
        if self._ready():
            assert self.ctx is not None
            self.actions.duplicate(self.ctx, self.sidebar.list.names())

    def action_delete_context(self) -> None:
        """Delete the selected context, after asking."""
        if self._ready():
            assert self.ctx is not None
            self.actions.delete(self.ctx)

    def action_warm_now(self) -> None:
        """Pre-warm the selected context now: a prefill-only call, logged as kind warm."""
        if self._ready():
            assert self.ctx is not None
            self.warming.warm_now(self.ctx, self.model)

    def action_toggle_keep_warm(self) -> None:
        """Turn keep-warm on or off for the selected context (stored with the context)."""
        if self._ready(idle=False):
            assert self.ctx is not None
            self.ctx = self.warming.toggle(self.ctx, self.model)
            self.cache.show_keep_warm(self.ctx.keep_warm)

    def action_plan_ttl(self) -> None:
        """Open the TTL planner for the selected context."""
        if not self._ready(idle=False):
            return
        from promptcache_tui.calls.planning import recent_gap

        ctx, model = self.ctx, self.model
        assert ctx is not None
        run_store_op(
            self,
            lambda store: recent_gap(store, ctx),
            failure="Cannot read the call history",
            done=lambda gap: PlannerReady(ctx, model, gap),
            group="planner",
        )

    def on_planner_ready(self, message: PlannerReady) -> None:
        from promptcache_tui.ui.screens.planner import PlannerScreen

        self.app.push_screen(
            PlannerScreen(
                message.context,
                message.model,
                services(self).require_catalog(),
                message.gap_s,
                ping_lead_s=self.keep_warm.policy.lead_s,
            )
        )


def _build_cache_pane() -> Widget:
    """The cache pane, imported only when it is mounted (after the first frame)."""
    from promptcache_tui.ui.parts.cache_pane import CachePane

    return CachePane(id="cache-pane")


def _build_observed_pane() -> Widget:
    """The observed pane, imported only when it is mounted (after the first frame)."""
    from promptcache_tui.ui.parts.observed_pane import ObservedPane

    return ObservedPane(id="observed-pane")
