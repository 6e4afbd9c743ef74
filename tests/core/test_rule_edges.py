"""The rule modules at their edges, found by mutation testing (benchmarks/mutation.py).

Each test pins a behaviour a small change to the code would alter and no other test
noticed: a one-token write still counts, a tie between TTLs, the exact words of every
advisor warning, a draft context the advisor renders on its own, the exact usage object.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

import pytest

from promptcache_tui.core.advisor import (
    api_miss_reason,
    breakpoint_warnings,
    context_warnings,
    day_of,
    infer_miss_reason,
)
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.cost import Prices, Usage, call_cost, prices_for
from promptcache_tui.core.prefix import canonical_json, render, total_tokens
from promptcache_tui.core.request import (
    WARM_PROMPT,
    Turn,
    block_tokens,
    build_request,
    filler_params,
    prefix_params,
)
from promptcache_tui.core.tokens import MESSAGE_OVERHEAD, estimate_block
from promptcache_tui.core.ttl import (
    CacheEvent,
    EntryState,
    SessionCache,
    SessionEvent,
    TTLLedger,
    breakpoint_cached,
    lookback_hashes,
    predict_call,
    settle,
)

CATALOG = load_catalog()
DAY = date(2026, 12, 1)
SONNET = "claude-sonnet-4-6"
LONG = "The harbour was quiet and the boats rocked gently in the evening tide. " * 200


def _ctx(*blocks: Block, marks: tuple[Breakpoint, ...], model: str = SONNET) -> Context:
    return Context("c", blocks, marks, model)


def _messages(ctx: Context, **options: object) -> dict[str, str]:
    """The first breakpoint's warnings by code."""
    found = breakpoint_warnings(ctx, CATALOG, today=DAY, **options)  # type: ignore[arg-type]
    return {w.code: w.message for w in found[0]}


# -- the ledger's countdown and states ------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining", "shown"),
    [(0.2, "0:01"), (59.0, "0:59"), (3599.0, "59:59"), (3600.0, "1:00:00"), (3661.0, "1:01:01")],
)
def test_countdowns_past_an_hour_show_hours(remaining: float, shown: str) -> None:
    assert EntryState("warm", 0.0, remaining, "1h").countdown() == shown


def test_only_a_warm_entry_counts_down() -> None:
    assert EntryState("expired", 10.0, 5.0, "5m").countdown() == "cold"
    assert EntryState("warm", 10.0, None, "5m").countdown() == "cold"


def test_an_expired_entry_keeps_its_end_and_ttl() -> None:
    ledger = TTLLedger(lambda: 0.0)
    ledger.record(CacheEvent(0.0, SONNET, "h", "1h"))
    assert ledger.state(SONNET, "h", 4000.0) == EntryState("expired", 3600.0, None, "1h")
    assert ledger.state(SONNET, "h") == EntryState("warm", 3600.0, 3600.0, "1h")  # its clock


def test_one_cached_token_is_cached() -> None:
    assert breakpoint_cached(2000, 1, 1024, True) is True
    assert breakpoint_cached(2000, 1, 1024, False) is False


def _doc_then_turns(turns: int, marks: tuple[int, ...]) -> dict[str, object]:
    blocks: list[dict[str, object]] = [{"type": "text", "text": "a " * 2000}]
    blocks += [{"type": "text", "text": f"w{i}"} for i in range(turns)]
    for index in marks:
        blocks[index]["cache_control"] = {"type": "ephemeral"}
    return {"model": SONNET, "messages": [{"role": "user", "content": blocks}]}


def test_a_cold_request_is_not_beyond_the_lookback() -> None:
    ledger = TTLLedger(lambda: 0.0)
    prediction = predict_call(ledger, SONNET, render(_doc_then_turns(3, (0, 3))), 1024)
    assert prediction.beyond_lookback is False
    assert [p.position for p in prediction.points] == [0, 1]


