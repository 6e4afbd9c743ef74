"""Keep-warm: decide when to ping a context's cache just before it expires, within caps.

Opt-in per context, only while the app runs, capped in pings and dollars per session. The app
sends each ping as a prefill-only warm call (logged as kind `warm`, never part of a
conversation) and reports its cost back here. `KeepWarm` holds the session's counts and
caps; `KeepWarmController` decides, for the contexts it watches, which to ping on a tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from promptcache_tui.core.context import Context, ContextError
from promptcache_tui.core.overview import breakpoint_hashes
from promptcache_tui.core.ttl import EntryState, TTLLedger


@dataclass(frozen=True, slots=True)
class KeepWarmPolicy:
    """When to ping and how much a session may spend on pings."""

    lead_s: float = 30.0  # ping this long before the entry would expire
    max_pings: int = 20
    max_usd: float = 0.50


@dataclass(slots=True)
class KeepWarm:
    """Session state: pings sent, dollars spent, and which expiries were already handled."""

    policy: KeepWarmPolicy = field(default_factory=KeepWarmPolicy)
    pings: int = 0
    spent_usd: float = 0.0
    _handled: dict[int, float] = field(default_factory=dict)

    @property
    def capped(self) -> str | None:
        """Why no more pings will be sent this session, or None."""
        if self.pings >= self.policy.max_pings:
            return f"ping cap reached ({self.pings}/{self.policy.max_pings})"
        if self.spent_usd >= self.policy.max_usd:
            return f"spend cap reached (${self.spent_usd:.4f}/${self.policy.max_usd:.2f})"
        return None

    def due(self, context_id: int, entry: EntryState, *, enabled: bool) -> bool:
        """True when this context's entry should be pinged now."""
        if not enabled or self.capped or entry.state != "warm" or entry.remaining is None:
            return False
        if entry.remaining > self.policy.lead_s:
            return False
        # One ping per expiry: a ping in flight must not be sent again on the next tick.
        return self._handled.get(context_id) != entry.expires_at

    def sent(self, context_id: int, entry: EntryState) -> None:
        """Mark this expiry as handled (call before sending, so ticks don't double-ping)."""
        if entry.expires_at is not None:
            self._handled[context_id] = entry.expires_at
        self.pings += 1

    def paid(self, cost_usd: float | None) -> None:
        """Add a ping's cost (unknown prices count as zero but still count as a ping)."""
        self.spent_usd += cost_usd or 0.0

    def summary(self) -> str:
        """The visible counter: pings and their cost."""
        plural = "" if self.pings == 1 else "s"
        text = f"keep-warm: {self.pings} ping{plural}, ${self.spent_usd:.4f}"
        return f"{text} ({self.capped})" if self.capped else text


@dataclass(frozen=True, slots=True)
class WarmTarget:
    """A context keep-warm watches: the model its calls use and its breakpoints' hashes."""

    ctx: Context
    model: str
    hashes: tuple[str, ...]

    @property
    def context_id(self) -> int:
        """The watched context's id."""
        return self.ctx.id or 0


def soonest_warm(
    ledger: TTLLedger, model: str, hashes: Iterable[str], now: float
) -> EntryState | None:
    """The soonest-expiring warm entry among `hashes` (a ping reads or writes all of them), or
    None when none is warm: keep-warm never pings a cold or expired context."""
    warm = [state for h in hashes if (state := ledger.state(model, h, now)).state == "warm"]
    return min(warm, key=lambda e: e.remaining or 0.0) if warm else None


