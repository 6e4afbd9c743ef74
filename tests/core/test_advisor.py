"""Advisor warnings (true and false positives) and inferred miss reasons."""

from __future__ import annotations

from promptcache_tui.core.advisor import breakpoint_warnings, infer_miss_reason, volatile_reason
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Block, Breakpoint, Context

CATALOG = load_catalog()
LONG = "The harbour was quiet and the boats rocked gently in the evening tide. " * 200


def codes(ctx: Context, **kw: object) -> list[list[str]]:
    return [[w.code for w in ws] for ws in breakpoint_warnings(ctx, CATALOG, **kw)]


def ctx_of(
    *blocks: Block, marks: tuple[Breakpoint, ...] = (), model: str = "claude-sonnet-4-6"
) -> Context:
    return Context(name="c", blocks=blocks, breakpoints=marks, model=model)


def test_long_clean_prefix_has_no_warnings() -> None:
    ctx = ctx_of(
        Block("system", "You answer briefly."),
        Block("document", LONG, "a"),
        marks=(Breakpoint(1, "1h"),),
    )
    assert codes(ctx) == [[]]


def test_below_minimum_says_by_how_much() -> None:
    ctx = ctx_of(Block("document", "short text", "a"), marks=(Breakpoint(0),))
    [[warning]] = breakpoint_warnings(ctx, CATALOG)
    assert warning.code == "below_minimum"
    assert "under claude-sonnet-4-6's minimum of 1024" in warning.message


def test_the_same_prefix_passes_on_a_model_with_a_lower_minimum() -> None:
    text = "word " * 800
    ctx = ctx_of(Block("document", text, "a"), marks=(Breakpoint(0),), model="claude-opus-5")
    assert codes(ctx) == [[]]
    assert codes(ctx, model="claude-haiku-4-5") == [["below_minimum"]]


def test_real_counts_override_estimates() -> None:
    ctx = ctx_of(Block("document", LONG, "a"), marks=(Breakpoint(0),))
    assert codes(ctx, prefix_tokens=[900], estimated=False) == [["below_minimum"]]


def test_unknown_model() -> None:
    ctx = ctx_of(Block("document", LONG, "a"), marks=(Breakpoint(0),), model="claude-x-1")
    assert codes(ctx) == [["unknown_model"]]


def test_too_many_breakpoints_and_ttl_order_on_drafts() -> None:
    blocks = tuple(Block("document", LONG, f"d{i}") for i in range(5))
    marks = (*(Breakpoint(i, "5m") for i in range(4)), Breakpoint(4, "1h"))
    result = codes(ctx_of(*blocks, marks=marks))
    assert "too_many_breakpoints" in result[4]
    assert "ttl_order" in result[4]
    assert all("too_many_breakpoints" not in r for r in result[:4])


def test_lookback_exceeded() -> None:
    examples = tuple(
        Block("example", f"turn {i}", role="user" if i % 2 == 0 else "assistant") for i in range(24)
    )
    blocks = (Block("document", LONG, "a"), *examples)
    result = codes(ctx_of(*blocks, marks=(Breakpoint(0, "5m"), Breakpoint(24, "5m"))))
    assert "lookback_exceeded" in result[1]
    near = codes(ctx_of(*blocks, marks=(Breakpoint(0, "5m"), Breakpoint(10, "5m"))))
    assert "lookback_exceeded" not in near[1]


def test_volatile_prefix_before_a_breakpoint() -> None:
    stamped = ctx_of(
        Block("system", "Current time: 2026-11-26T10:42:00Z. Be brief."),
        Block("document", LONG, "a"),
        marks=(Breakpoint(1, "5m"),),
    )
    assert codes(stamped) == [["volatile_prefix"]]


def test_volatile_value_after_the_last_breakpoint_is_fine() -> None:
    ctx = ctx_of(
        Block("document", LONG, "a"),
        Block("system", "request id req_0123456789abcdef"),
        marks=(Breakpoint(0),),
    )
    assert codes(ctx) == [[]]


def test_volatile_false_positives() -> None:
    assert volatile_reason("Chapter 12: 3 apples and 2024 pears, version 1.2.3") is None
    assert volatile_reason("id 123e4567-e89b-12d3-a456-426614174000") == "a UUID"
    assert volatile_reason("Today is Thursday") == "today's date"


def test_miss_reasons() -> None:
    base = {"cache_creation": 1200, "prefix_tokens": [1200], "min_tokens": 1024}
    assert (
        infer_miss_reason(cache_read=1200, **{**base, "cache_creation": 0}, states_before=["warm"])
        is None
    )
    assert infer_miss_reason(cache_read=0, **base, states_before=["expired"]) == "expired"
    assert infer_miss_reason(cache_read=0, **base, states_before=["cold"]) == "first write"
    assert infer_miss_reason(
        cache_read=0, cache_creation=0, prefix_tokens=[500], min_tokens=1024, states_before=["cold"]
    ).startswith("under")
    assert (
        infer_miss_reason(
            cache_read=0, **base, states_before=["cold"], previous_hashes=["a"], hashes=["b"]
        )
        == "prefix changed at breakpoint 1"
    )
    assert (
        infer_miss_reason(
            cache_read=0, **base, states_before=["cold"], previous_model="x", model="y"
        )
        == "model changed"
    )
