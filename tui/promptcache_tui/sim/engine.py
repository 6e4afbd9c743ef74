"""The simulator's caching engine: breakpoints, lookups, writes and usage. No HTTP here.

One request goes through two steps, as on the real service:

1. `prepare()` at the start of the request: check the request against the caching rules
   (breakpoints, prefill-only limits, settings, the model's context window), look each
   breakpoint up (the longest live entry among the `LOOKBACK_POSITIONS` positions that end
   on it, itself included), refresh what was read, and compute the usage. Nothing is
   written yet.
2. `commit()` once the response has started: the new entries become readable. Requests that
   arrive between the two steps of another identical request pay for the write too.

The prompt is laid out by the simulator's own `sim/positions.py`, never by the client's
`core/prefix.py`. Time comes from an injected clock, so tests jump 301 s instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.sim.diagnostics import Fingerprint, diagnose, fingerprint
from promptcache_tui.sim.errors import invalid
from promptcache_tui.sim.models import ModelDirectory, ResolvedModel
from promptcache_tui.sim.positions import Position, Rendering, render_positions

TTL_SECONDS = {"5m": 300, "1h": 3600}
MAX_BREAKPOINTS = 4
# A breakpoint's lookup checks at most this many positions, its own included: an entry 20
# positions before it (21 positions) is out of reach (prompt-caching page, December 2026).
LOOKBACK_POSITIONS = 20
SPEEDS = ("standard", "fast")
_TTL_ORDER_HINT = (
    "Note that blocks are processed in the following order: `tools`, `system`, `messages`."
)


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """A cache breakpoint of one request."""

    block: Position
    ttl: str  # "5m" | "1h"
    automatic: bool = False  # placed by top-level `cache_control`

    @property
    def ttl_seconds(self) -> int:
        """Lifetime of the entry this breakpoint writes."""
        return TTL_SECONDS[self.ttl]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A live cache entry as a store returns it."""

    key: str  # prefix hash
    ttl: int  # seconds
    expires_at: float
    tokens: int


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to write when the response starts."""

    key: str
    ttl: int
    tokens: int


class EntryStore(Protocol):
    """Where entries and the diagnostics fingerprints live (memory or SQLite)."""

    def lookup(self, model: str, keys: Sequence[str], now: float) -> dict[str, CacheEntry]:
        """The live entries among `keys`."""
        ...

    def refresh(self, model: str, keys: Sequence[str], now: float) -> None:
        """Extend each entry to `now` + its own TTL (a read refreshes, at no cost)."""
        ...

    def record(
        self,
        model: str,
        entries: Sequence[NewEntry],
        started_at: float,
        message_id: str,
        print_: Fingerprint | None,
    ) -> None:
        """Write `entries` (expiring `started_at` + TTL) and the request's fingerprint, if any."""
        ...

    def fingerprint_of(self, message_id: str) -> Fingerprint | None:
        """The fingerprint recorded for `message_id`, or None."""
        ...


@dataclass(slots=True)
class MemoryStore:
    """An in-memory EntryStore: the reference behaviour, used by engine tests."""

    entries: dict[tuple[str, str], CacheEntry] = field(default_factory=dict)
    prints: dict[str, Fingerprint] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def lookup(self, model: str, keys: Sequence[str], now: float) -> dict[str, CacheEntry]:
        with self.lock:
            found = {k: self.entries.get((model, k)) for k in keys}
            return {k: e for k, e in found.items() if e is not None and e.expires_at > now}

    def refresh(self, model: str, keys: Sequence[str], now: float) -> None:
        with self.lock:
            for key in keys:
                entry = self.entries.get((model, key))
                if entry is not None:
                    expires = max(entry.expires_at, now + entry.ttl)
                    self.entries[(model, key)] = CacheEntry(key, entry.ttl, expires, entry.tokens)

    def record(
        self,
        model: str,
        entries: Sequence[NewEntry],
        started_at: float,
        message_id: str,
        print_: Fingerprint | None,
    ) -> None:
        with self.lock:
            for new in entries:
                old = self.entries.get((model, new.key))
                expires = started_at + new.ttl
                if old is not None and old.expires_at > expires:
                    expires = old.expires_at
                self.entries[(model, new.key)] = CacheEntry(new.key, new.ttl, expires, new.tokens)
            if print_ is not None:
                self.prints[message_id] = print_

    def fingerprint_of(self, message_id: str) -> Fingerprint | None:
        with self.lock:
            return self.prints.get(message_id)