def test_beyond_the_lookback_only_when_nothing_was_read() -> None:
    ledger = TTLLedger(lambda: 5.0)
    first = predict_call(ledger, SONNET, render(_doc_then_turns(0, (0,))), 1024, now=0.0)
    ledger.record_all(first.events(0.0))
    # Block 0 is read by its own breakpoint; the one 25 blocks on finds nothing within its
    # window, though block 0 is live behind it: the request read something, so not "beyond".
    both = predict_call(ledger, SONNET, render(_doc_then_turns(25, (0, 25))), 1024)
    assert [p.read_index for p in both.points] == [0, None]
    assert both.beyond_lookback is False
    alone = predict_call(ledger, SONNET, render(_doc_then_turns(25, (25,))), 1024)
    assert alone.beyond_lookback is True
    # Every position looked at, the window and behind it, is loaded for the prediction.
    blocks = render(_doc_then_turns(25, (25,)))
    assert lookback_hashes(blocks) == [b.prefix_hash for b in blocks[:26]]
    assert lookback_hashes(blocks, "1h") == [b.prefix_hash for b in blocks]


def test_a_read_event_carries_the_breakpoints_ttl() -> None:
    ledger = TTLLedger(lambda: 0.0)
    params = _doc_then_turns(0, (0,))
    ledger.record_all(predict_call(ledger, SONNET, render(params), 1024).events(0.0))
    [event] = predict_call(ledger, SONNET, render(params), 1024, now=1.0).events(1.0)
    assert (event.ttl, event.ts) == ("5m", 1.0)


