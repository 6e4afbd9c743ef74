"""The client's model of the caching rules: prefix tiers, predictions, and the advisor.

Each limit is tested at, just under and just over it; the simulator's own model of the same
rules is tested in tests/sim, and the two are cross-checked in tests/sim/test_two_models.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.core.advisor import (
    api_miss_reason,
    breakpoint_warnings,
    context_warnings,
    infer_miss_reason,
    volatile_reason,
)
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.prefix import render
from promptcache_tui.core.ttl import (
    LOOKBACK_POSITIONS,
    TTLLedger,
    predict_call,
    settle,
)

CATALOG = load_catalog()
EPHEMERAL = {"type": "ephemeral"}


def _text(body: str, mark: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": body}
    if mark:
        block["cache_control"] = EPHEMERAL
    return block


def _request(**extra: Any) -> dict[str, Any]:
    """Tools, system and messages, each with a breakpoint: one per cache tier."""
    return {
        "model": "claude-opus-5",
        "tools": [{"name": "look", "input_schema": {"type": "object"}, "cache_control": EPHEMERAL}],
        "system": [_text("You answer from the manual.", mark=True)],
        "messages": [
            {"role": "user", "content": [_text("Earlier question.")]},
            {"role": "assistant", "content": [_text("Earlier answer.", mark=True)]},
            {"role": "user", "content": "New question?"},
        ],
        **extra,
    }


def _tier_hashes(params: dict[str, Any]) -> tuple[str, str, str]:
    marked = [b.prefix_hash for b in render(params) if b.cache_control]
    return marked[0], marked[1], marked[2]


# -- prefix: the invalidation table ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "kept"),
    [
        ({"speed": "fast"}, 1),  # system and messages change, tools kept
        (
            {
                "tools": [
                    *_request()["tools"],
                    {"type": "web_search_20250305", "name": "web_search"},
                ]
            },
            1,
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "document",
                                "source": {"type": "text", "media_type": "text/plain", "data": "x"},
                                "citations": {"enabled": True},
                            }
                        ],
                    },
                    *_request()["messages"],
                ]
            },
            1,
        ),
        ({"tool_choice": {"type": "any"}}, 2),  # messages change; tools and system kept
        ({"thinking": {"type": "adaptive"}}, 2),
        ({"output_config": {"effort": "low"}}, 2),
        (
            {
                "messages": [
                    *_request()["messages"][:2],
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                            _text("And this?"),
                        ],
                    },
                ]
            },
            2,  # an image after every breakpoint still changes the messages tier
        ),
    ],
)
def test_settings_change_the_tiers_the_invalidation_table_names(
    change: dict[str, Any], kept: int
) -> None:
    before = _tier_hashes(_request())
    after = _tier_hashes(_request(**change))
    assert before[:kept] == after[:kept]
    assert all(b != a for b, a in zip(before[kept:], after[kept:], strict=True))


def test_defaults_are_the_absent_setting() -> None:
    base = _tier_hashes(_request())
    assert _tier_hashes(_request(speed="standard")) == base
    assert _tier_hashes(_request(tool_choice={"type": "auto"})) == base
    assert _tier_hashes(_request(thinking={"type": "disabled"})) == base
    # cache_control is never part of a key, even at the top level
    assert _tier_hashes(_request(cache_control=EPHEMERAL)) == base


def test_web_search_renders_after_the_other_tools() -> None:
    search = {"type": "web_search_20250305", "name": "web_search"}
    tool = _request()["tools"][0]
    first = render(_request(tools=[search, tool]))
    last = render(_request(tools=[tool, search]))
    assert [b.prefix_hash for b in first] == [b.prefix_hash for b in last]
    assert first[0].prefix_hash == render(_request())[0].prefix_hash  # the tool keeps its key


def test_requests_without_the_new_settings_keep_their_hashes() -> None:
    # Pinned from the renderer before the tier rules existed: logged calls keep their keys.
    request = {
        "model": "m",
        "tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": EPHEMERAL}],
        "system": [
            _text("You are terse."),
            {
                "type": "text",
                "text": "Doc body",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
        ],
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [_text("Hello")]},
            {"role": "user", "content": [_text("Q?", mark=True)]},
        ],
    }
    assert render(request)[-1].prefix_hash == (
        "a8545dbd7c4488f0a2f4bb6dea8069b4c8cf4f776b5340de3fc55ce7d1ddab66"
    )


def test_a_system_message_inside_messages_is_part_of_the_prefix() -> None:
    def with_note(note: str) -> dict[str, Any]:
        messages = _request()["messages"]
        return _request(messages=[messages[0], {"role": "system", "content": note}, *messages[1:]])

    a, b = _tier_hashes(with_note("Be brief.")), _tier_hashes(with_note("Be thorough."))
    assert a[:2] == b[:2]  # tools and the top-level system are untouched
    assert a[2] != b[2]  # the breakpoint after it is not
    # Its role is part of its key: the same words as a user turn are another prompt.
    messages = _request()["messages"]
    as_user = _request(
        messages=[messages[0], {"role": "user", "content": "Be brief."}, *messages[1:]]
    )
    assert _tier_hashes(as_user)[2] != a[2]
    rendered = render(with_note("Be brief."))
    assert rendered[3].cacheable and rendered[3].message_index == 1


def test_an_empty_system_string_is_no_system_prompt() -> None:
    assert [b.prefix_hash for b in render(_request(system=""))] == [
        b.prefix_hash for b in render({k: v for k, v in _request().items() if k != "system"})
    ]


# -- predictions: lookback, minimum, expiry -------------------------------------------------


def _conversation(extra_blocks: int) -> dict[str, Any]:
    """A ~2000-token document then `extra_blocks` one-word blocks, the last one marked."""
    blocks = [_text("word " * 2000, mark=extra_blocks == 0)]
    blocks += [_text(f"w{i}") for i in range(extra_blocks)]
    if extra_blocks:
        blocks[-1]["cache_control"] = EPHEMERAL
    return {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": blocks}]}


def _ledger_after(params: dict[str, Any], at: float = 0.0) -> TTLLedger:
    ledger = TTLLedger(lambda: at)
    prediction = predict_call(ledger, "claude-sonnet-4-6", render(params), 1024, now=at)
    ledger.record_all(prediction.events(at))
    return ledger


@pytest.mark.parametrize(
    ("extra", "found"),
    [(LOOKBACK_POSITIONS - 2, True), (LOOKBACK_POSITIONS - 1, True), (20, False), (21, False)],
)
def test_prediction_looks_back_twenty_positions_counting_the_breakpoint(
    extra: int, found: bool
) -> None:
    ledger = _ledger_after(_conversation(0))
    prediction = predict_call(
        ledger, "claude-sonnet-4-6", render(_conversation(extra)), 1024, now=10.0
    )
    [point] = prediction.points
    assert (point.read_index == 0) is found
    assert prediction.beyond_lookback is not found
    assert point.writes  # past what was read, or nothing read: written either way
    assert prediction.read_tokens == (2004 if found else 0)


@pytest.mark.parametrize(("tokens", "written"), [(1023, False), (1024, True), (1025, True)])
def test_prediction_writes_from_the_minimum(tokens: int, written: bool) -> None:
    params = {
        "model": "claude-sonnet-4-6",
        "system": [_text("a " * tokens, mark=True)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    prediction = predict_call(TTLLedger(lambda: 0.0), "claude-sonnet-4-6", render(params), 1024)
    assert prediction.points[0].writes is written
    assert prediction.write_5m == (tokens if written else 0)


@pytest.mark.parametrize(
    ("ttl", "seconds", "warm"),
    [
        ("5m", 299.999, True),
        ("5m", 300.0, False),
        ("5m", 300.001, False),
        ("1h", 3599.999, True),
        ("1h", 3600.0, False),
        ("1h", 3600.001, False),
    ],
)
def test_prediction_reads_only_live_entries(ttl: str, seconds: float, warm: bool) -> None:
    params = {
        "model": "claude-sonnet-4-6",
        "system": [
            {
                "type": "text",
                "text": "a " * 2000,
                "cache_control": {"type": "ephemeral", "ttl": ttl},
            }
        ],
        "messages": [{"role": "user", "content": "Q"}],
    }
    ledger = _ledger_after(params)
    prediction = predict_call(ledger, "claude-sonnet-4-6", render(params), 1024, now=seconds)
    assert (prediction.read_tokens == 2000) is warm
    assert prediction.points[0].state_before == ("warm" if warm else "expired")


def test_a_breakpoint_before_the_read_point_that_finds_nothing_is_not_written() -> None:
    doc = _text("a " * 3000)
    later = {
        "model": "claude-sonnet-4-6",
        "system": [doc, _text("b " * 3000, mark=True)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    ledger = _ledger_after(later)
    marked_earlier = {**later, "system": [{**doc, "cache_control": EPHEMERAL}, later["system"][1]]}
    prediction = predict_call(ledger, "claude-sonnet-4-6", render(marked_earlier), 1024, now=1.0)
    first, second = prediction.points
    assert (first.read_index, first.writes, first.cached) == (None, False, False)
    assert (second.read_index, second.cached) == (1, True)
    assert settle(prediction, cache_read=6000, cache_creation=0, ok=True, min_tokens=1024) == (
        False,
        True,
    )


def test_settle_trusts_the_usage_over_the_ledger() -> None:
    params = _conversation(0)
    ledger = _ledger_after(params)
    prediction = predict_call(ledger, "claude-sonnet-4-6", render(params), 1024, now=1.0)
    assert prediction.read_tokens > 0
    # Read as predicted: the breakpoint read its own entry.
    assert settle(prediction, cache_read=2004, cache_creation=0, ok=True, min_tokens=1024) == (
        True,
    )
    # The server had evicted it and wrote again: still cached (written).
    assert settle(prediction, cache_read=0, cache_creation=2004, ok=True, min_tokens=1024) == (
        True,
    )
    # A failed call, or one that cached nothing, caches nothing.
    assert settle(prediction, cache_read=2004, cache_creation=0, ok=False, min_tokens=1024) == (
        False,
    )
    assert settle(prediction, cache_read=0, cache_creation=0, ok=True, min_tokens=1024) == (False,)


# -- the advisor --------------------------------------------------------------------------------

LONG = "The harbour was quiet and the boats rocked gently in the evening tide. " * 200


def _ctx(
    *blocks: Block, marks: tuple[Breakpoint, ...], model: str = "claude-sonnet-4-6"
) -> Context:
    return Context(name="c", blocks=blocks, breakpoints=marks, model=model)


@pytest.mark.parametrize(("gap", "warned"), [(18, False), (19, False), (20, True), (21, True)])
def test_lookback_warning_at_twenty_positions(gap: int, warned: bool) -> None:
    turns = tuple(
        Block("example", f"turn {i}", role="user" if i % 2 == 0 else "assistant")
        for i in range(gap)
    )
    ctx = _ctx(Block("document", LONG, "a"), *turns, marks=(Breakpoint(0), Breakpoint(gap)))
    second = [w.code for w in breakpoint_warnings(ctx, CATALOG)[1]]
    assert ("lookback_exceeded" in second) is warned


@pytest.mark.parametrize(("tokens", "warned"), [(1023, True), (1024, False), (1025, False)])
def test_below_minimum_warning_at_the_minimum(tokens: int, warned: bool) -> None:
    ctx = _ctx(Block("system", "a " * tokens), marks=(Breakpoint(0),))
    codes = [w.code for w in breakpoint_warnings(ctx, CATALOG, today=DAY)[0]]
    assert ("below_minimum" in codes) is warned


DAY = date(2026, 12, 1)


def test_retired_model_warns_naming_the_replacement() -> None:
    ctx = _ctx(
        Block("document", LONG, "a"), marks=(Breakpoint(0),), model="claude-3-haiku-20240307"
    )
    [warning] = context_warnings(ctx, CATALOG, today=DAY)
    assert warning.code == "model_retired"
    assert "2026-04-20" in warning.message and "claude-haiku-4-5" in warning.message
    # Shown with the first breakpoint, so every surface that lists warnings shows it.
    first = breakpoint_warnings(ctx, CATALOG, today=DAY)[0]
    assert first[0].code == "model_retired"


@pytest.mark.parametrize(
    ("days_before", "code"),
    [(0, "model_retired"), (1, "model_retiring"), (90, "model_retiring"), (91, None)],
)
def test_retiring_soon_warns_within_the_window(days_before: int, code: str | None) -> None:
    ctx = _ctx(Block("document", LONG, "a"), marks=(Breakpoint(0),), model="claude-opus-4-5")
    today = date(2027, 1, 22) - timedelta(days=days_before)
    found = [w for w in context_warnings(ctx, CATALOG, today=today)]
    assert [w.code for w in found] == ([code] if code else [])
    if code == "model_retiring":
        assert "claude-opus-4-8" in found[0].message and "2027-01-22" in found[0].message


def _small_window(tmp_path: Path, window: int) -> Any:
    (tmp_path / "models.toml").write_text(
        f"[models.claude-sonnet-4-6]\ncontext_window = {window}\n"
    )
    return load_catalog(tmp_path)


@pytest.mark.parametrize(("delta", "warned"), [(-1, False), (0, False), (1, True)])
def test_context_too_long_at_the_window(tmp_path: Path, delta: int, warned: bool) -> None:
    from promptcache_tui.core.prefix import total_tokens
    from promptcache_tui.core.request import build_request

    ctx = _ctx(Block("document", LONG, "a"), marks=(Breakpoint(0),))
    tokens = total_tokens(build_request(ctx, prompt=None).blocks)
    catalog = _small_window(tmp_path, tokens - delta)
    codes = [w.code for w in context_warnings(ctx, catalog, today=DAY)]
    assert ("context_too_long" in codes) is warned


def test_claude_codes_billing_header_is_a_volatile_prefix() -> None:
    header = "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=cli; cch=1a2b3c;"
    assert "billing header" in (volatile_reason(header) or "")


def test_miss_reasons_follow_the_lookback() -> None:
    reason = infer_miss_reason(
        cache_read=0,
        cache_creation=2000,
        prefix_tokens=[2000],
        states_before=["cold"],
        min_tokens=1024,
        beyond_lookback=True,
    )
    assert reason is not None and reason.startswith("lookback exceeded")


@pytest.mark.parametrize(
    ("reason", "missed", "read", "creation", "kept"),
    [
        ("messages_changed", 0, 2000, 0, False),  # an ask whose question replaced the last one
        ("messages_changed", 900, 2000, 900, True),  # an edited conversation: it missed 900
        ("system_changed", 2000, 0, 2000, True),
        ("system_changed", 0, 0, 0, False),  # nothing was cached before either
        ("unavailable", None, 0, 2000, True),
        ("unavailable", None, 2000, 0, False),
        ("previous_message_not_found", None, 1500, 500, False),
        (None, None, 0, 2000, False),
    ],
)
def test_the_apis_diagnosis_is_kept_only_for_a_miss(
    reason: str | None, missed: int | None, read: int, creation: int, kept: bool
) -> None:
    got = api_miss_reason(reason, missed, cache_read=read, cache_creation=creation)
    assert got == (reason if kept else None)