@dataclass(frozen=True, slots=True)
class Usage:
    """Input-side usage of one request; `input + creation + read` equals count_tokens."""

    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_5m: int
    cache_creation_1h: int
    speed: str = "standard"  # the request's `speed`: it changes the price
    inference_geo: str = "global"  # where it ran: `us` costs more on some models

    @property
    def cache_creation_input_tokens(self) -> int:
        """All tokens written this request, both TTLs."""
        return self.cache_creation_5m + self.cache_creation_1h

    def as_dict(self, output_tokens: int) -> dict[str, Any]:
        """The `usage` object of a response."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
            "inference_geo": self.inference_geo,
            "speed": self.speed,
        }


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request after step 1: its usage is known, its writes are pending."""

    model: ResolvedModel
    started_at: float
    usage: Usage
    writes: tuple[NewEntry, ...]
    breakpoints: tuple[Breakpoint, ...]
    fingerprint: Fingerprint | None  # stored only when the request asked for diagnostics
    diagnostics: dict[str, Any] | None  # the response's `diagnostics` (None: null)
    diagnostics_asked: bool = False  # without a `diagnostics` object the field is absent
    rendering: Rendering | None = None
    read_keys: tuple[str, ...] = ()  # the entries this request read (and refreshed)


def _ttl_of(marker: Any, where: str) -> str:
    if not isinstance(marker, Mapping):
        raise invalid(f"{where}: Input should be a valid dictionary")
    if marker.get("type") != "ephemeral":
        raise invalid(f"{where}.type: Input should be 'ephemeral'")
    ttl = marker.get("ttl", "5m")
    if ttl is None:
        ttl = "5m"
    if ttl not in TTL_SECONDS:
        raise invalid(f"{where}.ttl: Input should be '5m' or '1h'")
    return str(ttl)


def collect_breakpoints(
    params: Mapping[str, Any], positions: Sequence[Position]
) -> list[Breakpoint]:
    """The request's breakpoints in prompt order, or a 400 for a rule the API enforces."""
    points: list[Breakpoint] = []
    for position in positions:
        if position.marker is None:
            continue
        where = f"{position.path}.cache_control"
        ttl = _ttl_of(position.marker, where)
        if position.empty_text:
            raise invalid("cache_control cannot be set for empty text blocks")
        if not position.markable:
            raise invalid(f"{where}: cache_control cannot be set for {position.kind} blocks")
        points.append(Breakpoint(position, ttl))
    if len(points) > MAX_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be "
            f"provided. Found {len(points)}."
        )
    top = params.get("cache_control")
    if top is not None:
        ttl = _ttl_of(top, "cache_control")
        target = next((p for p in reversed(positions) if p.markable and not p.empty_text), None)
        if target is not None:
            same = next((p for p in points if p.block.index == target.index), None)
            if same is not None and same.ttl != ttl:
                raise invalid(
                    f"Top-level cache_control has ttl='{ttl}' but the target block "
                    f"already has cache_control with ttl='{same.ttl}'"
                )
            if same is None:
                if len(points) == MAX_BREAKPOINTS:
                    raise invalid(
                        f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control "
                        f"may be provided. Found {MAX_BREAKPOINTS + 1}."
                    )
                points.append(Breakpoint(target, ttl, automatic=True))
    seen_5m = False
    for point in points:
        if point.ttl == "5m":
            seen_5m = True
        elif seen_5m:
            where = "cache_control" if point.automatic else f"{point.block.path}.cache_control"
            raise invalid(
                f"{where}.ttl: a ttl='1h' cache_control block must not come after a "
                f"ttl='5m' cache_control block. {_TTL_ORDER_HINT}"
            )
    return points


def lookback(positions: Sequence[Position], point: Breakpoint) -> Sequence[Position]:
    """The positions a breakpoint's lookup checks: itself and the 19 before it."""
    end = point.block.index
    return positions[max(0, end - LOOKBACK_POSITIONS + 1) : end + 1]


def plan_usage(
    rendering: Rendering,
    points: Sequence[Breakpoint],
    hits: Mapping[str, CacheEntry],
    minimum: int,
) -> tuple[Usage, list[NewEntry], list[str]]:
    """Usage, pending writes and the keys read, given the live entries found.

    Each breakpoint reads the longest live entry within its lookback window; the request
    reads the longest of those. Every breakpoint past it that reaches the model's minimum
    is written; the tokens between two written breakpoints are billed at the TTL of the
    later one. What lies after the last breakpoint is `input_tokens`.
    """
    positions = rendering.positions
    read_at = -1  # index of the longest position read
    read_keys: list[str] = []
    for point in points:
        for position in reversed(lookback(positions, point)):
            if position.key in hits:
                read_keys.append(position.key)
                read_at = max(read_at, position.index)
                break
    read_tokens = positions[read_at].prefix_tokens if read_at >= 0 else 0
    written_to = read_tokens
    by_ttl = {"5m": 0, "1h": 0}
    writes: list[NewEntry] = []
    for point in points:
        block = point.block
        if block.index <= read_at or block.prefix_tokens < minimum:
            continue  # already read, or too short to cache (no error, just no caching)
        by_ttl[point.ttl] += block.prefix_tokens - written_to
        written_to = block.prefix_tokens
        writes.append(NewEntry(block.key, point.ttl_seconds, block.prefix_tokens))
    usage = Usage(
        input_tokens=rendering.total_tokens - written_to,
        cache_read_input_tokens=read_tokens,
        cache_creation_5m=by_ttl["5m"],
        cache_creation_1h=by_ttl["1h"],
    )
    return usage, writes, list(dict.fromkeys(read_keys))


