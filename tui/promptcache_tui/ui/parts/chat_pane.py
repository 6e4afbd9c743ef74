"""The chat: the transcript and the input, sending prompts and streaming answers into place.

It owns the conversation (its id and turns) and whether a call is in flight. The input
takes keys from the first frame: a prompt sent before the store is open (or before the
context is loaded) shows at once as sent, waits, and goes out when the context is shown;
nothing typed is dropped. When it cannot be sent at all (no context, the backend failed),
it goes back into the input with a notice.

Flow: `PromptSubmitted -> CallStarted -> TextDelta* -> CallFinished(record)` (or
`CallFailed`); the finished call then bubbles up to the screen, which feeds the ledger and
the usage panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical

from promptcache_tui.core.sanitize import terminal_safe
from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.messages import (
    CallFailed,
    CallFinished,
    CallStarted,
    ConversationLoaded,
    ConversationsListed,
    PromptSubmitted,
    PromptWaiting,
    TextDelta,
)
from promptcache_tui.ui.services import services
from promptcache_tui.ui.store_work import run_store_op
from promptcache_tui.ui.widgets.chat_view import ChatView
from promptcache_tui.ui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from promptcache_tui.core.context import Context
    from promptcache_tui.core.request import Turn
    from promptcache_tui.ui.widgets.answer_turn import AnswerStream

PLACEHOLDER = "Ask about the selected context · Enter sends"
WAITING = "Opening the store…"


class ChatPane(Vertical):
    """The conversation with the selected context, and the prompt input under it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx: Context | None = None
        self.model = ""
        self.conversation_id: int | None = None
        self.turns: list[Turn] = []
        self.busy = False  # a call is in flight (or a prompt waits to be sent)
        self.pending: str | None = None  # a prompt sent before the context was shown
        self._stream: AnswerStream | None = None

    def compose(self) -> ComposeResult:
        yield ChatView(id="chat")
        yield PromptInput(placeholder=PLACEHOLDER, id="prompt")

    @property
    def chat(self) -> ChatView:
        """The transcript."""
        return self.query_one(ChatView)

    @property
    def input(self) -> PromptInput:
        """The prompt input."""
        return self.query_one(PromptInput)

    def hint(self) -> str:
        """What an empty conversation says."""
        if self.ctx is None:
            return "No context selected."
        return (
            f"New conversation with {self.ctx.name} ({self.model}). Type a question and "
            "press Enter: the first call writes the cache, the next ones read it."
        )

    # -- what the screen tells it ----------------------------------------------------------

    async def show_context(
        self, ctx: Context, model: str, conversation_id: int | None, turns: Sequence[Turn]
    ) -> None:
        """Chat with `ctx` from now on, in this stored conversation; send a waiting prompt."""
        self.ctx, self.model = ctx, model
        if self.busy and self.pending is None:
            return  # an answer is streaming; the next selection takes effect after it
        self.conversation_id = conversation_id
        self.turns = list(turns)
        await self.chat.show_turns(self.turns, self.hint())
        if self.pending is not None:
            prompt, self.pending = self.pending, None
            await self._send(prompt)
        self.input.focus()

    async def show_nothing(self, hint: str) -> None:
        """No context to chat with: give back a waiting prompt and show why."""
        self.ctx, self.model = None, ""
        self.conversation_id, self.turns = None, []
        await self._give_back_pending("There is no context to send it to: create one first.")
        await self.chat.show_turns([], hint)

    async def backend_failed(self, error: str) -> None:
        """Nothing can be sent: say why where the conversation would be."""
        await self._give_back_pending(f"Cannot start: {error}")
        await self.chat.show_turns([], f"Cannot start: {error}")

    async def _give_back_pending(self, why: str) -> None:
        if self.pending is None:
            return
        prompt, self.pending = self.pending, None
        self.busy = False
        await self.chat.drop_exchange()
        self.input.restore(prompt)
        self.notify(f"{why}\nYour prompt is back in the input.", severity="warning", timeout=10)

    # -- sending ---------------------------------------------------------------------------

    async def on_prompt_submitted(self, message: PromptSubmitted) -> None:
        message.stop()
        app = services(self)
        if app.failed is not None:
            self.notify(f"Cannot send: {app.failed}", severity="error")
            return
        if self.busy:
            self.notify("A call is in progress: wait for the answer to finish.", severity="warning")
            return
        self.input.value = ""
        if not app.ready or self.ctx is None:
            # Taken now, sent once the context is shown: never refused for being early.
            self.pending = message.text
            self.busy = True
            await self.chat.show_waiting(message.text, WAITING)
            self.post_message(PromptWaiting())
            return
        await self._send(message.text)

    async def _send(self, prompt: str) -> None:
        from promptcache_tui.core.context import check_context

        assert self.ctx is not None
        problems = check_context(self.ctx)
        if problems:
            self.busy = False
            self.input.restore(prompt)
            self.notify(
                f"{problems[0]} (fix it in the editor, f2)", title="Cannot send", severity="error"
            )
            return
        self.busy = True
        self._stream = await self.chat.start_exchange(prompt)
        self.send(self.ctx, prompt, self.conversation_id, tuple(self.turns), self.model)

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

        app = services(self)

        def on_text(text: str) -> None:
            self.post_message(TextDelta(terminal_safe(text)))  # an answer may quote escapes

        try:
            store, service = app.require_store(), app.require_service()
            assert ctx.id is not None
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
        message.stop()
        self.conversation_id = message.conversation_id

    async def on_text_delta(self, message: TextDelta) -> None:
        message.stop()
        if self._stream is not None:
            await self._stream.write(message.text)

    async def _end_stream(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()
        self.chat.finish_exchange()
        self.busy = False

    async def on_call_finished(self, message: CallFinished) -> None:
        # Not stopped: the screen logs the call in the usage panel and the ledger too.
        from promptcache_tui.core.request import Turn

        await self._end_stream()
        record = message.record
        if record.status == "ok":
            self.turns += [Turn("user", message.prompt), Turn("assistant", record.answer or "")]
        else:
            await self._give_back(message.prompt, record.error or "the call failed")

    async def on_call_failed(self, message: CallFailed) -> None:
        message.stop()
        await self._end_stream()
        await self._give_back(message.prompt, message.error)

    async def _give_back(self, prompt: str, error: str) -> None:
        await self.chat.drop_exchange()
        self.input.restore(prompt)
        self.input.focus()
        self.notify(
            f"{error}\nYour prompt is back in the input.",
            title="Call failed",
            severity="error",
            timeout=10,
        )

    # -- conversations ---------------------------------------------------------------------

    def _idle_with_context(self) -> bool:
        if not services(self).ready:
            self.notify("Still starting: the store is not open yet.", severity="warning")
            return False
        if self.busy:
            self.notify("A call is in progress: wait for the answer to finish.", severity="warning")
            return False
        if self.ctx is None:
            self.notify("Select or create a context first (ctrl+t).", severity="warning")
            return False
        return True

    async def new_conversation(self) -> None:
        """Start a new conversation; the context prefix is unchanged, so its cache stays warm."""
        if not self._idle_with_context():
            return
        self.conversation_id = None
        self.turns = []
        await self.chat.show_turns([], self.hint())
        self.input.focus()
        self.notify("New conversation: the context is unchanged, so its cache stays warm.")

    def open_conversation(self) -> None:
        """List the context's stored conversations to pick one to resume."""
        if not self._idle_with_context():
            return
        ctx = self.ctx
        assert ctx is not None and ctx.id is not None
        context_id = ctx.id
        run_store_op(
            self,
            lambda store: store.conversations.list(context_id),
            failure="Cannot list conversations",
            done=lambda found: ConversationsListed(ctx.name, found),
            group="conversations",
        )

    def on_conversations_listed(self, message: ConversationsListed) -> None:
        from promptcache_tui.ui.screens.conversations import ConversationsDialog

        message.stop()
        if not message.conversations:
            self.notify("No stored conversations yet: send a prompt to start one.")
            return

        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                run_store_op(
                    self,
                    lambda store: store.conversations.turns(conversation_id),
                    failure="Cannot load the conversation",
                    done=lambda turns: ConversationLoaded(conversation_id, turns),
                    group="conversations",
                )

        self.app.push_screen(
            ConversationsDialog(message.context, message.conversations, services(self).wall_now()),
            chosen,
        )

    async def on_conversation_loaded(self, message: ConversationLoaded) -> None:
        message.stop()
        if self.busy:
            return
        self.conversation_id = message.conversation_id
        self.turns = list(message.turns)
        await self.chat.show_turns(self.turns, self.hint())
        self.input.focus()

    def scroll(self, direction: int) -> None:
        """Scroll the transcript a page (the input keeps the focus)."""
        if direction < 0:
            self.chat.scroll_page_up()
        else:
            self.chat.scroll_page_down()
