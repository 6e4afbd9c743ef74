"""Warm calls: the warm key's call and keep-warm's pings, sent in workers and reported.

What to ping and when is `core.keepwarm.KeepWarmController` (no Textual); this part sends
what it asks for, says how each call went in a notice, and stores a context's keep-warm
flag. Results go on up to the screen as messages (`WarmFinished -> UsageLogged`), which
feeds the ledger and the usage panel; the counter text comes up as `KeepWarmStatus`.
It draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.widget import Widget

from promptcache_tui.core.formatting import money
from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.messages import KeepWarmSaved, KeepWarmStatus, WarmFailed, WarmFinished
from promptcache_tui.ui.services import services
from promptcache_tui.ui.store_work import run_store_op

if TYPE_CHECKING:
    from promptcache_tui.core.context import Context
    from promptcache_tui.core.keepwarm import KeepWarmController
    from promptcache_tui.core.records import CallRecord
    from promptcache_tui.core.ttl import TTLLedger


def warm_summary(record: CallRecord) -> str:
    """What a warm call wrote and read, and its cost (for its notice)."""
    usage = record.usage
    if record.status != "ok":
        return f"failed: {record.error or 'unknown error'}"
    writes = []
    if usage.cache_creation_1h_tokens:
        writes.append(f"{usage.cache_creation_1h_tokens:,} (1h)")
    if usage.cache_creation_5m_tokens:
        writes.append(f"{usage.cache_creation_5m_tokens:,} (5m)")
    return (
        f"wrote {' + '.join(writes) or '0'} tokens, read "
        f"{usage.cache_read_input_tokens:,} · cost {money(record.cost.cost_usd)}"
    )


class WarmCalls(Widget):
    """Sends warm calls and keep-warm pings; keeps keep-warm's session state."""

    DEFAULT_CSS = """
    WarmCalls { display: none; }
    """

    def __init__(self, ledger: Callable[[], TTLLedger], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._ledger = ledger
        self._controller: KeepWarmController | None = None

    @property
    def controller(self) -> KeepWarmController:
        """Keep-warm's decisions and session counts (created on first use)."""
        if self._controller is None:
            from promptcache_tui.core.keepwarm import KeepWarmController

            self._controller = KeepWarmController(self._ledger(), services(self).keep_warm)
        return self._controller

    def _status(self) -> None:
        self.post_message(KeepWarmStatus(self.controller.status()))

    # -- what the screen tells it ----------------------------------------------------------

    def follow(self, ctx: Context, model: str) -> None:
        """Start or stop keeping a context warm, following its keep-warm flag."""
        self.controller.watch(ctx, model)
        self._status()

    def keep_only(self, context_ids: list[int]) -> None:
        """The contexts that still exist: the others are no longer kept warm."""
        self.controller.keep_only(context_ids)
        self._status()

    def tick(self, now: float, *, busy_context: int | None) -> None:
        """Send the pings due now (no I/O here: each runs in its own worker)."""
        due = self.controller.due(now, busy_context=busy_context)
        for target in due:
            self.ping(target.ctx, target.model)
        if due:
            self._status()

    # -- the warm key ----------------------------------------------------------------------

    def warm_now(self, ctx: Context, model: str) -> None:
        """Pre-warm a context now: a prefill-only call, logged as kind warm."""
        from promptcache_tui.core.context import check_context

        problems = check_context(ctx)
        if problems:
            self.notify(
                f"{problems[0]} (fix it in the editor, f2)", title="Cannot warm", severity="error"
            )
            return
        if not ctx.breakpoints:
            self.notify(
                "No breakpoints: there is nothing to warm. Add one in the editor (f2).",
                severity="warning",
            )
            return
        assert ctx.id is not None
        if not self.controller.start_warm(ctx.id):
            self.notify(f"{ctx.name} is being warmed already.", severity="warning")
            return
        self.warm(ctx, model)

    @work(group="warm", exit_on_error=False)
    async def warm(self, ctx: Context, model: str) -> None:
        """The warm key's call."""
        await self._warm_call(ctx, model, ping=False)

    @work(group="keep-warm", exit_on_error=False)
    async def ping(self, ctx: Context, model: str) -> None:
        """A keep-warm ping: the same prefill-only call, sent by the tick."""
        await self._warm_call(ctx, model, ping=True)

    async def _warm_call(self, ctx: Context, model: str, *, ping: bool) -> None:
        assert ctx.id is not None
        try:
            record = await services(self).require_service().run(ctx, None, kind="warm", model=model)
        except Exception as exc:
            self.post_message(WarmFailed(ctx.id, ctx.name, one_line(exc), ping))
            return
        self.post_message(WarmFinished(record, ctx.id, ping))

    def on_warm_finished(self, message: WarmFinished) -> None:
        # Not stopped: the screen feeds the ledger and the usage panel with it.
        record = message.record
        self.controller.finished(message.context_id, record.cost.cost_usd, ping=message.ping)
        self._status()
        title = "Keep-warm ping" if message.ping else "Warmed"
        failed = record.status != "ok"
        self.notify(
            f"{record.context}: {warm_summary(record)}",
            title=f"{title} failed" if failed else title,
            severity="error" if failed else "information",
            timeout=8,
        )

    def on_warm_failed(self, message: WarmFailed) -> None:
        message.stop()
        self.controller.failed(message.context_id)
        title = "Keep-warm ping failed" if message.ping else "Cannot warm"
        self.notify(
            f"{message.context}: {message.error}", title=title, severity="error", timeout=10
        )

    # -- the keep-warm flag ----------------------------------------------------------------

    def toggle(self, ctx: Context, model: str) -> Context:
        """Turn keep-warm on or off for `ctx` (stored with it); the changed context."""
        changed = ctx.with_changes(keep_warm=not ctx.keep_warm)
        self.follow(changed, model)
        run_store_op(
            self,
            lambda store: store.contexts.save(changed),
            failure="Cannot change keep-warm",
            done=lambda saved: KeepWarmSaved(changed),
            failed=lambda error: KeepWarmSaved(changed, error),
            group="keep-warm-save",
            exclusive=False,
        )
        return changed

    async def on_keep_warm_saved(self, message: KeepWarmSaved) -> None:
        # Not stopped: the screen shows the flag (or puts it back) on its panels too.
        ctx = message.context
        model = services(self).model_for(ctx.model)
        if message.error:
            self.follow(ctx.with_changes(keep_warm=not ctx.keep_warm), model)
            return
        if not ctx.keep_warm:
            self.notify(f"Keep-warm off for {ctx.name}.")
            return
        now = await services(self).current_time()
        text, warning = self.controller.turned_on_notice(ctx, now)
        self.notify(text, severity="warning" if warning else "information", timeout=10)
