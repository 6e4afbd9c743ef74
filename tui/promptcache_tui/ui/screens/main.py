"""The main screen: contexts on the left, the chat in the centre, breakpoints and usage right.

State it owns: the selected context, the current conversation and its turns, the TTL ledger,
whether a call is in flight, and keep-warm (the contexts it watches, its session counter).
Workers fetch and send; their results come back as messages (see `ui.messages`) and only the
handlers here touch the widgets.

Keep-warm covers the contexts with keep-warm on that were selected in this session (the
selected one included): selecting a context loads its cache events into the ledger, so their
countdowns are known. Contexts never selected since the app started are not pinged, nor is
any context once the app stops. The ledger sees only calls logged by this app and those
logged before a context was selected: a call made from the shell meanwhile may make a ping
unnecessary (it then costs one cache read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, OptionList

from promptcache_tui.core.sanitize import terminal_safe
from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.messages import (
    CallFailed,
    CallFinished,
    CallStarted,
    ContextLoaded,
    ContextSaved,
    ContextsLoaded,
    ConversationLoaded,
    ConversationsListed,
    KeepWarmSaved,
    PlannerReady,
    PromptSubmitted,
    TextDelta,
    TokensCounted,
    UsageLogged,
    WarmFailed,
    WarmFinished,
)
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel
from promptcache_tui.ui.widgets.chat_view import ChatView
from promptcache_tui.ui.widgets.contexts_list import ContextsList
from promptcache_tui.ui.widgets.prompt_input import PromptInput
from promptcache_tui.ui.widgets.usage_panel import UsagePanel, warm_summary

if TYPE_CHECKING:
    from promptcache_tui.core.context import Context
    from promptcache_tui.core.keepwarm import KeepWarm
    from promptcache_tui.core.request import Turn
    from promptcache_tui.core.ttl import EntryState, TTLLedger
    from promptcache_tui.ui.app import PromptCacheApp
    from promptcache_tui.ui.widgets.answer_turn import AnswerStream

TICK_SECONDS = 1.0
STARTING_HINT = "Opening the store…"


@dataclass(frozen=True, slots=True)
class WarmTarget:
    """A context keep-warm watches: the model its calls use and its breakpoints' hashes."""

    ctx: Context
    model: str
    hashes: tuple[str, ...]


def entry_to_ping(ledger: TTLLedger, target: WarmTarget, now: float) -> EntryState | None:
    """The context's soonest-expiring warm entry (a ping reads or writes all of them), or
    None when none is warm: keep-warm never pings a cold or expired context."""
    warm = [
        state
        for h in target.hashes
        if (state := ledger.state(target.model, h, now)).state == "warm"
    ]
    return min(warm, key=lambda e: e.remaining or 0.0) if warm else None


