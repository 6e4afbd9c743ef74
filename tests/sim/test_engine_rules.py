"""The simulator's caching rules at their limits: the engine with an injected clock, no HTTP.

Each limit is tested at, just under and just over it, on both stores (memory and SQLite).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.core.catalog import Catalog, load_catalog
from promptcache_tui.sim.engine import (
    LOOKBACK_POSITIONS,
    MAX_BREAKPOINTS,
    CacheEngine,
    MemoryStore,
    Prepared,
)
from promptcache_tui.sim.errors import ApiError
from promptcache_tui.sim.positions import render_positions
from promptcache_tui.sim.state import SimState

MODEL = "claude-sonnet-4-6"  # minimum 1024
EPHEMERAL: dict[str, Any] = {"type": "ephemeral"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _engine(kind: str, clock: Clock, tmp_path: Path, catalog: Catalog | None = None) -> CacheEngine:
    store = MemoryStore() if kind == "memory" else SimState.in_dir(tmp_path)
    return CacheEngine(store, catalog or load_catalog(None), clock)


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, clock: Clock, tmp_path: Path) -> CacheEngine:
    return _engine(request.param, clock, tmp_path)


def text(body: str, cache: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": body}
    if cache is not None:
        block["cache_control"] = cache
    return block


def words(n: int) -> str:
    """Exactly `n` estimated tokens."""
    return "a " * n


def run(engine: CacheEngine, params: dict[str, Any], message_id: str = "msg") -> Prepared:
    prepared = engine.prepare({"max_tokens": 8, **params})
    engine.commit(prepared, message_id)
    return prepared


def usage(prepared: Prepared) -> tuple[int, int, int]:
    u = prepared.usage
    return u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens


# -- lookback ----------------------------------------------------------------------------------


def _growing(extra: int) -> dict[str, Any]:
    blocks = [text(words(2000), EPHEMERAL if extra == 0 else None)]
    blocks += [text(f"w{i}") for i in range(extra)]
    if extra:
        blocks[-1]["cache_control"] = EPHEMERAL
    return {"model": MODEL, "messages": [{"role": "user", "content": blocks}]}


@pytest.mark.parametrize(
    ("extra", "hit"),
    [(LOOKBACK_POSITIONS - 2, True), (LOOKBACK_POSITIONS - 1, True), (20, False), (21, False)],
)
def test_lookback_is_twenty_positions_counting_the_breakpoint(
    engine: CacheEngine, extra: int, hit: bool
) -> None:
    assert LOOKBACK_POSITIONS == 20
    first = run(engine, _growing(0))
    assert first.usage.cache_creation_input_tokens == 2004
    later = engine.prepare({"max_tokens": 8, **_growing(extra)})
    assert later.usage.cache_read_input_tokens == (2004 if hit else 0)


# -- breakpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "ok"), [(3, True), (4, True), (5, False)])
def test_at_most_four_breakpoints(engine: CacheEngine, count: int, ok: bool) -> None:
    assert MAX_BREAKPOINTS == 4
    params = {
        "model": MODEL,
        "system": [text(words(100 + i), EPHEMERAL) for i in range(count)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    if ok:
        engine.prepare({"max_tokens": 8, **params})
        return
    with pytest.raises(ApiError) as caught:
        engine.prepare({"max_tokens": 8, **params})
    assert (
        caught.value.message == "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )


@pytest.mark.parametrize(("explicit", "ok"), [(2, True), (3, True), (4, False)])
def test_top_level_caching_takes_one_of_the_four_slots(
    engine: CacheEngine, explicit: int, ok: bool
) -> None:
    params = {
        "model": MODEL,
        "cache_control": EPHEMERAL,
        "system": [text(words(100 + i), EPHEMERAL) for i in range(explicit)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    if ok:
        engine.prepare({"max_tokens": 8, **params})
    else:
        with pytest.raises(ApiError, match="Found 5"):
            engine.prepare({"max_tokens": 8, **params})


# -- minimum -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "tokens", "cached"),
    [
        ("claude-sonnet-4-6", 1023, False),
        ("claude-sonnet-4-6", 1024, True),
        ("claude-sonnet-4-6", 1025, True),
        ("claude-opus-5", 511, False),
        ("claude-opus-5", 512, True),
        ("claude-haiku-4-5", 4095, False),
        ("claude-haiku-4-5", 4096, True),
        ("claude-not-catalogued", 1023, False),  # an unknown Claude model: 1024
        ("claude-not-catalogued", 1024, True),
    ],
)
def test_minimum_cacheable_prefix_at_the_limit(
    engine: CacheEngine, model: str, tokens: int, cached: bool
) -> None:
    params = {
        "model": model,
        "system": [text(words(tokens), EPHEMERAL)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    first = run(engine, params)
    assert first.usage.cache_creation_input_tokens == (tokens if cached else 0)
    assert engine.prepare({"max_tokens": 8, **params}).usage.cache_read_input_tokens == (
        tokens if cached else 0
    )


# -- expiry ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "after", "live"),
    [
        ("5m", 299.999, True),
        ("5m", 300.0, False),
        ("5m", 300.001, False),
        ("1h", 3599.999, True),
        ("1h", 3600.0, False),
        ("1h", 3600.001, False),
    ],
)
def test_entries_live_exactly_their_ttl(
    engine: CacheEngine, clock: Clock, ttl: str, after: float, live: bool
) -> None:
    params = {
        "model": MODEL,
        "system": [text(words(2000), {"type": "ephemeral", "ttl": ttl})],
        "messages": [{"role": "user", "content": "Q"}],
    }
    run(engine, params)
    clock.now += after
    assert engine.prepare({"max_tokens": 8, **params}).usage.cache_read_input_tokens == (
        2000 if live else 0
    )


def test_a_read_refreshes_at_the_ttl_the_entry_was_written_with(
    engine: CacheEngine, clock: Clock
) -> None:
    five = {
        "model": MODEL,
        "system": [text(words(2000), EPHEMERAL)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    hour = {**five, "system": [text(words(2000), {"type": "ephemeral", "ttl": "1h"})]}
    run(engine, five)
    clock.now += 200
    assert run(engine, hour).usage.cache_read_input_tokens == 2000  # same key: read
    clock.now += 300  # 300 s after the read: a 5m entry, whatever the reader asked
    assert engine.prepare({"max_tokens": 8, **hour}).usage.cache_read_input_tokens == 0


# -- context window ----------------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "refused"), [(-1, False), (0, False), (1, True)])
def test_the_context_window_is_a_400_one_token_over(
    tmp_path: Path, clock: Clock, delta: int, refused: bool
) -> None:
    params = {
        "model": MODEL,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": words(500)}],
    }
    total = render_positions(params).total_tokens
    (tmp_path / "models.toml").write_text(f"[models.{MODEL}]\ncontext_window = {total - delta}\n")
    engine = _engine("memory", clock, tmp_path, load_catalog(tmp_path))
    if not refused:
        engine.prepare(params)
        return
    with pytest.raises(ApiError) as caught:
        engine.prepare(params)
    assert (caught.value.status, caught.value.kind) == (400, "invalid_request_error")
    assert caught.value.message == f"prompt is too long: {total} tokens > {total - 1} maximum"


def test_an_unknown_window_is_not_enforced(engine: CacheEngine) -> None:
    engine.prepare(
        {
            "model": "claude-not-catalogued",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": words(3000)}],
        }
    )


# -- prefill only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "refused"),
    [
        ({}, None),
        ({"stream": True}, "stream: true"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "thinking.type: 'enabled'"),
        ({"thinking": {"type": "adaptive"}}, None),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {}}}},
            "output_config.format",
        ),
        ({"output_config": {"effort": "low"}}, None),
        ({"tool_choice": {"type": "any"}}, "tool_choice.type: 'any'"),
        ({"tool_choice": {"type": "tool", "name": "look"}}, "tool_choice.type: 'tool'"),
        ({"tool_choice": {"type": "auto"}}, None),
    ],
)
def test_prefill_only_refusals(
    engine: CacheEngine, extra: dict[str, Any], refused: str | None
) -> None:
    params = {
        "model": MODEL,
        "max_tokens": 0,
        "tools": [{"name": "look", "input_schema": {"type": "object"}}],
        "system": [text(words(2000), EPHEMERAL)],
        "messages": [{"role": "user", "content": "Q"}],
        **extra,
    }
    if refused is None:
        assert engine.prepare(params).usage.cache_creation_input_tokens > 0
        assert engine.prepare({**params, "max_tokens": 1}).usage is not None
        return
    with pytest.raises(ApiError) as caught:
        engine.prepare(params)
    assert caught.value.message == f"max_tokens: 0 (prefill only) is not supported with {refused}"
    engine.prepare({**params, "max_tokens": 1, "stream": False})  # the same with output is fine


# -- settings that key a tier ------------------------------------------------------------------


def _tiers(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-5",
        "tools": [
            {
                "name": "look",
                "description": words(600),
                "input_schema": {"type": "object"},
                "cache_control": EPHEMERAL,
            }
        ],
        "system": [text(words(600), EPHEMERAL)],
        "messages": [
            {"role": "user", "content": [text(words(600), EPHEMERAL)]},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "And?"},
        ],
        **extra,
    }


def _read_tier(engine: CacheEngine, changed: dict[str, Any]) -> int:
    """How many tiers (tools, system, messages) a changed request still reads."""
    base = run(engine, _tiers(), "msg_base")
    ends = [p.block.prefix_tokens for p in base.breakpoints]
    read = engine.prepare({"max_tokens": 8, **changed}).usage.cache_read_input_tokens
    return 0 if read == 0 else ends.index(read) + 1


IMAGE = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
SEARCH = {"type": "web_search_20250305", "name": "web_search"}


@pytest.mark.parametrize(
    ("change", "tiers_read"),
    [
        ({}, 3),
        ({"speed": "fast"}, 1),
        ({"speed": "standard"}, 3),
        ("web_search", 1),
        ("citations", 1),
        ({"tool_choice": {"type": "any"}}, 2),
        ({"tool_choice": {"type": "auto"}}, 3),
        ({"thinking": {"type": "adaptive"}}, 2),
        ({"thinking": {"type": "disabled"}}, 3),
        ({"output_config": {"effort": "low"}}, 2),
        ("image", 2),
        ("model", 0),
    ],
)
def test_the_invalidation_table(engine: CacheEngine, change: Any, tiers_read: int) -> None:
    changed = _tiers()
    if change == "web_search":
        changed["tools"] = [SEARCH, *changed["tools"]]  # even placed first, tools are kept
    elif change == "citations":
        doc = {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "x"},
            "citations": {"enabled": True},
        }
        changed["messages"][-1] = {"role": "user", "content": [doc, text("And?")]}
    elif change == "image":
        changed["messages"][-1] = {"role": "user", "content": [IMAGE, text("And?")]}
    elif change == "model":
        changed["model"] = "claude-opus-4-8"
    else:
        changed.update(change)
    assert _read_tier(engine, changed) == tiers_read


def test_speed_must_be_standard_or_fast(engine: CacheEngine, tmp_path: Path, clock: Clock) -> None:
    with pytest.raises(ApiError, match="speed: Input should be 'standard' or 'fast'"):
        engine.prepare({**_tiers(), "max_tokens": 8, "speed": "ludicrous"})
    (tmp_path / "models.toml").write_text("[models.claude-opus-5]\nfast_mode = false\n")
    no_fast = _engine("memory", clock, tmp_path, load_catalog(tmp_path))
    with pytest.raises(ApiError, match="fast mode is not available for claude-opus-5"):
        no_fast.prepare({**_tiers(), "max_tokens": 8, "speed": "fast"})


def test_caches_are_per_model_id(engine: CacheEngine) -> None:
    params = {
        "model": "claude-fable-5",
        "system": [text(words(2000), EPHEMERAL)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    run(engine, params)
    assert (
        engine.prepare(
            {**params, "max_tokens": 8, "model": "claude-fable-5-1"}
        ).usage.cache_read_input_tokens
        == 0
    )
    assert engine.prepare({**params, "max_tokens": 8}).usage.cache_read_input_tokens == 2000


def test_a_system_message_inside_messages_is_part_of_the_prefix(engine: CacheEngine) -> None:
    def with_note(note: str) -> dict[str, Any]:
        return {
            "model": "claude-opus-4-8",
            "system": [text(words(2000), EPHEMERAL)],
            "messages": [
                {"role": "user", "content": words(50)},
                {"role": "system", "content": note},
                {"role": "user", "content": [text(words(50), EPHEMERAL)]},
            ],
        }

    first = run(engine, with_note("Be brief."))
    whole = first.usage.cache_creation_input_tokens
    assert (
        engine.prepare({"max_tokens": 8, **with_note("Be brief.")}).usage.cache_read_input_tokens
        == whole
    )
    changed = engine.prepare({"max_tokens": 8, **with_note("Be thorough.")})
    assert changed.usage.cache_read_input_tokens == 2000  # the system prompt, not the turns


# -- diagnostics -------------------------------------------------------------------------------


def _asked(params: dict[str, Any], previous: str | None) -> dict[str, Any]:
    return {**params, "diagnostics": {"previous_message_id": previous}}


def _reason(prepared: Prepared) -> dict[str, Any] | None:
    return (prepared.diagnostics or {}).get("cache_miss_reason")


def test_diagnostics_are_absent_unless_asked(engine: CacheEngine) -> None:
    plain = run(engine, _tiers(), "msg_a")
    assert not plain.diagnostics_asked and plain.diagnostics is None
    first = run(engine, _asked(_tiers(), None), "msg_b")
    assert first.diagnostics_asked and first.diagnostics is None
    # msg_a asked for nothing: no fingerprint was kept for it.
    later = engine.prepare({"max_tokens": 8, **_asked(_tiers(), "msg_a")})
    assert _reason(later) == {"type": "previous_message_not_found"}
    assert _reason(engine.prepare({"max_tokens": 8, **_asked(_tiers(), "msg_b")})) is None


def test_diagnostics_are_computed_whether_or_not_the_call_hit(engine: CacheEngine) -> None:
    small = {
        "model": MODEL,
        "system": "Short rules.",
        "messages": [{"role": "user", "content": "Q"}],
    }
    run(engine, _asked(small, None), "msg_a")  # nothing cached: under every minimum
    other = engine.prepare(
        {"max_tokens": 8, **_asked({**small, "system": "Other rules."}, "msg_a")}
    )
    assert other.usage.cache_read_input_tokens == other.usage.cache_creation_input_tokens == 0
    assert _reason(other) == {"type": "system_changed", "cache_missed_input_tokens": 0}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"speed": "fast"}, "system_changed"),
        ({"thinking": {"type": "adaptive"}}, "unavailable"),
        ({"tool_choice": {"type": "any"}}, "unavailable"),
        ({"output_config": {"effort": "low"}}, "unavailable"),
        ({"context_management": {"edits": []}}, "unavailable"),
        ({"output_format": {"type": "json_schema", "schema": {}}}, "unavailable"),
        ("image", "messages_changed"),
        ("system message", "messages_changed"),
        ("betas", "unavailable"),
        ("diagnosis beta", None),
    ],
)
def test_diagnostics_name_the_tier_that_diverged(
    engine: CacheEngine, change: Any, reason: str | None
) -> None:
    run(engine, _asked(_tiers(), None), "msg_first")
    changed = _asked(_tiers(), "msg_first")
    betas = None
    if change == "image":
        changed["messages"][-1] = {"role": "user", "content": [IMAGE, text("And?")]}
    elif change == "system message":
        changed["messages"] = [
            changed["messages"][0],
            {"role": "system", "content": "New rule."},
            *changed["messages"][1:],
        ]
    elif change == "betas":
        betas = "context-1m-2025-08-07"
    elif change == "diagnosis beta":
        betas = "cache-diagnosis-2026-04-07"
    else:
        changed.update(change)
    got = _reason(engine.prepare({"max_tokens": 8, **changed}, betas=betas))
    assert (got or {}).get("type") == reason
