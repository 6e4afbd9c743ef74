"""The TTL ledger: each breakpoint's cache state, derived from the logged calls.

An entry is keyed by (model, prefix hash up to the breakpoint). A successful call that wrote
or read cache refreshes every breakpoint it sent whose prefix meets the model's minimum, until
the call's start + the breakpoint's TTL. A changed prefix or model is another key, so it starts
cold. Everything is an estimate: the server may evict earlier, and the ledger only sees calls
logged here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from promptcache_tui.core.clock import wall_clock

# The status line runs after every Claude Code message: `typing` stays out of its imports.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    State = Literal["cold", "warm", "expired"]
    Urgency = Literal["cold", "warm", "expiring"]

Clock = Callable[[], float]
TTL_SECONDS: dict[str, int] = {"5m": 300, "1h": 3600}
# A warm entry counts as "expiring" in its last fifth (1 min of 5m, 12 min of 1h).
EXPIRING_FRACTION = 0.2


@dataclass(frozen=True, slots=True)
class CacheEvent:
    """One breakpoint of one logged call that wrote or read the cache."""

    ts: float  # epoch seconds at the start of the request
    model: str
    prefix_hash: str
    ttl: str


@dataclass(frozen=True, slots=True)
class EntryState:
    """What the ledger believes about one cache entry at `now`."""

    state: State
    expires_at: float | None
    remaining: float | None  # seconds left while warm
    ttl: str | None

    @property
    def urgency(self) -> Urgency:
        """cold / warm / expiring, for colouring a countdown."""
        if self.state != "warm" or self.remaining is None or self.ttl is None:
            return "cold"
        if self.remaining <= TTL_SECONDS[self.ttl] * EXPIRING_FRACTION:
            return "expiring"
        return "warm"

    def countdown(self) -> str:
        """m:ss left (h:mm:ss past an hour), or 'cold'."""
        if self.state != "warm" or self.remaining is None:
            return "cold"
        left = int(self.remaining + 0.999)  # show 5:00 right after a write, 0:01 at the end
        hours, rest = divmod(left, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def breakpoint_cached(
    prefix_tokens: int, cached_tokens: int, min_tokens: int | None, ok: bool
) -> bool:
    """Whether a call wrote or read the entry at a breakpoint with this estimated prefix.

    `cached_tokens` is creation + read from the call's usage: zero means nothing was cached
    (for example the prefix fell under the model's minimum).
    """
    if not ok or cached_tokens <= 0:
        return False
    return min_tokens is None or prefix_tokens >= min_tokens


class TTLLedger:
    """Entries and their expiry, fed with cache events from the call log."""

    def __init__(self, clock: Clock = wall_clock) -> None:
        self._clock = clock
        self._expiry: dict[tuple[str, str], tuple[float, str]] = {}

    def record(self, event: CacheEvent) -> None:
        """Add one event: the entry lives until event start + TTL (the latest wins)."""
        key = (event.model, event.prefix_hash)
        until = event.ts + TTL_SECONDS.get(event.ttl, 300)
        current = self._expiry.get(key)
        if current is None or until > current[0]:
            self._expiry[key] = (until, event.ttl)

    def record_all(self, events: Iterable[CacheEvent]) -> None:
        """Add many events."""
        for event in events:
            self.record(event)

    def state(self, model: str, prefix_hash: str, now: float | None = None) -> EntryState:
        """The entry's state at `now` (the clock's time by default)."""
        now = self._clock() if now is None else now
        found = self._expiry.get((model, prefix_hash))
        if found is None:
            return EntryState("cold", None, None, None)
        until, ttl = found
        if until <= now:
            return EntryState("expired", until, None, ttl)
        return EntryState("warm", until, until - now, ttl)

    def now(self) -> float:
        """The ledger's clock."""
        return self._clock()


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One call of an imported session: its cache writes (by TTL) and reads."""

    ts: float
    write_5m: int
    write_1h: int
    read: int


@dataclass(frozen=True, slots=True)
class SessionCache:
    """A Claude Code session's cache, folded from its calls' usage one call at a time.

    Imports carry no request, so there are no prefixes to key on: the session's cache lives
    for the TTL of its last write (the larger part of that write's 5m / 1h split) and every
    read refreshes it for that TTL, counted from the call's start, as on the API (reads
    with no write before them count as 5m, the default). Caches are per model: fold each
    model's calls into its own SessionCache.
    """

    ttl: str | None = None
    until: float | None = None  # epoch seconds

    def after(self, event: SessionEvent) -> SessionCache:
        """The cache once `event` (the next call, in time order) is taken into account."""
        if event.write_5m > 0 or event.write_1h > 0:
            ttl = "1h" if event.write_1h >= event.write_5m else "5m"
            return SessionCache(ttl, event.ts + TTL_SECONDS[ttl])
        if event.read > 0:
            # A read of an entry whose write is not in the log (an earlier session, a
            # trimmed transcript): its TTL is unknown; 5m is the API's default.
            ttl = self.ttl or "5m"
            return SessionCache(ttl, max(self.until or 0.0, event.ts + TTL_SECONDS[ttl]))
        return self

    def state(self, now: float) -> EntryState:
        """cold (nothing written yet), warm with the time left, or expired."""
        if self.until is None:
            return EntryState("cold", None, None, None)
        if self.until <= now:
            return EntryState("expired", self.until, None, self.ttl)
        return EntryState("warm", self.until, self.until - now, self.ttl)


def session_state(events: Iterable[SessionEvent], now: float) -> EntryState:
    """A session's cache at `now`, from its calls (oldest first): see `SessionCache`."""
    cache = SessionCache()
    for event in events:
        cache = cache.after(event)
    return cache.state(now)
