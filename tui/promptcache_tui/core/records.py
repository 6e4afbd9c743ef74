"""The logged call record: one row per API call, ok or not."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from promptcache_tui.core.cost import CallCost, Prices, Usage, call_cost

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    from typing import Any

KINDS = ("chat", "ask", "warm", "proxy", "claude-code")
# How a call ended. `in_flight` is the state of a row whose request is still out (or whose
# process died: the next process to open the store settles it as `interrupted`).
IN_FLIGHT = "in_flight"
STATUSES = ("ok", "error", "interrupted")
# The public columns of a call, in order (product.md: history --format json|csv).
PUBLIC_FIELDS = (
    "id",
    "ts",
    "context",
    "conversation_id",
    "kind",
    "model",
    "status",
    "error",
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_5m_tokens",
    "cache_creation_1h_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "cost_usd",
    "uncached_cost_usd",
    "saved_usd",
    "ttft_ms",
    "duration_ms",
    "cache_miss_reason",
    "client",
    "session",
)


def iso_utc(epoch: float) -> str:
    """ISO 8601 UTC with microseconds; fixed width, so text order is time order."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def parse_iso(ts: str) -> float:
    """Epoch seconds from an ISO 8601 timestamp (naive means UTC)."""
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class LoggedBreakpoint:
    """A breakpoint a call sent, with whether the call wrote or read its entry."""

    position: int
    ttl: str
    prefix_hash: str
    prefix_tokens: int
    cached: bool
    context_block: int | None = None


@dataclass(slots=True)
class CallRecord:
    """Everything logged about one call."""

    ts: str
    kind: str
    model: str
    status: str = "ok"  # ok | error | interrupted, or in_flight while the request is out
    context: str | None = None
    context_id: int | None = None
    conversation_id: int | None = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    prices: Prices = field(default_factory=lambda: Prices(None, None))
    ttft_ms: float | None = None
    duration_ms: float | None = None
    cache_miss_reason: str | None = None
    cache_missed_input_tokens: int | None = None
    request_id: str | None = None
    message_id: str | None = None
    stop_reason: str | None = None
    live: bool = False
    prompt: str | None = None
    answer: str | None = None
    breakpoints: tuple[LoggedBreakpoint, ...] = ()
    client: str | None = None  # the caller's User-Agent product (observed traffic)
    session: str | None = None  # Claude Code session id or a proxy's grouping key
    sidechain: bool = False  # made by a Claude Code subagent (its cache is its own)
    id: int | None = None

    @property
    def cost(self) -> CallCost:
        """Cost with the prices stored on the record."""
        return call_cost(self.usage, self.prices)

    def public(self) -> dict[str, Any]:
        """The record as product.md promises it (history json/csv, ask/warm json)."""
        cost = self.cost
        usage = asdict(self.usage)
        row: dict[str, Any] = {
            "id": self.id,
            "ts": self.ts,
            "context": self.context,
            "conversation_id": self.conversation_id,
            "kind": self.kind,
            "model": self.model,
            "status": self.status,
            "error": self.error,
            **usage,
            "cost_usd": _money(cost.cost_usd),
            "uncached_cost_usd": _money(cost.uncached_cost_usd),
            "saved_usd": _money(cost.saved_usd),
            "ttft_ms": _ms(self.ttft_ms),
            "duration_ms": _ms(self.duration_ms),
            "cache_miss_reason": self.cache_miss_reason,
            "client": self.client,
            "session": self.session,
        }
        return {name: row[name] for name in PUBLIC_FIELDS}

    def detail(self) -> dict[str, Any]:
        """The public record plus what a drill-down shows (prices, ids, prompt, answer)."""
        return {
            **self.public(),
            "hit_rate": self.usage.hit_rate,
            "cache_missed_input_tokens": self.cache_missed_input_tokens,
            "request_id": self.request_id,
            "message_id": self.message_id,
            "stop_reason": self.stop_reason,
            "live": self.live,
            "prices": asdict(self.prices),
            "prompt": self.prompt,
            "answer": self.answer,
            "breakpoints": [asdict(b) for b in self.breakpoints],
        }


def _money(value: float | None) -> float | None:
    # Ten decimals keeps sub-cent figures exact enough and the JSON short.
    return None if value is None else round(value, 10)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
