"""Keep-warm: decide when to ping a context's cache just before it expires, within caps.

Opt-in per context, only while the app runs, capped in pings and dollars per session. The app
sends each ping as a prefill-only warm call (logged as kind `warm`, never part of a
conversation) and reports its cost back here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from promptcache_tui.core.ttl import EntryState


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