def test_settle_with_a_one_token_call_and_an_unpredicted_read() -> None:
    ledger = TTLLedger(lambda: 0.0)
    doc = {"type": "text", "text": "a " * 3000}
    later = {
        "model": SONNET,
        "system": [
            doc,
            {"type": "text", "text": "b " * 3000, "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [{"role": "user", "content": "Q"}],
    }
    ledger.record_all(predict_call(ledger, SONNET, render(later), 1024).events(0.0))
    both = {
        **later,
        "system": [{**doc, "cache_control": {"type": "ephemeral"}}, later["system"][1]],
    }
    prediction = predict_call(ledger, SONNET, render(both), 1024, now=1.0)
    assert [p.cached for p in prediction.points] == [False, True]
    # Read as predicted (even one token): the prediction stands.
    assert settle(prediction, cache_read=1, cache_creation=0, ok=True, min_tokens=1024) == (
        False,
        True,
    )
    # The API read nothing although a read was predicted: both were written.
    assert settle(prediction, cache_read=0, cache_creation=6000, ok=True, min_tokens=1024) == (
        True,
        True,
    )
    assert settle(prediction, cache_read=0, cache_creation=1, ok=True, min_tokens=None) == (
        True,
        True,
    )
    # Nothing predicted (all under a minimum), yet the API read: each at the real minimum.
    cold = predict_call(TTLLedger(lambda: 0.0), SONNET, render(both), 100_000)
    assert settle(cold, cache_read=3000, cache_creation=0, ok=True, min_tokens=1024) == (
        True,
        True,
    )


# -- a session's cache (imports) ------------------------------------------------------------


def test_a_sessions_cache_from_one_token_writes_and_reads() -> None:
    assert SessionCache().after(SessionEvent(10.0, 1, 0, 0)) == SessionCache("5m", 310.0)
    assert SessionCache().after(SessionEvent(10.0, 0, 1, 0)) == SessionCache("1h", 3610.0)
    assert SessionCache().after(SessionEvent(10.0, 5, 5, 0)).ttl == "1h"  # a tie: the longer
    assert SessionCache().after(SessionEvent(10.0, 0, 0, 1)) == SessionCache("5m", 310.0)
    idle = SessionCache("1h", 3610.0)
    assert idle.after(SessionEvent(20.0, 0, 0, 0)) is idle  # nothing cached: unchanged


def test_a_sessions_cache_states() -> None:
    cache = SessionCache("5m", 310.0)
    assert cache.state(300.0) == EntryState("warm", 310.0, 10.0, "5m")
    assert cache.state(320.0) == EntryState("expired", 310.0, None, "5m")


# -- costs ----------------------------------------------------------------------------------


def test_usage_from_counts_splits() -> None:
    assert Usage.from_counts() == Usage()
    only_5m = Usage.from_counts(ephemeral_5m=100)
    assert (only_5m.cache_creation_input_tokens, only_5m.cache_creation_1h_tokens) == (100, 0)
    only_1h = Usage.from_counts(ephemeral_1h=200)
    assert (only_1h.cache_creation_input_tokens, only_1h.cache_creation_5m_tokens) == (200, 0)
    both = Usage.from_counts(ephemeral_5m=100, ephemeral_1h=200)
    assert both.cache_creation_input_tokens == 300


def test_an_unknown_price_is_never_guessed() -> None:
    assert call_cost(Usage(input_tokens=10), Prices(3.0, None)).cost_usd is None
    assert call_cost(Usage(input_tokens=10), Prices(None, 15.0)).cost_usd is None
    batch = prices_for(CATALOG, "claude-nonexistent-9", service_tier="batch")
    assert (batch.input, batch.output) == (None, None)


def test_a_models_own_5m_write_price_is_used(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(f"[models.{SONNET}]\nwrite_5m = 6\n")
    assert prices_for(load_catalog(tmp_path), SONNET).write_5m == 2.0  # $6 on a $3 base


# -- requests -------------------------------------------------------------------------------


def test_history_turns_are_sent_as_text_blocks_in_order() -> None:
    ctx = _ctx(Block("system", "Be brief."), marks=(Breakpoint(0),))
    built = build_request(ctx, [Turn("user", "hi"), Turn("assistant", "hello")], "next?")
    assert built.params["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
        {"role": "user", "content": [{"type": "text", "text": "next?"}]},
    ]
    assert built.body() == canonical_json(built.params)
    [planned] = built.breakpoints
    assert (planned.block_index, planned.ttl, planned.context_block) == (0, "5m", 0)


def test_consecutive_examples_of_one_role_share_a_message() -> None:
    ctx = _ctx(
        Block("example", "one", role="user"),
        Block("example", "two", role="user"),
        Block("example", "three", role="assistant"),
        marks=(Breakpoint(2),),
    )
    built = build_request(ctx, prompt="Q")
    assert [(m["role"], len(m["content"])) for m in built.params["messages"]] == [
        ("user", 2),
        ("assistant", 1),
        ("user", 1),
    ]
    # A new message's framing is counted once: the second example joins the first's.
    assert block_tokens(ctx) == [
        estimate_block({"type": "text", "text": "one"}) + MESSAGE_OVERHEAD,
        estimate_block({"type": "text", "text": "two"}),
        estimate_block({"type": "text", "text": "three"}) + MESSAGE_OVERHEAD,
    ]
    assert sum(block_tokens(ctx)) == built.breakpoints[0].prefix_tokens


def test_prefix_params_cut_after_each_block_and_end_on_a_user_turn() -> None:
    params = {
        "model": SONNET,
        "tools": [{"name": "t1"}, {"name": "t2"}],
        "system": [{"type": "text", "text": "s1"}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "u1"}, {"type": "text", "text": "u2"}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "a1"}]},
            {"role": "user", "content": [{"type": "text", "text": "u3"}]},
        ],
    }
    filler = filler_params(SONNET)["messages"]
    assert filler_params(SONNET) == {"model": SONNET, "messages": filler}
    [turn] = filler
    assert turn["role"] == "user" and turn["content"][0]["type"] == "text"

    def cut(index: int) -> dict[str, object]:
        return prefix_params(params, index)

    assert cut(0) == {"model": SONNET, "tools": [{"name": "t1"}], "messages": filler}
    assert cut(1) == {"model": SONNET, "tools": params["tools"], "messages": filler}
    assert cut(2) == {
        "model": SONNET,
        "tools": params["tools"],
        "system": params["system"],
        "messages": filler,
    }
    u1 = {"role": "user", "content": [{"type": "text", "text": "u1"}]}
    assert cut(3)["messages"] == [u1]
    assert cut(4)["messages"] == [params["messages"][0]]
    # Ending on the assistant's turn: a user turn is added, as the API needs one.
    assert cut(5)["messages"] == [*params["messages"][:2], *filler]
    assert cut(6)["messages"] == params["messages"]
    assert cut(99)["messages"] == params["messages"]


# -- the advisor: the words of every warning ------------------------------------------------


def test_the_words_of_each_breakpoint_warning() -> None:
    ctx = _ctx(
        Block("system", "Today is 2026-12-01 10:00."),
        *(Block("system", f"part {i}") for i in range(4)),
        marks=tuple(Breakpoint(i, "1h" if i == 4 else "5m") for i in range(5)),
    )
    found = breakpoint_warnings(ctx, CATALOG, today=DAY)
    assert len(found) == 5
    fifth = {w.code: w.message for w in found[4]}
    assert fifth["too_many_breakpoints"] == (
        "breakpoint 5 of 5: the API accepts at most 4 (400 error)"
    )
    assert fifth["ttl_order"] == (
        "a 1h breakpoint after a 5m one: the API requires 1h entries first (400 error)"
    )
    assert fifth["volatile_prefix"] == (
        "block 1 (system) contains a timestamp: if it changes between calls, every call misses"
    )
    # The draft cannot be sent, yet each prefix is counted as it would render.
    prefixes = list(accumulate(block_tokens(ctx)))
    for position, warnings in enumerate(found):
        below = next(w.message for w in warnings if w.code == "below_minimum")
        assert below.startswith(f"prefix is about {prefixes[position]} tokens, ")
        assert f", {1024 - prefixes[position]} under {SONNET}'s minimum of 1024" in below
    assert "ttl_order" not in {w.code for w in found[3]}


