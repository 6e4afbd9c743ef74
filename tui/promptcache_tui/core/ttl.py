"""The TTL ledger: each breakpoint's cache state, derived from the logged calls.

An entry is keyed by (model, prefix hash up to the breakpoint). Events are replayed in time
order, as the API treats a request: an event on a live entry is a read, which refreshes it
to the event's start plus the TTL the entry was written with; an event on a dead or unknown
entry is a write, living the event's TTL from its start. A changed prefix or model is
another key, so it starts cold. Everything is an estimate: the server may evict earlier,
and the ledger only sees calls logged here.

`predict_call` applies the caching rules to a request before it is sent: which entry each
breakpoint will read (the longest live one among the 20 positions that end on it, itself
included), which breakpoints will be written (past what is read, at or over the model's
minimum), and the usage that follows. `settle` reconciles the prediction with the usage
the API reported, which decides what the call is logged as having cached.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# `typing` costs the status line nothing: dataclasses imports it anyway.
from typing import Any, Literal, Protocol

from promptcache_tui.core.clock import wall_clock

Clock = Callable[[], float]
TTL_SECONDS: dict[str, int] = {"5m": 300, "1h": 3600}
# A breakpoint's lookup checks at most this many positions, its own included.
LOOKBACK_POSITIONS = 20
State = Literal["cold", "warm", "expired"]
Urgency = Literal["cold", "warm", "expiring"]
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

    def at(self, now: float) -> EntryState:
        """The same entry seen at `now`: a countdown read once from the log ticks on
        locally from its `expires_at` until the log says more."""
        if self.expires_at is None:
            return self
        if self.expires_at <= now:
            return EntryState("expired", self.expires_at, None, self.ttl)
        return EntryState("warm", self.expires_at, self.expires_at - now, self.ttl)

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
    """Whether a call wrote or read the entry at a breakpoint: the older approximation.

    Superseded by `predict_call` + `settle`, which follow the lookback and the read point
    (this one counts as cached a breakpoint the API skipped because it lay inside what was
    read). Kept for callers that have no ledger to predict from.

    `cached_tokens` is creation + read from the call's usage: zero means nothing was cached
    (for example the prefix fell under the model's minimum).
    """
    if not ok or cached_tokens <= 0:
        return False
    return min_tokens is None or prefix_tokens >= min_tokens


class TTLLedger:
    """Entries and their expiry, fed with cache events from the call log.

    `resolve` maps a model name to the id its cache lives under (an alias to its model);
    without it, names are taken as they are.
    """

    def __init__(
        self, clock: Clock = wall_clock, *, resolve: Callable[[str], str] | None = None
    ) -> None:
        self._clock = clock
        self._resolve = resolve or (lambda model: model)
        # (ts, arrival number, ttl): events of the same instant replay in the order recorded.
        self._events: dict[tuple[str, str], list[tuple[float, int, str]]] = {}
        self._final: dict[tuple[str, str], tuple[float, str]] = {}
        self._arrivals = 0

    def record(self, event: CacheEvent) -> None:
        """Add one event (in any order: the ledger replays them in time order)."""
        key = (self._resolve(event.model), event.prefix_hash)
        self._arrivals += 1
        bisect.insort(self._events.setdefault(key, []), (event.ts, self._arrivals, event.ttl))
        self._final.pop(key, None)

    def record_all(self, events: Iterable[CacheEvent]) -> None:
        """Add many events."""
        for event in events:
            self.record(event)

    def _replay(self, key: tuple[str, str]) -> tuple[float, str] | None:
        found = self._final.get(key)
        if found is not None:
            return found
        entry: tuple[float, str] | None = None
        for ts, _, ttl in self._events.get(key, ()):
            if entry is not None and entry[0] > ts:  # live: a read refreshes at its own TTL
                entry = (max(entry[0], ts + TTL_SECONDS.get(entry[1], 300)), entry[1])
            else:  # dead or new: a write
                entry = (ts + TTL_SECONDS.get(ttl, 300), ttl)
        if entry is not None:
            self._final[key] = entry
        return entry

    def state(self, model: str, prefix_hash: str, now: float | None = None) -> EntryState:
        """The entry's state at `now` (the clock's time by default)."""
        now = self._clock() if now is None else now
        found = self._replay((self._resolve(model), prefix_hash))
        if found is None:
            return EntryState("cold", None, None, None)
        until, ttl = found
        if until <= now:
            return EntryState("expired", until, None, ttl)
        return EntryState("warm", until, until - now, ttl)

    def now(self) -> float:
        """The ledger's clock."""
        return self._clock()


