"""The client's caching rules at every limit, for every model the catalog knows.

Each limit is tested at, just under and just over it. The numbers come from the catalog and
from the rule modules' own constants (checked against the documented values once), so a
change in the data moves the tests with it, and an off-by-one in a comparison fails them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from promptcache_tui.core.advisor import breakpoint_warnings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import MAX_BREAKPOINTS, Block, Breakpoint, Context, check_context
from promptcache_tui.core.prefix import render
from promptcache_tui.core.ttl import (
    EXPIRING_FRACTION,
    LOOKBACK_POSITIONS,
    TTL_SECONDS,
    CacheEvent,
    SessionCache,
    SessionEvent,
    TTLLedger,
    breakpoint_cached,
    predict_call,
    settle,
)

CATALOG = load_catalog()
DAY = date(2026, 12, 1)
# One model per distinct minimum in the catalog, so every minimum it holds is tested.
_BY_MINIMUM: dict[int, str] = {}
for _model in CATALOG.names():
    _minimum = CATALOG.min_cache_tokens(_model)
    if _minimum is not None:
        _BY_MINIMUM.setdefault(_minimum, _model)
MINIMUM_MODELS = sorted(_BY_MINIMUM.values())
DELTAS = [(-1, False), (0, True), (1, True)]  # tokens from the minimum, cached?


def test_the_documented_limits() -> None:
    assert (LOOKBACK_POSITIONS, MAX_BREAKPOINTS) == (20, 4)
    assert TTL_SECONDS == {"5m": 300, "1h": 3600}
    assert len(MINIMUM_MODELS) >= 3  # the catalog holds several minimums (512 ... 4096)


def _minimum(model: str) -> int:
    found = CATALOG.min_cache_tokens(model)
    assert found is not None
    return found


def _one_breakpoint(model: str, tokens: int) -> dict[str, Any]:
    """A system prompt of exactly `tokens` estimated tokens, marked, then a question."""
    return {
        "model": model,
        "system": [{"type": "text", "text": "a " * tokens, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Q"}],
    }


# -- the minimum: prediction, settling, the older approximation, the advisor ----------------


@pytest.mark.parametrize("model", MINIMUM_MODELS)
@pytest.mark.parametrize(("delta", "cached"), DELTAS)
def test_prediction_writes_from_each_models_minimum(model: str, delta: int, cached: bool) -> None:
    tokens = _minimum(model) + delta
    blocks = render(_one_breakpoint(model, tokens))
    assert blocks[0].prefix_tokens == tokens
    prediction = predict_call(TTLLedger(lambda: 0.0), model, blocks, _minimum(model))
    assert prediction.points[0].writes is cached
    assert (prediction.write_5m, prediction.read_tokens) == (tokens if cached else 0, 0)
    assert len(prediction.events(0.0)) == (1 if cached else 0)


@pytest.mark.parametrize("model", MINIMUM_MODELS)
@pytest.mark.parametrize(("delta", "cached"), DELTAS)
def test_settle_counts_breakpoints_from_the_minimum(model: str, delta: int, cached: bool) -> None:
    tokens = _minimum(model) + delta
    # Predicted with no minimum (unknown): only settling applies the model's minimum.
    prediction = predict_call(
        TTLLedger(lambda: 0.0), model, render(_one_breakpoint(model, tokens)), None
    )
    minimum = _minimum(model)
    # The API read nothing and wrote (the ledger had missed an eviction) ...
    wrote = settle(prediction, cache_read=0, cache_creation=tokens, ok=True, min_tokens=minimum)
    # ... or read although nothing was predicted (a call this log did not see).
    read = settle(prediction, cache_read=tokens, cache_creation=0, ok=True, min_tokens=minimum)
    assert wrote == read == (cached,)


@pytest.mark.parametrize("model", MINIMUM_MODELS)
@pytest.mark.parametrize(("delta", "cached"), DELTAS)
def test_breakpoint_cached_from_the_minimum(model: str, delta: int, cached: bool) -> None:
    minimum = _minimum(model)
    assert breakpoint_cached(minimum + delta, 10, minimum, True) is cached
    assert breakpoint_cached(minimum + delta, 0, minimum, True) is False  # nothing cached


@pytest.mark.parametrize("model", MINIMUM_MODELS)
@pytest.mark.parametrize(("delta", "cached"), DELTAS)
def test_below_minimum_warning_for_each_models_minimum(
    model: str, delta: int, cached: bool
) -> None:
    minimum = _minimum(model)
    ctx = Context("c", (Block("system", "a " * (minimum + delta)),), (Breakpoint(0),), model)
    found = {w.code: w.message for w in breakpoint_warnings(ctx, CATALOG, today=DAY)[0]}
    assert ("below_minimum" in found) is not cached
    if not cached:
        assert found["below_minimum"] == (
            f"prefix is about {minimum - 1} tokens, 1 under {model}'s minimum of {minimum}: "
            "it will not be cached"
        )


# -- breakpoints: at most four --------------------------------------------------------------


def _marked(count: int) -> Context:
    blocks = tuple(Block("system", f"part {i} " + "a " * 1100) for i in range(count))
    return Context("c", blocks, tuple(Breakpoint(i) for i in range(count)), "claude-sonnet-4-6")


@pytest.mark.parametrize("count", [MAX_BREAKPOINTS - 1, MAX_BREAKPOINTS, MAX_BREAKPOINTS + 1])
def test_at_most_four_breakpoints_on_the_client(count: int) -> None:
    ctx = _marked(count)
    over = count > MAX_BREAKPOINTS
    problems = check_context(ctx)
    assert problems == (
        [f"A maximum of 4 blocks with cache_control may be provided. Found {count}."]
        if over
        else []
    )
    warned = [
        position
        for position, found in enumerate(breakpoint_warnings(ctx, CATALOG, today=DAY))
        if any(w.code == "too_many_breakpoints" for w in found)
    ]
    assert warned == ([MAX_BREAKPOINTS] if over else [])


# -- lookback: 20 positions, the breakpoint's own included ----------------------------------


@pytest.mark.parametrize(
    ("gap", "warned"),
    [(LOOKBACK_POSITIONS - 1, False), (LOOKBACK_POSITIONS, True), (LOOKBACK_POSITIONS + 1, True)],
)
def test_lookback_warning_names_the_gap(gap: int, warned: bool) -> None:
    turns = tuple(
        Block("example", f"turn {i}", role=("user", "assistant")[i % 2]) for i in range(gap)
    )
    ctx = Context(
        "c",
        (Block("document", "a " * 2000, "doc"), *turns),
        (Breakpoint(0), Breakpoint(gap)),
        "claude-sonnet-4-6",
    )
    found = {w.code: w.message for w in breakpoint_warnings(ctx, CATALOG, today=DAY)[1]}
    assert ("lookback_exceeded" in found) is warned
    if warned:
        assert found["lookback_exceeded"].startswith(f"{gap} blocks after the previous breakpoint")


# -- expiry: 300 s and 3,600 s from the start of the call -----------------------------------


@pytest.mark.parametrize("ttl", ["5m", "1h"])
@pytest.mark.parametrize(("offset", "warm"), [(-0.001, True), (0.0, False), (0.001, False)])
def test_the_ledger_expires_an_entry_exactly_at_its_ttl(
    ttl: str, offset: float, warm: bool
) -> None:
    start = 1_000.0
    ledger = TTLLedger(lambda: start)
    ledger.record(CacheEvent(start, "claude-sonnet-4-6", "h", ttl))
    at = start + TTL_SECONDS[ttl] + offset
    state = ledger.state("claude-sonnet-4-6", "h", at)
    assert state.state == ("warm" if warm else "expired")
    assert state.expires_at == start + TTL_SECONDS[ttl]
    assert state.remaining == (pytest.approx(0.001) if warm else None)
    # A read at that instant refreshes a live entry; at or past its end it writes anew.
    ledger.record(CacheEvent(at, "claude-sonnet-4-6", "h", ttl))
    after = ledger.state("claude-sonnet-4-6", "h", at)
    assert after.expires_at == pytest.approx(at + TTL_SECONDS[ttl])


@pytest.mark.parametrize("ttl", ["5m", "1h"])
@pytest.mark.parametrize(
    ("offset", "urgency"), [(-0.001, "expiring"), (0.0, "expiring"), (0.001, "warm")]
)
def test_an_entry_is_expiring_in_the_last_fifth_of_its_ttl(
    ttl: str, offset: float, urgency: str
) -> None:
    ledger = TTLLedger(lambda: 0.0)
    ledger.record(CacheEvent(0.0, "m", "h", ttl))
    left = TTL_SECONDS[ttl] * EXPIRING_FRACTION + offset
    assert ledger.state("m", "h", TTL_SECONDS[ttl] - left).urgency == urgency


@pytest.mark.parametrize("ttl", ["5m", "1h"])
@pytest.mark.parametrize(("offset", "warm"), [(-0.001, True), (0.0, False), (0.001, False)])
def test_a_sessions_cache_expires_exactly_at_its_ttl(ttl: str, offset: float, warm: bool) -> None:
    five, hour = (1000, 0) if ttl == "5m" else (0, 1000)
    cache = SessionCache().after(SessionEvent(50.0, five, hour, 0))
    assert cache.ttl == ttl
    state = cache.state(50.0 + TTL_SECONDS[ttl] + offset)
    assert state.state == ("warm" if warm else "expired")


@pytest.mark.parametrize("ttl", ["5m", "1h"])
@pytest.mark.parametrize(("offset", "read"), [(-0.001, True), (0.0, False), (0.001, False)])
def test_a_prediction_reads_only_before_the_ttl_ends(ttl: str, offset: float, read: bool) -> None:
    model = "claude-sonnet-4-6"
    params = _one_breakpoint(model, 2000)
    params["system"][0]["cache_control"]["ttl"] = ttl
    blocks = render(params)
    ledger = TTLLedger(lambda: 0.0)
    ledger.record_all(predict_call(ledger, model, blocks, _minimum(model), now=0.0).events(0.0))
    later = predict_call(ledger, model, blocks, _minimum(model), now=TTL_SECONDS[ttl] + offset)
    assert later.read_tokens == (2000 if read else 0)
    assert later.write_5m + later.write_1h == (0 if read else 2000)
