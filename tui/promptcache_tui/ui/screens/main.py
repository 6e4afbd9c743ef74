"""The main screen: contexts on the left, the chat in the centre, breakpoints and usage right.

State it owns: the selected context, the current conversation and its turns, the TTL ledger,
and whether a call is in flight. Workers fetch and send; their results come back as messages
(see `ui.messages`) and only the handlers here touch the widgets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, OptionList

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
    PromptSubmitted,
    TextDelta,
    UsageLogged,
)
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel
from promptcache_tui.ui.widgets.chat_view import ChatView
from promptcache_tui.ui.widgets.contexts_list import ContextsList
from promptcache_tui.ui.widgets.prompt_input import PromptInput
from promptcache_tui.ui.widgets.usage_panel import UsagePanel

if TYPE_CHECKING:
    from textual.widgets.markdown import MarkdownStream

    from promptcache_tui.core.context import Context
    from promptcache_tui.core.request import Turn
    from promptcache_tui.core.ttl import TTLLedger
    from promptcache_tui.ui.app import PromptCacheApp

TICK_SECONDS = 1.0
STARTING_HINT = "Opening the store…"


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
        # Scrolling is conventional, so it stays out of the crowded footer (the palette has it).
        Binding("pageup", "scroll_chat(-1)", "Scroll chat up", show=False, id="main.scroll_up"),
        Binding("pagedown", "scroll_chat(1)", "Scroll chat down", show=False,
                id="main.scroll_down"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ctx: Context | None = None
        self.conversation_id: int | None = None
        self.turns: list[Turn] = []
        self.busy = False
        self._ledger: TTLLedger | None = None
        self._stream: MarkdownStream | None = None

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
                yield PromptInput(placeholder="Ask about the selected context · Enter sends",
                                  id="prompt")
            # The right column and the footer mount just after the first frame: they are
            # the costly part of it (see benchmarks/bench_startup.py).
            yield Lazy(Vertical(BreakpointPanel(id="breakpoints"), UsagePanel(id="usage"),
                                id="right"))
        yield Lazy(Footer(compact=True))

    def on_mount(self) -> None:
        self.pc_app.settle_cursor(self)
        # One timer for every countdown; an async callback never queues up behind itself.
        self.set_interval(TICK_SECONDS, self.tick)

    async def tick(self) -> None:
        """Update the countdown labels (nothing else) once a second."""
        if self.ctx is None:
            return
        now = await self.pc_app.current_time()
        self.query_one(BreakpointPanel).tick(self.ledger, now)

    def backend_failed(self, error: str) -> None:
        """Show why nothing works in the chat area."""
        self.run_worker(self.query_one(ChatView).show_turns([], f"Cannot start: {error}"),
                        group="chat-hint", exclusive=True)

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
            self.notify("A call is in progress: wait for the answer to finish.",
                        severity="warning")
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
        pick = message.select_id if message.select_id in ids else (
            current if current in ids else ids[0])
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
        await self.show_breakpoints()
        await self.query_one(ChatView).show_turns(self.turns, self._hint())
        self.query_one(UsagePanel).show(message.records, ctx.name)
        self.query_one(PromptInput).focus()

    def _hint(self) -> str:
        if self.ctx is None:
            return "No context selected."
        return (f"New conversation with {self.ctx.name} ({self.model}). Type a question and "
                "press Enter: the first call writes the cache, the next ones read it.")

    async def show_breakpoints(self) -> None:
        """Rebuild the breakpoint rows for the selected context and model."""
        from promptcache_tui.core.context import ContextError
        from promptcache_tui.core.overview import breakpoint_views

        panel = self.query_one(BreakpointPanel)
        catalog = self.pc_app.catalog
        if self.ctx is None or catalog is None:
            await panel.show([], "", "No context selected.")
            return
        now = await self.pc_app.current_time()
        try:
            views = breakpoint_views(self.ctx, catalog, self.ledger, model=self.model, now=now)
        except ContextError as exc:
            await panel.show([], self.model, f"This context cannot be sent: {exc}")
            return
        await panel.show(views, self.model,
                         "No breakpoints: nothing is cached. Add one in the editor (f2).")

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
            self.notify(f"{problems[0]} (fix it in the editor, f2)", title="Cannot send",
                        severity="error")
            return
        self.query_one(PromptInput).value = ""
        self.busy = True
        self._stream = await self.query_one(ChatView).start_exchange(message.text)
        self.send(self.ctx, message.text, self.conversation_id, tuple(self.turns), self.model)

    @work(exclusive=True, group="call", exit_on_error=False)
    async def send(self, ctx: Context, prompt: str, conversation_id: int | None,
                   history: Sequence[Turn], model: str) -> None:
        """Send one chat call; the service streams, measures and logs it."""
        from promptcache_tui.core.request import Turn

        store, service = self.pc_app.store, self.pc_app.service
        assert store is not None and service is not None and ctx.id is not None

        def on_text(text: str) -> None:
            self.post_message(TextDelta(text))

        try:
            if conversation_id is None:
                conversation_id = await store.conversations.create(ctx.id)
            self.post_message(CallStarted(conversation_id))
            record = await service.run(ctx, prompt, kind="chat", history=history,
                                       conversation_id=conversation_id, model=model,
                                       on_text=on_text)
            if record.status == "ok":
                await store.conversations.append(
                    conversation_id,
                    [Turn("user", prompt), Turn("assistant", record.answer or "")],
                    call_id=record.id)
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
        self.notify(f"{error}\nYour prompt is back in the input.", title="Call failed",
                    severity="error", timeout=10)

    def on_usage_logged(self, message: UsageLogged) -> None:
        self.query_one(UsagePanel).add(message.record)

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

        self.app.push_screen(ConversationsDialog(message.context, message.conversations),
                             chosen)

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
            ContextEditorScreen(ctx, catalog, default_model=self.pc_app.default_model,
                                taken=taken),
            saved)

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

        self.app.push_screen(NameDialog(f"Rename {ctx.name}", ctx.name,
                                        taken=self._names() - {ctx.name}), named)

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
        suggestion = next(n for i in range(1, 1000)
                          if (n := f"{ctx.name}-copy{'' if i == 1 else i}") not in names)

        def named(name: str | None) -> None:
            if name:
                self.duplicate(ctx, name)

        self.app.push_screen(NameDialog(f"Duplicate {ctx.name} as", suggestion, taken=names),
                             named)

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

        self.app.push_screen(ConfirmDialog(
            f"Delete {ctx.name}?",
            "Its blocks, breakpoints and conversations are deleted. Its logged calls stay in "
            "the history.", yes="Delete"), answered)

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
            name = next(n for i in range(1, 1000)
                        if (n := DEMO_NAME if i == 1 else f"{DEMO_NAME}-{i}") not in existing)
            ctx = await store.contexts.add(demo_context(self.pc_app.settings.model, name=name))
        except Exception as exc:
            self._error(exc, "Cannot create the demo context")
            return
        self.post_message(ContextSaved(
            ctx.id, f"Created {ctx.name}: ask it something, then ask again to read the cache."))

    def on_context_saved(self, message: ContextSaved) -> None:
        if message.notice:
            self.notify(message.notice)
        if message.context_id is None:
            self.ctx = None
        self.load_contexts(message.context_id)

    # -- errors --------------------------------------------------------------------------

    def _error(self, exc: BaseException, title: str) -> None:
        self.notify(one_line(exc), title=title, severity="error", timeout=10)