def check_prefill_only(params: Mapping[str, Any]) -> None:
    """`max_tokens: 0` runs prefill only; the API refuses it with what needs an answer."""
    if params.get("max_tokens") != 0:
        return
    thinking = params.get("thinking")
    config = params.get("output_config")
    choice = params.get("tool_choice")
    refused = None
    if params.get("stream"):
        refused = "stream: true"
    elif isinstance(thinking, Mapping) and thinking.get("type") == "enabled":
        refused = "thinking.type: 'enabled'"
    elif isinstance(config, Mapping) and config.get("format") is not None:
        refused = "output_config.format"
    elif isinstance(choice, Mapping) and choice.get("type") in ("any", "tool"):
        refused = f"tool_choice.type: '{choice.get('type')}'"
    if refused is not None:
        raise invalid(f"max_tokens: 0 (prefill only) is not supported with {refused}")


def check_speed(params: Mapping[str, Any], model: ResolvedModel) -> None:
    """`speed` is standard or fast; fast only on a model the catalog does not rule out."""
    speed = params.get("speed")
    if speed is None:
        return
    if speed not in SPEEDS:
        raise invalid("speed: Input should be 'standard' or 'fast'")
    if speed == "fast" and model.info is not None and model.info.fast_mode is False:
        raise invalid(f"speed: fast mode is not available for {model.requested}")


def check_window(rendering: Rendering, model: ResolvedModel) -> None:
    """A prompt over the model's context window is a 400 (an unknown window: no limit)."""
    window = model.context_window
    if window is not None and rendering.total_tokens > window:
        raise invalid(f"prompt is too long: {rendering.total_tokens} tokens > {window} maximum")


class CacheEngine:
    """Prompt caching as the API documents it, over an EntryStore and an injected clock."""

    def __init__(self, store: EntryStore, catalog: Catalog, clock: Callable[[], float]) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock
        self.models = ModelDirectory(catalog, clock)

    def count_tokens(self, params: Mapping[str, Any]) -> int:
        """What count_tokens reports: the prompt's estimate; validates like a create."""
        self.models.resolve(params.get("model"))
        rendering = render_positions(params)
        collect_breakpoints(params, rendering.positions)
        return rendering.total_tokens

    def prepare(
        self, params: Mapping[str, Any], *, betas: str | Sequence[str] | None = None
    ) -> Prepared:
        """Step 1, at the start of the request: rules, lookups, refreshes, usage.

        `betas` is the request's `anthropic-beta` header (the diagnostics need it).
        """
        model = self.models.resolve(params.get("model"))
        check_prefill_only(params)
        check_speed(params, model)
        rendering = render_positions(params)
        points = collect_breakpoints(params, rendering.positions)
        check_window(rendering, model)
        now = self.clock()
        candidates: list[str] = []
        for point in points:
            candidates.extend(p.key for p in lookback(rendering.positions, point))
        candidates = list(dict.fromkeys(candidates))
        hits = self.store.lookup(model.id, candidates, now) if candidates else {}
        usage, writes, read_keys = plan_usage(rendering, points, hits, model.min_cache_tokens)
        usage = replace(
            usage,
            speed=str(params.get("speed") or "standard"),
            inference_geo=str(params.get("inference_geo") or "global"),
        )
        if read_keys:
            self.store.refresh(model.id, read_keys, now)
        wanted = params.get("diagnostics")
        asked = isinstance(wanted, Mapping)
        current = None
        diagnostics = None
        if isinstance(wanted, Mapping):  # = asked; spelled out so that mypy narrows `wanted`
            cached = usage.cache_read_input_tokens + usage.cache_creation_input_tokens
            current = fingerprint(params, model.id, rendering, cached, betas)
            previous_id = wanted.get("previous_message_id")
            if previous_id:
                previous = self.store.fingerprint_of(str(previous_id))
                reason = diagnose(previous, current, usage.cache_read_input_tokens)
                diagnostics = {"cache_miss_reason": reason} if reason is not None else None
        return Prepared(
            model,
            now,
            usage,
            tuple(writes),
            tuple(points),
            current,
            diagnostics,
            diagnostics_asked=asked,
            rendering=rendering,
            read_keys=tuple(read_keys),
        )

    def commit(self, prepared: Prepared, message_id: str) -> None:
        """Step 2, once the response has started: the written entries become readable."""
        self.store.record(
            prepared.model.id,
            prepared.writes,
            prepared.started_at,
            message_id,
            prepared.fingerprint,
        )