def test_a_draft_with_examples_is_rendered_for_the_advisor() -> None:
    ctx = _ctx(
        Block("system", "a " * 300),
        Block("example", "b " * 300, role="user"),
        Block("example", "c " * 300, role="assistant"),
        marks=(Breakpoint(0), Breakpoint(1), Breakpoint(2), Breakpoint(2)),  # a duplicate: draft
    )
    prefixes = list(accumulate(block_tokens(ctx)))
    found = breakpoint_warnings(ctx, CATALOG, today=DAY)
    for position, block in enumerate((0, 1, 2)):
        below = next(w.message for w in found[position] if w.code == "below_minimum")
        assert below.startswith(f"prefix is about {prefixes[block]} tokens")


def test_counted_prefixes_and_another_model() -> None:
    ctx = _ctx(Block("system", "a " * 600), marks=(Breakpoint(0),))
    assert _messages(ctx, prefix_tokens=[700], estimated=False)["below_minimum"] == (
        f"prefix is 700 tokens, 324 under {SONNET}'s minimum of 1024: it will not be cached"
    )
    assert "below_minimum" not in _messages(ctx, model="claude-opus-5")  # its minimum is 512
    unknown = _messages(ctx, model="claude-unknown-1")
    assert unknown == {
        "unknown_model": (
            "claude-unknown-1 is not in the model catalog: its cache minimum and prices are unknown"
        )
    }


def test_the_words_of_the_context_warnings(tmp_path: Path) -> None:
    retired = _ctx(
        Block("document", LONG, "a"), marks=(Breakpoint(0),), model="claude-3-haiku-20240307"
    )
    [warning] = context_warnings(retired, CATALOG, today=DAY)
    assert warning.message == (
        "claude-3-haiku-20240307 was retired on 2026-04-20: the API answers 404 "
        "not_found_error; move to claude-haiku-4-5"
    )
    retiring = _ctx(Block("document", LONG, "a"), marks=(Breakpoint(0),), model="claude-opus-4-5")
    end = date(2027, 1, 22)
    [tomorrow] = context_warnings(retiring, CATALOG, today=end - timedelta(days=1))
    assert tomorrow.message == (
        "claude-opus-4-5 retires on 2027-01-22 (tomorrow); move to claude-opus-4-8"
    )
    [two] = context_warnings(retiring, CATALOG, today=end - timedelta(days=2))
    assert (
        two.message == "claude-opus-4-5 retires on 2027-01-22 (in 2 days); move to claude-opus-4-8"
    )
    # The model asked for, not the context's, and the first breakpoint lists them.
    first = breakpoint_warnings(retiring, CATALOG, model=SONNET, today=end - timedelta(days=1))[0]
    assert [w.code for w in first] == []
    (tmp_path / "models.toml").write_text(f"[models.{SONNET}]\ncontext_window = 100\n")
    ctx = _ctx(Block("document", LONG, "a"), marks=(Breakpoint(0),))
    tokens = total_tokens(build_request(ctx, prompt=None).blocks)
    [long] = context_warnings(ctx, load_catalog(tmp_path), today=DAY)
    assert long.message == (
        f"the context is about {tokens:,} tokens, "
        f"over {SONNET}'s context window of 100: the API refuses it (400 prompt is too long)"
    )


def test_the_day_of_an_epoch_is_its_utc_day() -> None:
    # 23:30 UTC: still that day in UTC, whatever the machine's zone.
    assert day_of(1796168600.0) == date(2026, 12, 1)


# -- miss reasons at their edges ------------------------------------------------------------