class MainScreen(Screen[None]):
    """Contexts, chat, breakpoints and usage."""

    AUTO_FOCUS = "#prompt"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new_conversation", "New chat", id="main.new_conversation"),
        Binding("ctrl+o", "open_conversation", "Chats", id="main.open_conversation"),
        Binding("ctrl+l", "focus_contexts", "Contexts", id="main.focus_contexts"),
        Binding("ctrl+t", "new_context", "New ctx", id="main.new_context"),
        Binding("f2", "edit_context", "Edit", id="main.edit_context"),
        Binding("f3", "rename_context", "Rename", id="main.rename_context"),
        Binding("f4", "duplicate_context", "Copy", id="main.duplicate_context"),
        Binding("f8", "delete_context", "Delete", id="main.delete_context"),
        Binding("ctrl+r", "app.history", "History", id="main.history"),
        Binding("f5", "warm_now", "Warm", id="main.warm_now"),
        Binding("f7", "toggle_keep_warm", "Keep-warm", id="main.keep_warm"),
        Binding("f9", "plan_ttl", "Plan TTL", id="main.plan_ttl"),
        # Scrolling is conventional, so it stays out of the crowded footer (the palette has it).
        Binding("pageup", "scroll_chat(-1)", "Scroll chat up", show=False, id="main.scroll_up"),
        Binding(
            "pagedown", "scroll_chat(1)", "Scroll chat down", show=False, id="main.scroll_down"
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ctx: Context | None = None
        self._counted: TokensCounted | None = None  # live prefix counts, if any
        self.conversation_id: int | None = None
        self.turns: list[Turn] = []
        self.busy = False
        self._ledger: TTLLedger | None = None
        self._stream: AnswerStream | None = None
        self._keeper: KeepWarm | None = None
        self._warm_targets: dict[int, WarmTarget] = {}
        self._warming: set[int] = set()  # context ids with a warm call in flight
        self._unpriced_pings = 0  # KeepWarm counts an unknown price as $0: say so

    @property
    def pc_app(self) -> PromptCacheApp:
        """The app, typed."""
        return cast("PromptCacheApp", self.app)

    @property
    def ledger(self) -> TTLLedger:
        """The TTL ledger (created on first use, after the first frame)."""
        if self._ledger is None:
            from promptcache_tui.core.ttl import TTLLedger

            self._ledger = TTLLedger(clock=self.pc_app.now)
        return self._ledger

    @property
    def keeper(self) -> KeepWarm:
        """Keep-warm's session state: pings sent, dollars spent, caps (created on first use)."""
        if self._keeper is None:
            from promptcache_tui.core.keepwarm import KeepWarm, KeepWarmPolicy

            self._keeper = KeepWarm(self.pc_app.keep_warm_policy or KeepWarmPolicy())
        return self._keeper

    @property
    def model(self) -> str:
        """The model calls use: the session's --model, else the context's own."""
        return self.pc_app.settings.model or (self.ctx.model if self.ctx else "")

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Label("Contexts", classes="pane-title")
                yield ContextsList(id="contexts")
            with Vertical(id="centre"):
                yield ChatView(id="chat")
                yield PromptInput(
                    placeholder="Ask about the selected context · Enter sends", id="prompt"
                )
            # The right column and the footer mount just after the first frame: they are
            # the costly part of it (see benchmarks/bench_startup.py).
            yield Lazy(
                Vertical(
                    BreakpointPanel(id="breakpoints"),
                    UsagePanel(self.pc_app.wall_now, id="usage"),
                    id="right",
                )
            )
        yield Lazy(Footer(compact=True))

    def on_mount(self) -> None:
        self.pc_app.settle_cursor(self)
        # One timer for every countdown; an async callback never queues up behind itself.
        self.set_interval(TICK_SECONDS, self.tick)

    async def tick(self) -> None:
        """Once a second: update the countdown labels and start any keep-warm ping due."""
        if self.ctx is None and not self._warm_targets:
            return
        now = await self.pc_app.current_time()
        if self.ctx is not None:
            self.query_one(BreakpointPanel).tick(self.ledger, now)
        if self._warm_targets:
            self._ping_due(now)

    def backend_failed(self, error: str) -> None:
        """Show why nothing works in the chat area."""
        self.run_worker(
            self.query_one(ChatView).show_turns([], f"Cannot start: {error}"),
            group="chat-hint",
            exclusive=True,
        )

    # -- guards --------------------------------------------------------------------------

    async def _lazy_mounted(self) -> None:
        """Wait (briefly, at start-up only) until the lazily mounted panels exist."""
        for _ in range(400):
            if self.query(UsagePanel) and self.query(BreakpointPanel):
                return
            await asyncio.sleep(0.005)

    def _ready(self, *, need_context: bool = True, idle: bool = True) -> bool:
        if not self.pc_app.ready:
            self.notify("Still starting: the store is not open yet.", severity="warning")
            return False
        if idle and self.busy:
            self.notify("A call is in progress: wait for the answer to finish.", severity="warning")
            return False
        if need_context and self.ctx is None:
            self.notify("Select or create a context first (ctrl+t).", severity="warning")
            return False
        return True

    # -- contexts --------------------------------------------------------------------------

    @work(exclusive=True, group="contexts", exit_on_error=False)
    async def load_contexts(self, select_id: int | None = None) -> None:
        """Fetch the contexts list (most recently used first)."""
        store = self.pc_app.store
        assert store is not None
        await self._lazy_mounted()
        try:
            summaries = await store.contexts.list()
        except Exception as exc:
            self._error(exc, "Cannot list contexts")
            return
        self.post_message(ContextsLoaded(summaries, select_id))

    async def on_contexts_loaded(self, message: ContextsLoaded) -> None:
        from promptcache_tui.ui.screens.welcome import WelcomeScreen

        summaries = message.summaries
        contexts = self.query_one(ContextsList)
        # A deleted context is no longer kept warm.
        listed = {s.id for s in summaries}
        for gone in [cid for cid in self._warm_targets if cid not in listed]:
            del self._warm_targets[gone]
        self._show_keep_warm()
        if not summaries:
            self.ctx = None
            contexts.show([], None)
            await self._clear_context()
            if not isinstance(self.app.screen, WelcomeScreen):
                self.app.push_screen(WelcomeScreen(self.pc_app.settings.mode_label()))
            return
        if isinstance(self.app.screen, WelcomeScreen):
            self.app.pop_screen()
        ids = [s.id for s in summaries]
        current = self.ctx.id if self.ctx else None
        pick = (
            message.select_id
            if message.select_id in ids
            else (current if current in ids else ids[0])
        )
        contexts.show(summaries, pick)
        if pick != current or message.select_id is not None:
            self.select_context(pick)

    @on(OptionList.OptionSelected, "#contexts")
    def _context_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        context_id = int(event.option.id or 0)
        if self.ctx is not None and context_id == self.ctx.id:
            self.query_one(PromptInput).focus()
            return
        if self._ready(need_context=False):
            self.select_context(context_id)

    @work(exclusive=True, group="select", exit_on_error=False)
    async def select_context(self, context_id: int) -> None:
        """Load a context, its latest conversation, its recent calls and its cache events."""
        from promptcache_tui.core.context import ContextError
        from promptcache_tui.core.overview import breakpoint_hashes
        from promptcache_tui.store import CallFilter

        store = self.pc_app.store
        assert store is not None
        try:
            ctx = await store.contexts.get_by_id(context_id)
            if ctx is None:
                self.notify("That context no longer exists.", severity="warning")
                return
            conversation_id = await store.conversations.latest(context_id)
            turns = await store.conversations.turns(conversation_id) if conversation_id else []
            records = await store.calls.history(CallFilter(context=ctx.name), limit=50)
            model = self.pc_app.settings.model or ctx.model
            try:
                hashes = breakpoint_hashes(ctx, model)
            except ContextError:
                hashes = []  # an invalid context has no cache entries to look up
            events = await store.calls.cache_events(hashes)
        except Exception as exc:
            self._error(exc, "Cannot load the context")
            return
        self.post_message(ContextLoaded(ctx, conversation_id, turns, records, events))

    async def on_context_loaded(self, message: ContextLoaded) -> None:
        ctx = message.context
        self.ctx = ctx
        self.conversation_id = message.conversation_id
        self.turns = list(message.turns)
        self.ledger.record_all(message.events)
        self.pc_app.sub_title = f"{self.pc_app.settings.mode_label()} · {self.model}"
        self.query_one(ContextsList).mark_active(ctx.id)
        self._watch(ctx)
        await self.show_breakpoints()
        await self.query_one(ChatView).show_turns(self.turns, self._hint())
        self.query_one(UsagePanel).show(message.records, ctx.name)
        self.query_one(PromptInput).focus()
        if self.pc_app.settings.live:
            self.count_prefix_tokens(ctx, self.model)

    @work(exclusive=True, group="count-tokens", exit_on_error=False)
    async def count_prefix_tokens(self, ctx: Context, model: str) -> None:
        """Live: count each breakpoint's prefix with count_tokens (estimates until then)."""
        from promptcache_tui.core.overview import breakpoint_hashes

        service = self.pc_app.service
        if service is None:
            return
        counts = await service.counted_prefix_tokens(ctx, model)
        if counts is not None:
            self.post_message(TokensCounted(tuple(breakpoint_hashes(ctx, model)), model, counts))

    async def on_tokens_counted(self, message: TokensCounted) -> None:
        self._counted = message
        await self.show_breakpoints()

    def _counts_for(self, ctx: Context) -> list[int] | None:
        """The live counts, if they were made for this context's current prefixes and model."""
        from promptcache_tui.core.overview import breakpoint_hashes

        counted = self._counted
        if counted is None or counted.model != self.model:
            return None
        return (
            counted.counts if counted.hashes == tuple(breakpoint_hashes(ctx, self.model)) else None
        )

    def _hint(self) -> str:
        if self.ctx is None:
            return "No context selected."
        return (
            f"New conversation with {self.ctx.name} ({self.model}). Type a question and "
            "press Enter: the first call writes the cache, the next ones read it."
        )

    async def show_breakpoints(self) -> None:
        """Rebuild the breakpoint rows for the selected context and model."""
        from promptcache_tui.core.context import ContextError
        from promptcache_tui.core.overview import breakpoint_views

        panel = self.query_one(BreakpointPanel)
        catalog = self.pc_app.catalog
        panel.show_keep_warm(self.ctx.keep_warm if self.ctx else None)
        if self.ctx is None or catalog is None:
            await panel.show([], "", "No context selected.")
            return
        now = await self.pc_app.current_time()
        try:
            views = breakpoint_views(
                self.ctx,
                catalog,
                self.ledger,
                model=self.model,
                now=now,
                prefix_tokens=self._counts_for(self.ctx),
            )
        except ContextError as exc:
            await panel.show([], self.model, f"This context cannot be sent: {exc}")
            return
        await panel.show(
            views, self.model, "No breakpoints: nothing is cached. Add one in the editor (f2)."
        )

    async def _clear_context(self) -> None:
        self.conversation_id = None
        self.turns = []
        self.pc_app.sub_title = self.pc_app.settings.mode_label()
        await self.show_breakpoints()
        await self.query_one(ChatView).show_turns([], "No contexts yet.")
        self.query_one(UsagePanel).show([], None)

    # -- chat ----------------------------------------------------------------------------

    async def on_prompt_submitted(self, message: PromptSubmitted) -> None:
        from promptcache_tui.core.context import check_context

        if not self._ready():
            return
        assert self.ctx is not None
        problems = check_context(self.ctx)
        if problems:
            self.notify(
                f"{problems[0]} (fix it in the editor, f2)", title="Cannot send", severity="error"
            )
            return
        self.query_one(PromptInput).value = ""
        self.busy = True
        self._stream = await self.query_one(ChatView).start_exchange(message.text)
        self.send(self.ctx, message.text, self.conversation_id, tuple(self.turns), self.model)

    @work(exclusive=True, group="call", exit_on_error=False)
    async def send(
        self,
        ctx: Context,
        prompt: str,
        conversation_id: int | None,
        history: Sequence[Turn],
        model: str,
    ) -> None:
        """Send one chat call; the service streams, measures and logs it."""
        from promptcache_tui.core.request import Turn

        store, service = self.pc_app.store, self.pc_app.service
        assert store is not None and service is not None and ctx.id is not None

        def on_text(text: str) -> None:
            self.post_message(TextDelta(terminal_safe(text)))  # an answer may quote escapes

        try:
            if conversation_id is None:
                conversation_id = await store.conversations.create(ctx.id)
            self.post_message(CallStarted(conversation_id))
            record = await service.run(
                ctx,
                prompt,
                kind="chat",
                history=history,
                conversation_id=conversation_id,
                model=model,
                on_text=on_text,
            )
            if record.status == "ok":
                await store.conversations.append(
                    conversation_id,
                    [Turn("user", prompt), Turn("assistant", record.answer or "")],
                    call_id=record.id,
                )
        except Exception as exc:
            self.post_message(CallFailed(prompt, one_line(exc)))
            return
        self.post_message(CallFinished(record, prompt))

    def on_call_started(self, message: CallStarted) -> None:
        self.conversation_id = message.conversation_id

    async def on_text_delta(self, message: TextDelta) -> None:
        if self._stream is not None:
            await self._stream.write(message.text)

    async def _end_stream(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()
        self.query_one(ChatView).finish_exchange()
        self.busy = False

    async def on_call_finished(self, message: CallFinished) -> None:
        from promptcache_tui.calls.service import feed_ledger
        from promptcache_tui.core.request import Turn

        await self._end_stream()
        record = message.record
        if record.status == "ok":
            self.turns += [Turn("user", message.prompt), Turn("assistant", record.answer or "")]

            feed_ledger(self.ledger, record)
            self.query_one(BreakpointPanel).tick(self.ledger, await self.pc_app.current_time())
        else:
            await self._give_back(message.prompt, record.error or "the call failed")
        self.post_message(UsageLogged(record))

    async def on_call_failed(self, message: CallFailed) -> None:
        await self._end_stream()
        await self._give_back(message.prompt, message.error)

    async def _give_back(self, prompt: str, error: str) -> None:
        await self.query_one(ChatView).drop_exchange()
        self.query_one(PromptInput).restore(prompt)
        self.query_one(PromptInput).focus()
        self.notify(
            f"{error}\nYour prompt is back in the input.",
            title="Call failed",
            severity="error",
            timeout=10,
        )

    def on_usage_logged(self, message: UsageLogged) -> None:
        self.query_one(UsagePanel).add(message.record)

    # -- warm calls and keep-warm ---------------------------------------------------------

    def action_warm_now(self) -> None:
        """Pre-warm the selected context now: a prefill-only call, logged as kind warm."""
        if not self._ready():
            return
        from promptcache_tui.core.context import check_context

        assert self.ctx is not None and self.ctx.id is not None
        problems = check_context(self.ctx)
        if problems:
            self.notify(
                f"{problems[0]} (fix it in the editor, f2)", title="Cannot warm", severity="error"
            )
            return
        if not self.ctx.breakpoints:
            self.notify(
                "No breakpoints: there is nothing to warm. Add one in the editor (f2).",
                severity="warning",
            )
            return
        if self.ctx.id in self._warming:
            self.notify(f"{self.ctx.name} is being warmed already.", severity="warning")
            return
        self._warming.add(self.ctx.id)
        self.warm_now(self.ctx, self.model)

    @work(group="warm", exit_on_error=False)
    async def warm_now(self, ctx: Context, model: str) -> None:
        """The warm key's call."""
        await self._warm_call(ctx, model, ping=False)

    @work(group="keep-warm", exit_on_error=False)
    async def ping(self, ctx: Context, model: str) -> None:
        """A keep-warm ping: the same prefill-only call, sent by the tick."""
        await self._warm_call(ctx, model, ping=True)

    async def _warm_call(self, ctx: Context, model: str, *, ping: bool) -> None:
        service = self.pc_app.service
        assert service is not None and ctx.id is not None
        try:
            record = await service.run(ctx, None, kind="warm", model=model)
        except Exception as exc:
            self.post_message(WarmFailed(ctx.id, ctx.name, one_line(exc), ping))
            return
        self.post_message(WarmFinished(record, ctx.id, ping))

    async def on_warm_finished(self, message: WarmFinished) -> None:
        from promptcache_tui.calls.service import feed_ledger

        self._warming.discard(message.context_id)
        record = message.record
        if message.ping:
            self.keeper.paid(record.cost.cost_usd)
            if record.cost.cost_usd is None:
                self._unpriced_pings += 1
        if record.status == "ok":
            feed_ledger(self.ledger, record)
            if self.ctx is not None:
                self.query_one(BreakpointPanel).tick(self.ledger, await self.pc_app.current_time())
        self.post_message(UsageLogged(record))
        self._show_keep_warm()
        title = "Keep-warm ping" if message.ping else "Warmed"
        failed = record.status != "ok"
        self.notify(
            f"{record.context}: {warm_summary(record)}",
            title=f"{title} failed" if failed else title,
            severity="error" if failed else "information",
            timeout=8,
        )

    def on_warm_failed(self, message: WarmFailed) -> None:
        self._warming.discard(message.context_id)
        title = "Keep-warm ping failed" if message.ping else "Cannot warm"
        self.notify(
            f"{message.context}: {message.error}", title=title, severity="error", timeout=10
        )

    def _ping_due(self, now: float) -> None:
        """Start a ping for each watched context whose cache is about to expire (no I/O:
        the ping runs in its own worker, and `KeepWarm.sent` stops the next tick resending)."""
        keeper = self.keeper
        for cid, target in list(self._warm_targets.items()):
            if cid in self._warming or (self.busy and self.ctx is not None and self.ctx.id == cid):
                continue  # a call in flight refreshes the cache anyway
            entry = entry_to_ping(self.ledger, target, now)
            if entry is None or not keeper.due(cid, entry, enabled=target.ctx.keep_warm):
                continue
            keeper.sent(cid, entry)
            self._warming.add(cid)
            self._show_keep_warm()
            self.ping(target.ctx, target.model)

    def _watch(self, ctx: Context) -> None:
        """Start or stop keeping a context warm, following its keep-warm flag."""
        from promptcache_tui.core.context import ContextError
        from promptcache_tui.core.overview import breakpoint_hashes

        if ctx.id is None:
            return
        model = self.pc_app.settings.model or ctx.model
        try:
            hashes = tuple(breakpoint_hashes(ctx, model)) if ctx.keep_warm else ()
        except ContextError:
            hashes = ()  # an invalid context cannot be sent, so it cannot be pinged
        if hashes:
            self._warm_targets[ctx.id] = WarmTarget(ctx, model, hashes)
        else:
            self._warm_targets.pop(ctx.id, None)
        self._show_keep_warm()

    def _show_keep_warm(self) -> None:
        """The ping counter, shown while keep-warm watches a context or has pinged."""
        if not self.query(UsagePanel):
            return
        keeper = self.keeper
        if not self._warm_targets and not keeper.pings:
            self.query_one(UsagePanel).show_keep_warm(None)
            return
        names = ", ".join(sorted(t.ctx.name for t in self._warm_targets.values()))
        policy = keeper.policy
        limits = (
            "" if keeper.capped else f" · limits {policy.max_pings} pings, ${policy.max_usd:.2f}"
        )
        watching = f" · on for {names}" if names else ""
        unknown = (
            f" · cost of {self._unpriced_pings} unknown (model not priced)"
            if self._unpriced_pings
            else ""
        )
        self.query_one(UsagePanel).show_keep_warm(f"{keeper.summary()}{unknown}{limits}{watching}")

    def action_toggle_keep_warm(self) -> None:
        """Turn keep-warm on or off for the selected context (stored with the context)."""
        if not self._ready(idle=False):
            return
        assert self.ctx is not None
        ctx = self.ctx.with_changes(keep_warm=not self.ctx.keep_warm)
        self._set_keep_warm(ctx)
        self.save_keep_warm(ctx)

    def _set_keep_warm(self, ctx: Context) -> None:
        if self.ctx is not None and self.ctx.id == ctx.id:
            self.ctx = self.ctx.with_changes(keep_warm=ctx.keep_warm)
            self.query_one(BreakpointPanel).show_keep_warm(ctx.keep_warm)
        self._watch(ctx)

    @work(group="keep-warm-save", exit_on_error=False)
    async def save_keep_warm(self, ctx: Context) -> None:
        """Store the context's keep-warm flag."""
        store = self.pc_app.store
        assert store is not None
        try:
            await store.contexts.save(ctx)
        except Exception as exc:
            self.post_message(KeepWarmSaved(ctx, one_line(exc)))
            return
        self.post_message(KeepWarmSaved(ctx))

    async def on_keep_warm_saved(self, message: KeepWarmSaved) -> None:
        ctx = message.context
        if message.error:
            self._set_keep_warm(ctx.with_changes(keep_warm=not ctx.keep_warm))
            self.notify(
                message.error, title="Cannot change keep-warm", severity="error", timeout=10
            )
            return
        if not ctx.keep_warm:
            self.notify(f"Keep-warm off for {ctx.name}.")
            return
        target = self._warm_targets.get(ctx.id or -1)
        if target is None:
            self.notify(
                f"Keep-warm on for {ctx.name}, but it has no breakpoint to keep warm "
                "(add one in the editor, f2).",
                severity="warning",
                timeout=10,
            )
            return
        policy = self.keeper.policy
        now = await self.pc_app.current_time()
        cold = (
            ""
            if entry_to_ping(self.ledger, target, now)
            else (" Nothing of it is cached now: warm it or send a prompt first.")
        )
        self.notify(
            f"Keep-warm on for {ctx.name}: a prefill-only ping {policy.lead_s:.0f} s "
            f"before its cache expires, while the app runs (at most "
            f"{policy.max_pings} pings and ${policy.max_usd:.2f} this session).{cold}",
            timeout=10,
        )

    # -- the TTL planner ------------------------------------------------------------------

    def action_plan_ttl(self) -> None:
        """Open the TTL planner for the selected context."""
        if self._ready(idle=False):
            assert self.ctx is not None
            self.find_gap(self.ctx, self.model)

    @work(exclusive=True, group="planner", exit_on_error=False)
    async def find_gap(self, ctx: Context, model: str) -> None:
        """The typical gap between the context's recent calls, for the planner."""
        from promptcache_tui.calls.planning import recent_gap

        store = self.pc_app.store
        assert store is not None
        try:
            gap = await recent_gap(store, ctx)
        except Exception as exc:
            self._error(exc, "Cannot read the call history")
            return
        self.post_message(PlannerReady(ctx, model, gap))

    def on_planner_ready(self, message: PlannerReady) -> None:
        from promptcache_tui.ui.screens.planner import PlannerScreen

        catalog = self.pc_app.catalog
        assert catalog is not None
        self.app.push_screen(
            PlannerScreen(
                message.context,
                message.model,
                catalog,
                message.gap_s,
                ping_lead_s=self.keeper.policy.lead_s,
            )
        )

    # -- conversations --------------------------------------------------------------------

    async def action_new_conversation(self) -> None:
        """Start a new conversation; the context prefix is unchanged, so its cache stays warm."""
        if not self._ready():
            return
        self.conversation_id = None
        self.turns = []
        await self.query_one(ChatView).show_turns([], self._hint())
        self.query_one(PromptInput).focus()
        self.notify("New conversation: the context is unchanged, so its cache stays warm.")

    def action_open_conversation(self) -> None:
        """Pick a stored conversation to resume."""
        if self._ready():
            self.list_conversations()

    @work(exclusive=True, group="conversations", exit_on_error=False)
    async def list_conversations(self) -> None:
        """Fetch the selected context's conversations."""
        store, ctx = self.pc_app.store, self.ctx
        assert store is not None and ctx is not None and ctx.id is not None
        try:
            conversations = await store.conversations.list(ctx.id)
        except Exception as exc:
            self._error(exc, "Cannot list conversations")
            return
        self.post_message(ConversationsListed(ctx.name, conversations))

    def on_conversations_listed(self, message: ConversationsListed) -> None:
        from promptcache_tui.ui.screens.conversations import ConversationsDialog

        if not message.conversations:
            self.notify("No stored conversations yet: send a prompt to start one.")
            return

        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self.load_conversation(conversation_id)

        self.app.push_screen(
            ConversationsDialog(message.context, message.conversations, self.pc_app.wall_now()),
            chosen,
        )

    @work(exclusive=True, group="conversations", exit_on_error=False)
    async def load_conversation(self, conversation_id: int) -> None:
        """Fetch a conversation's turns."""
        store = self.pc_app.store
        assert store is not None
        try:
            turns = await store.conversations.turns(conversation_id)
        except Exception as exc:
            self._error(exc, "Cannot load the conversation")
            return
        self.post_message(ConversationLoaded(conversation_id, turns))

    async def on_conversation_loaded(self, message: ConversationLoaded) -> None:
        if self.busy:
            return
        self.conversation_id = message.conversation_id
        self.turns = list(message.turns)
        await self.query_one(ChatView).show_turns(self.turns, self._hint())
        self.query_one(PromptInput).focus()

    # -- context management ------------------------------------------------------------------

    def action_scroll_chat(self, direction: int) -> None:
        """Scroll the transcript a page (the input keeps the focus)."""
        chat = self.query_one(ChatView)
        if direction < 0:
            chat.scroll_page_up()
        else:
            chat.scroll_page_down()

    def action_focus_contexts(self) -> None:
        """Move the focus between the contexts list and the chat input."""
        contexts = self.query_one(ContextsList)
        if contexts.has_focus:
            self.query_one(PromptInput).focus()
        else:
            contexts.focus()

    def _names(self) -> set[str]:
        return {s.name for s in self.query_one(ContextsList).summaries}

    def action_new_context(self) -> None:
        """Create a context: name, files, system text, model."""
        if self._ready(need_context=False):
            self._open_editor(None)

    def action_edit_context(self) -> None:
        """Edit the selected context's blocks and breakpoints."""
        if self._ready():
            self._open_editor(self.ctx)

    def _open_editor(self, ctx: Context | None) -> None:
        from promptcache_tui.ui.screens.context_editor import ContextEditorScreen

        catalog = self.pc_app.catalog
        assert catalog is not None
        taken = self._names() - ({ctx.name} if ctx else set())

        def saved(result: Context | None) -> None:
            if result is not None:
                verb = "Saved" if ctx is not None else "Created"
                self.post_message(ContextSaved(result.id, f"{verb} {result.name}."))

        self.app.push_screen(
            ContextEditorScreen(ctx, catalog, default_model=self.pc_app.default_model, taken=taken),
            saved,
        )

    def action_rename_context(self) -> None:
        """Rename the selected context."""
        if not self._ready():
            return
        from promptcache_tui.ui.screens.name_dialog import NameDialog

        assert self.ctx is not None
        ctx = self.ctx

        def named(name: str | None) -> None:
            if name and name != ctx.name:
                self.rename(ctx, name)

        self.app.push_screen(
            NameDialog(f"Rename {ctx.name}", ctx.name, taken=self._names() - {ctx.name}), named
        )

    @work(exclusive=True, group="context-op", exit_on_error=False)
    async def rename(self, ctx: Context, name: str) -> None:
        """Store the new name (the call history follows it)."""
        store = self.pc_app.store
        assert store is not None
        try:
            saved = await store.contexts.save(ctx.with_changes(name=name))
        except Exception as exc:
            self._error(exc, "Cannot rename")
            return
        self.post_message(ContextSaved(saved.id, f"Renamed {ctx.name} to {name}."))

    def action_duplicate_context(self) -> None:
        """Copy the selected context under a new name."""
        if not self._ready():
            return
        from promptcache_tui.ui.screens.name_dialog import NameDialog

        assert self.ctx is not None
        ctx = self.ctx
        names = self._names()
        suggestion = next(
            n for i in range(1, 1000) if (n := f"{ctx.name}-copy{'' if i == 1 else i}") not in names
        )

        def named(name: str | None) -> None:
            if name:
                self.duplicate(ctx, name)

        self.app.push_screen(NameDialog(f"Duplicate {ctx.name} as", suggestion, taken=names), named)

    @work(exclusive=True, group="context-op", exit_on_error=False)
    async def duplicate(self, ctx: Context, name: str) -> None:
        """Copy a context's blocks and breakpoints under a new name."""
        store = self.pc_app.store
        assert store is not None
        try:
            copy = await store.contexts.duplicate(ctx.name, name)
        except Exception as exc:
            self._error(exc, "Cannot duplicate")
            return
        self.post_message(ContextSaved(copy.id, f"Duplicated {ctx.name} as {name}."))

    def action_delete_context(self) -> None:
        """Delete the selected context, after confirmation."""
        if not self._ready():
            return
        from promptcache_tui.ui.screens.confirm import ConfirmDialog

        assert self.ctx is not None
        ctx = self.ctx

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete(ctx)

        self.app.push_screen(
            ConfirmDialog(
                f"Delete {ctx.name}?",
                "Its blocks, breakpoints and conversations are deleted. Its logged calls stay in "
                "the history.",
                yes="Delete",
            ),
            answered,
        )

    @work(exclusive=True, group="context-op", exit_on_error=False)
    async def delete(self, ctx: Context) -> None:
        """Delete a context."""
        store = self.pc_app.store
        assert store is not None
        try:
            await store.contexts.delete(ctx.name)
        except Exception as exc:
            self._error(exc, "Cannot delete")
            return
        self.post_message(ContextSaved(None, f"Deleted {ctx.name}."))

    @work(exclusive=True, group="context-op", exit_on_error=False)
    async def create_demo(self) -> None:
        """Add the demo context (a public-domain book with two breakpoints)."""
        from promptcache_tui.ui.demo import DEMO_NAME, demo_context

        store = self.pc_app.store
        if store is None:
            self.notify("Still starting: the store is not open yet.", severity="warning")
            return
        try:
            existing = {s.name for s in await store.contexts.list()}
            name = next(
                n
                for i in range(1, 1000)
                if (n := DEMO_NAME if i == 1 else f"{DEMO_NAME}-{i}") not in existing
            )
            ctx = await store.contexts.add(demo_context(self.pc_app.settings.model, name=name))
        except Exception as exc:
            self._error(exc, "Cannot create the demo context")
            return
        self.post_message(
            ContextSaved(
                ctx.id, f"Created {ctx.name}: ask it something, then ask again to read the cache."
            )
        )

    def on_context_saved(self, message: ContextSaved) -> None:
        if message.notice:
            self.notify(message.notice)
        if message.context_id is None:
            self.ctx = None
        self.load_contexts(message.context_id)

    # -- errors --------------------------------------------------------------------------

    def _error(self, exc: BaseException, title: str) -> None:
        self.notify(one_line(exc), title=title, severity="error", timeout=10)