class KeepWarmController:
    """Which contexts keep-warm watches, when each is pinged, and what to show about it.

    No Textual and no I/O: the screen tells it what happened (a context selected or changed,
    a warm call sent or finished, a tick) and sends the pings it asks for. Contexts are
    watched once selected in this session with keep-warm on; a call in flight for a context
    (a warm call, a ping, or the chat's own call) counts as its refresh.
    """

    def __init__(self, ledger: TTLLedger, policy: KeepWarmPolicy | None = None) -> None:
        self.ledger = ledger
        self.keeper = KeepWarm(policy or KeepWarmPolicy())
        self.targets: dict[int, WarmTarget] = {}
        self.in_flight: set[int] = set()  # context ids with a warm call or ping on its way
        self.unpriced_pings = 0  # KeepWarm counts an unknown price as $0: say so

    @property
    def policy(self) -> KeepWarmPolicy:
        """When to ping and the session's caps."""
        return self.keeper.policy

    def watch(self, ctx: Context, model: str) -> WarmTarget | None:
        """Follow a context's keep-warm flag: watch it (with its current prefix hashes) while
        the flag is on and it has a breakpoint that can be sent; forget it otherwise."""
        if ctx.id is None:
            return None
        try:
            hashes = tuple(breakpoint_hashes(ctx, model)) if ctx.keep_warm else ()
        except ContextError:
            hashes = ()  # an invalid context cannot be sent, so it cannot be pinged
        if not hashes:
            self.targets.pop(ctx.id, None)
            return None
        target = self.targets[ctx.id] = WarmTarget(ctx, model, hashes)
        return target

    def keep_only(self, context_ids: Iterable[int]) -> None:
        """Forget the watched contexts not among these (a deleted context is not pinged)."""
        alive = set(context_ids)
        for gone in [cid for cid in self.targets if cid not in alive]:
            del self.targets[gone]

    def is_cold(self, context_id: int, now: float) -> bool:
        """Whether a watched context has nothing warm to keep (a ping would not be sent)."""
        target = self.targets.get(context_id)
        return target is None or self.entry_to_ping(target, now) is None

    def entry_to_ping(self, target: WarmTarget, now: float) -> EntryState | None:
        """The target's soonest-expiring warm entry, or None when none is warm."""
        return soonest_warm(self.ledger, target.model, target.hashes, now)

    def due(self, now: float, *, busy_context: int | None = None) -> list[WarmTarget]:
        """The contexts to ping now, each marked as sent and in flight (so the next tick does
        not send it again). `busy_context` has a call of its own on the way: not pinged."""
        out = []
        for cid, target in list(self.targets.items()):
            if cid in self.in_flight or cid == busy_context:
                continue
            entry = self.entry_to_ping(target, now)
            if entry is None or not self.keeper.due(cid, entry, enabled=target.ctx.keep_warm):
                continue
            self.keeper.sent(cid, entry)
            self.in_flight.add(cid)
            out.append(target)
        return out

    def start_warm(self, context_id: int) -> bool:
        """The warm key for a context: False when a warm call for it is on its way already."""
        if context_id in self.in_flight:
            return False
        self.in_flight.add(context_id)
        return True

    def finished(self, context_id: int, cost_usd: float | None, *, ping: bool) -> None:
        """A warm call or ping for a context was logged, at this cost (None: unknown)."""
        self.in_flight.discard(context_id)
        if ping:
            self.keeper.paid(cost_usd)
            if cost_usd is None:
                self.unpriced_pings += 1

    def failed(self, context_id: int) -> None:
        """A warm call or ping could not be made at all (nothing was logged)."""
        self.in_flight.discard(context_id)

    def status(self) -> str | None:
        """The counter under the session totals, or None while keep-warm has nothing to say
        (no context watched and no ping sent)."""
        keeper = self.keeper
        if not self.targets and not keeper.pings:
            return None
        names = ", ".join(sorted(t.ctx.name for t in self.targets.values()))
        policy = keeper.policy
        limits = (
            "" if keeper.capped else f" · limits {policy.max_pings} pings, ${policy.max_usd:.2f}"
        )
        watching = f" · on for {names}" if names else ""
        unknown = (
            f" · cost of {self.unpriced_pings} unknown (model not priced)"
            if self.unpriced_pings
            else ""
        )
        return f"{keeper.summary()}{unknown}{limits}{watching}"

    def turned_on_notice(self, ctx: Context, now: float) -> tuple[str, bool]:
        """What to say when keep-warm is turned on for `ctx`, and whether it is a warning."""
        target = self.targets.get(ctx.id or -1)
        if target is None:
            return (
                f"Keep-warm on for {ctx.name}, but it has no breakpoint to keep warm "
                "(add one in the editor, f2).",
                True,
            )
        policy = self.policy
        cold = (
            ""
            if self.entry_to_ping(target, now)
            else " Nothing of it is cached now: warm it or send a prompt first."
        )
        return (
            f"Keep-warm on for {ctx.name}: a prefill-only ping {policy.lead_s:.0f} s "
            f"before its cache expires, while the app runs (at most "
            f"{policy.max_pings} pings and ${policy.max_usd:.2f} this session).{cold}",
            False,
        )