def test_miss_reasons_at_their_edges() -> None:
    base = {"cache_creation": 0, "prefix_tokens": [2000], "states_before": ["cold"]}
    assert infer_miss_reason(cache_read=1, min_tokens=1024, **base) is None  # type: ignore[arg-type]
    assert (
        infer_miss_reason(
            cache_read=0, min_tokens=1024, prefix_tokens=[], cache_creation=5, states_before=[]
        )
        is None
    )
    at = {"cache_read": 0, "cache_creation": 1024, "states_before": ["cold"]}
    assert infer_miss_reason(prefix_tokens=[1024], min_tokens=1024, **at) == "first write"  # type: ignore[arg-type]
    assert infer_miss_reason(prefix_tokens=[1023], min_tokens=1024, **at) == (  # type: ignore[arg-type]
        "under the minimum (1023 < 1024 tokens)"
    )
    assert (
        infer_miss_reason(prefix_tokens=[2000], min_tokens=1024, model="m", **at) == "first write"
    )  # type: ignore[arg-type]
    assert (
        infer_miss_reason(prefix_tokens=[2000], min_tokens=1024, previous_model="m", **at)
        == "first write"
    )  # type: ignore[arg-type]
    one = {"cache_read": 0, "prefix_tokens": [2000], "states_before": ["cold"], "min_tokens": 1024}
    assert infer_miss_reason(cache_creation=1, **one) == "first write"  # type: ignore[arg-type]
    assert infer_miss_reason(cache_creation=0, **one) is None  # type: ignore[arg-type]
    # Hashes of unequal length: compared as far as both go.
    assert (
        infer_miss_reason(
            cache_creation=5,
            previous_hashes=["a", "b"],
            hashes=["a"],
            **one,  # type: ignore[arg-type]
        )
        == "first write"
    )


def test_the_apis_reason_at_its_edges() -> None:
    assert api_miss_reason("unavailable", None, cache_read=1, cache_creation=0) is None
    assert api_miss_reason("unavailable", None, cache_read=1, cache_creation=5) is None
    assert api_miss_reason("unavailable", None, cache_read=0, cache_creation=0) == "unavailable"
    assert api_miss_reason("model_changed", 5, cache_read=0, cache_creation=0) == "model_changed"
    assert api_miss_reason("model_changed", 5, cache_read=1, cache_creation=1) == "model_changed"
    assert (
        api_miss_reason("previous_message_not_found", None, cache_read=1, cache_creation=1) is None
    )


# -- found by the second mutation run ---------------------------------------------------------


def test_lookback_hashes_cover_the_window_and_top_level_caching() -> None:
    blocks = render(_doc_then_turns(25, (0,)))
    assert lookback_hashes(blocks) == [blocks[0].prefix_hash]  # up to the breakpoint only
    # Top-level caching marks the last block too: everything up to it is looked at.
    assert lookback_hashes(blocks, "5m") == [b.prefix_hash for b in blocks]


def test_a_warm_request_sends_the_warm_prompt() -> None:
    ctx = _ctx(Block("system", "Be brief."), marks=(Breakpoint(0),))
    built = build_request(ctx)
    assert built.params["max_tokens"] == 0
    assert built.params["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": WARM_PROMPT}]}
    ]


def test_examples_of_one_role_are_sent_in_one_message() -> None:
    ctx = _ctx(
        Block("example", "one", role="user"),
        Block("example", "two", role="user"),
        marks=(Breakpoint(1),),
    )
    first = build_request(ctx, prompt="Q").params["messages"][0]
    assert [part["text"] for part in first["content"]] == ["one", "two", "Q"]