# -- predicting a call ---------------------------------------------------------------------


class PromptBlock(Protocol):
    """What a prediction needs of a rendered block (core/prefix.RenderedBlock has it)."""

    @property
    def index(self) -> int: ...
    @property
    def prefix_hash(self) -> str: ...
    @property
    def prefix_tokens(self) -> int: ...
    @property
    def cache_control(self) -> Mapping[str, Any] | None: ...
    @property
    def cacheable(self) -> bool: ...
    @property
    def empty_text(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class PointPrediction:
    """What one breakpoint of a request is expected to do."""

    position: int  # 0-based order among the request's breakpoints
    block_index: int
    prefix_hash: str
    prefix_tokens: int
    ttl: str
    state_before: State  # its own entry, just before the call
    read_index: int | None  # the position whose entry it reads (itself or up to 19 back)
    read_hash: str | None
    writes: bool

    @property
    def cached(self) -> bool:
        """It reads its own entry or writes it: the call refreshes or creates this key."""
        return self.writes or self.read_index == self.block_index


@dataclass(frozen=True, slots=True)
class CallPrediction:
    """A request's expected cache reads and writes."""

    model: str
    points: tuple[PointPrediction, ...]
    read_tokens: int
    write_5m: int
    write_1h: int
    beyond_lookback: bool  # nothing read, yet a live entry sits further back than 20 positions

    def events(self, ts: float) -> list[CacheEvent]:
        """Every entry the call reads or writes, for the ledger (reads of other positions too)."""
        out: list[CacheEvent] = []
        for point in self.points:
            if point.read_hash is not None:
                out.append(CacheEvent(ts, self.model, point.read_hash, point.ttl))
            if point.writes:
                out.append(CacheEvent(ts, self.model, point.prefix_hash, point.ttl))
        return out


def breakpoints_of(
    blocks: Sequence[PromptBlock], automatic_ttl: str | None = None
) -> list[tuple[PromptBlock, str]]:
    """The marked blocks and their TTLs, plus top-level caching's one on the last block."""
    marks = [
        (b, str((b.cache_control or {}).get("ttl") or "5m")) for b in blocks if b.cache_control
    ]
    if automatic_ttl is not None:
        last = next((b for b in reversed(blocks) if b.cacheable and not b.empty_text), None)
        if last is not None and all(b.index != last.index for b, _ in marks):
            marks.append((last, automatic_ttl))
    return marks


def lookback_hashes(blocks: Sequence[PromptBlock], automatic_ttl: str | None = None) -> list[str]:
    """Every prefix hash a prediction of this request looks at (to load its events)."""
    wanted: dict[str, None] = {}
    for block, _ in breakpoints_of(blocks, automatic_ttl):
        for other in blocks[: block.index + 1]:  # the window, and behind it for the hint
            wanted[other.prefix_hash] = None
    return list(wanted)


def predict_call(
    ledger: TTLLedger,
    model: str,
    blocks: Sequence[PromptBlock],
    min_tokens: int | None,
    *,
    now: float | None = None,
    automatic_ttl: str | None = None,
) -> CallPrediction:
    """What a request will read and write, by the caching rules, from the ledger's entries.

    `min_tokens` None (unknown minimum) predicts a write for every breakpoint not read.
    """
    now = ledger.now() if now is None else now
    marks = breakpoints_of(blocks, automatic_ttl)

    def warm(block: PromptBlock) -> bool:
        return ledger.state(model, block.prefix_hash, now).state == "warm"

    found: list[int | None] = []
    beyond = False
    for block, _ in marks:
        first = max(0, block.index - LOOKBACK_POSITIONS + 1)
        hit = next((i for i in range(block.index, first - 1, -1) if warm(blocks[i])), None)
        found.append(hit)
        if hit is None and any(warm(blocks[i]) for i in range(first)):
            beyond = True
    read_at = max((i for i in found if i is not None), default=-1)
    read_tokens = blocks[read_at].prefix_tokens if read_at >= 0 else 0
    written_to = read_tokens
    split = {"5m": 0, "1h": 0}
    points = []
    for position, ((block, ttl), hit) in enumerate(zip(marks, found, strict=True)):
        writes = block.index > read_at and (min_tokens is None or block.prefix_tokens >= min_tokens)
        if writes:
            split[ttl] = split.get(ttl, 0) + block.prefix_tokens - written_to
            written_to = block.prefix_tokens
        points.append(
            PointPrediction(
                position=position,
                block_index=block.index,
                prefix_hash=block.prefix_hash,
                prefix_tokens=block.prefix_tokens,
                ttl=ttl,
                state_before=ledger.state(model, block.prefix_hash, now).state,
                read_index=hit,
                read_hash=blocks[hit].prefix_hash if hit is not None else None,
                writes=writes,
            )
        )
    return CallPrediction(
        model=model,
        points=tuple(points),
        read_tokens=read_tokens,
        write_5m=split["5m"],
        write_1h=split["1h"],
        beyond_lookback=beyond and read_at < 0,
    )


def settle(
    prediction: CallPrediction,
    *,
    cache_read: int,
    cache_creation: int,
    ok: bool,
    min_tokens: int | None,
) -> tuple[bool, ...]:
    """Which breakpoints the call refreshed or wrote, given the usage the API reported.

    The prediction stands when the API read as predicted. When the API read nothing, every
    breakpoint at or over the minimum was written (the ledger was wrong, e.g. an eviction).
    When it read although nothing was predicted (calls this log did not see), which entry
    it read is unknown: every breakpoint at or over the minimum counts as cached.
    """
    points = prediction.points
    if not ok or cache_read + cache_creation <= 0:
        return tuple(False for _ in points)
    if cache_read > 0 and prediction.read_tokens > 0:
        return tuple(p.cached for p in points)
    return tuple(min_tokens is None or p.prefix_tokens >= min_tokens for p in points)


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One call of an imported session: its cache writes (by TTL) and reads, its model, and
    whether a subagent made it (a sidechain: its cache is its own, not the session's)."""

    ts: float
    write_5m: int
    write_1h: int
    read: int
    model: str = ""
    sidechain: bool = False


@dataclass(frozen=True, slots=True)
class SessionCache:
    """One model's cache in a Claude Code session, folded from its calls' usage one call at
    a time.

    Imports carry no request, so there are no prefixes to key on: the session's cache lives
    for the TTL of its last write (the larger part of that write's 5m / 1h split) and every
    read refreshes it for that TTL, counted from the call's start, as on the API (reads
    with no write before them count as 5m, the default). Caches are per model: see
    `SessionCaches`, which applies the whole rule.
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


@dataclass(slots=True)
class SessionCaches:
    """The one rule for a Claude Code session's cache countdown (the status line and the
    dashboard both fold a session through this).

    The main thread's calls only: a subagent's calls (sidechains) build caches of their
    own, which the session's next main-thread call cannot read. One `SessionCache` per
    model, since caches are per model; the session's countdown is that of the model asked
    for (the one Claude Code reports), else of the last model that answered.
    """

    caches: dict[str, SessionCache] = field(default_factory=dict)
    last_model: str | None = None

    def add(self, event: SessionEvent) -> None:
        """Fold the session's next call (in time order)."""
        if event.sidechain:
            return
        self.caches[event.model] = self.caches.get(event.model, SessionCache()).after(event)
        self.last_model = event.model

    def pick(self, model: str | None = None) -> tuple[str | None, SessionCache]:
        """The model whose cache the session shows, and that cache."""
        chosen = model if model in self.caches else self.last_model
        if chosen is None:
            return None, SessionCache()
        return chosen, self.caches.get(chosen, SessionCache())