def test_the_day_is_the_utc_day_in_any_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: already the next day there
    time.tzset()
    try:
        assert day_of(1796168600.0) == date(2026, 12, 1)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_lifecycle_warnings_without_a_date_or_a_replacement(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(
        "[models.claude-gone-1]\nretired = true\n"
        '[models.claude-going-1]\nretires_on = "2026-12-02"\n'
    )
    catalog = load_catalog(tmp_path)
    gone = _ctx(Block("system", "x"), marks=(Breakpoint(0),), model="claude-gone-1")
    assert [w.message for w in context_warnings(gone, catalog, today=DAY)] == [
        "claude-gone-1 was retired: the API answers 404 not_found_error"
    ]
    going = _ctx(Block("system", "x"), marks=(Breakpoint(0),), model="claude-going-1")
    assert [w.message for w in context_warnings(going, catalog, today=DAY)] == [
        "claude-going-1 retires on 2026-12-02 (tomorrow)"
    ]


def test_breakpoint_warnings_use_the_day_they_are_given() -> None:
    retiring = _ctx(Block("document", LONG, "a"), marks=(Breakpoint(0),), model="claude-opus-4-5")
    first = breakpoint_warnings(retiring, CATALOG, today=date(2027, 1, 21))[0]
    assert first[0].message == (
        "claude-opus-4-5 retires on 2027-01-22 (tomorrow); move to claude-opus-4-8"
    )


def _spread(first: int, second: int) -> Context:
    docs = tuple(Block("document", f"doc {i} " + "a " * 300, f"{i}.txt") for i in range(first + 1))
    turns = tuple(
        Block("example", f"turn {i}", role=("user", "assistant")[i % 2])
        for i in range(second - first)
    )
    return _ctx(*docs, *turns, marks=(Breakpoint(first), Breakpoint(second)))


@pytest.mark.parametrize(("gap", "warned"), [(19, False), (20, True)])
def test_the_lookback_gap_counts_from_the_previous_breakpoint(gap: int, warned: bool) -> None:
    found = breakpoint_warnings(_spread(5, 5 + gap), CATALOG, today=DAY)
    codes = [[w.code for w in warnings] for warnings in found]
    assert "lookback_exceeded" not in codes[0]  # the first breakpoint has no previous one
    messages = {w.code: w.message for w in found[1]}
    assert ("lookback_exceeded" in messages) is warned
    if warned:
        assert messages["lookback_exceeded"] == (
            "20 blocks after the previous breakpoint: a lookup checks only 20 positions, its "
            "own included, so a change in between misses both"
        )


def test_a_first_breakpoint_far_into_the_prompt_has_no_lookback_warning() -> None:
    ctx = _spread(25, 26)
    assert "lookback_exceeded" not in [
        w.code for w in breakpoint_warnings(ctx, CATALOG, today=DAY)[0]
    ]


def test_fewer_counted_prefixes_than_breakpoints_fall_back_to_estimates() -> None:
    ctx = _ctx(
        Block("system", "a " * 600),
        Block("system", "b " * 100),
        marks=(Breakpoint(0), Breakpoint(1)),
    )
    found = breakpoint_warnings(ctx, CATALOG, prefix_tokens=[700], today=DAY)
    second = next(w.message for w in found[1] if w.code == "below_minimum")
    assert second.startswith(f"prefix is about {sum(block_tokens(ctx))} tokens")


def test_a_draft_is_measured_as_it_would_be_sent(tmp_path: Path) -> None:
    ctx = _ctx(
        Block("system", "a " * 300),
        Block("example", "b " * 300, role="user"),
        marks=(Breakpoint(0), Breakpoint(1), Breakpoint(1)),  # a duplicate: a draft
    )
    (tmp_path / "models.toml").write_text(f"[models.{SONNET}]\ncontext_window = 10\n")
    explicit = {
        "model": SONNET,
        "system": [{"type": "text", "text": "a " * 300, "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "b " * 300, "cache_control": {"type": "ephemeral"}}
                ],
            },
            {"role": "user", "content": "."},
        ],
    }
    tokens = total_tokens(render(explicit))
    [long] = context_warnings(ctx, load_catalog(tmp_path), today=DAY)
    assert long.message.startswith(f"the context is about {tokens:,} tokens, over")
    # The duplicate has no block of its own: its prefix counts as nothing.
    third = next(
        w.message
        for w in breakpoint_warnings(ctx, CATALOG, today=DAY)[2]
        if w.code == "below_minimum"
    )
    assert third.startswith("prefix is about 0 tokens, 1024 under")


def test_a_read_means_no_miss_reason_of_the_apps() -> None:
    assert (
        infer_miss_reason(
            cache_read=1,
            cache_creation=5,
            prefix_tokens=[2000],
            states_before=["cold"],
            min_tokens=1024,
        )
        is None
    )


def test_an_entry_of_an_unknown_ttl_lives_five_minutes() -> None:
    # A row logged by another version may carry a TTL this one does not know.
    ledger = TTLLedger(lambda: 0.0)
    ledger.record(CacheEvent(0.0, SONNET, "h", "2h"))
    assert ledger.state(SONNET, "h", 0.0).expires_at == 300.0
    ledger.record(CacheEvent(100.0, SONNET, "h", "5m"))  # a read refreshes at the entry's TTL
    assert ledger.state(SONNET, "h", 0.0).expires_at == 400.0
