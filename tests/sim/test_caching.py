"""Caching rules, checked through the official SDK against a real loopback simulator."""

from __future__ import annotations

import copy
from typing import Any

import anthropic
import pytest

from .hooks import SimHooks
from .prompts import (
    EPHEMERAL,
    MODEL,
    ONE_HOUR,
    assistant,
    doc_request,
    filler,
    many_blocks,
    text,
    user,
)

QUESTION_TOKENS = 5 + 4  # "What is the quartz?" plus the per-message overhead
TAIL = 3 + QUESTION_TOKENS  # request overhead plus the question: never cached here


def usage_of(message: Any) -> tuple[int, int, int]:
    """(input, creation, read) of a response."""
    u = message.usage
    return u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens


def test_first_call_writes_and_second_reads(client: anthropic.Anthropic) -> None:
    first = client.messages.create(**doc_request(2000))
    assert usage_of(first) == (TAIL, 2000, 0)
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == 2000
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 0
    second = client.messages.create(**doc_request(2000))
    assert usage_of(second) == (TAIL, 0, 2000)


async def test_async_streaming_reports_the_same_usage(aclient: anthropic.AsyncAnthropic) -> None:
    async with aclient.messages.stream(**doc_request(2000)) as stream:
        first = await stream.get_final_message()
    assert usage_of(first) == (TAIL, 2000, 0)
    async with aclient.messages.stream(**doc_request(2000)) as stream:
        second = await stream.get_final_message()
    assert usage_of(second) == (TAIL, 0, 2000)


def test_count_tokens_agrees_with_usage_totals(client: anthropic.Anthropic) -> None:
    requests = [
        doc_request(2000),
        doc_request(1000),  # under the minimum: nothing cached
        {
            **doc_request(1500),
            "tools": [
                {
                    "name": "look",
                    "description": filler(300),
                    "input_schema": {"type": "object"},
                    "cache_control": ONE_HOUR,
                }
            ],
        },
        {**doc_request(1200, cache=None), "cache_control": EPHEMERAL},
    ]
    for request in requests:
        counted = client.messages.count_tokens(
            **{k: v for k, v in request.items() if k != "max_tokens"}
        ).input_tokens
        for _ in range(2):  # cold, then warm
            got = usage_of(client.messages.create(**request))
            assert sum(got) == counted


def test_key_covers_tools_then_system_then_messages(client: anthropic.Anthropic) -> None:
    tool = {
        "name": "search",
        "description": filler(1200),
        "input_schema": {"type": "object"},
        "cache_control": EPHEMERAL,
    }
    request = {
        "model": MODEL,
        "max_tokens": 16,
        "tools": [tool],
        "system": [text(filler(1000, seed=1), EPHEMERAL)],
        "messages": [user("What is the quartz?")],
    }
    first = client.messages.create(**request)
    tool_tokens = first.usage.cache_creation_input_tokens - 1000
    assert tool_tokens > 1200  # the description plus the rest of the definition
    # A new system prompt keeps the tools' entry: tools come first in the prompt.
    changed_system = {**request, "system": [text(filler(1000, seed=2), EPHEMERAL)]}
    assert usage_of(client.messages.create(**changed_system)) == (TAIL, 1000, tool_tokens)
    # A changed tool changes every later prefix: nothing is read.
    changed_tool = {**request, "tools": [{**tool, "description": filler(1200, seed=5)}]}
    assert client.messages.create(**changed_tool).usage.cache_read_input_tokens == 0


def test_cache_control_is_not_part_of_the_key(client: anthropic.Anthropic) -> None:
    client.messages.create(**doc_request(2000))
    # Same bytes, with an explicit ttl and an extra breakpoint on the question.
    request = doc_request(2000, cache={"type": "ephemeral", "ttl": "5m"})
    request["messages"] = [user(text("What is the quartz?", EPHEMERAL))]
    got = client.messages.create(**request)
    assert got.usage.cache_read_input_tokens == 2000
    assert got.usage.cache_creation_input_tokens == QUESTION_TOKENS


def test_the_model_is_part_of_the_key(client: anthropic.Anthropic) -> None:
    # Models without a retirement date, so the test holds on any day.
    client.messages.create(**doc_request(5000, model="claude-haiku-4-5"))
    # An alias names the same model: same entry.
    alias = client.messages.create(**doc_request(5000, model="claude-haiku-4-5-20251001"))
    assert alias.usage.cache_read_input_tokens == 5000
    assert alias.model == "claude-haiku-4-5-20251001"
    other = client.messages.create(**doc_request(5000, model="claude-opus-4-8"))
    assert usage_of(other) == (TAIL, 5000, 0)


def test_a_new_version_is_another_model_even_at_the_same_price(
    client: anthropic.Anthropic,
) -> None:
    client.messages.create(**doc_request(2000, model="claude-fable-5"))
    newer = client.messages.create(**doc_request(2000, model="claude-fable-5-1"))
    assert usage_of(newer) == (TAIL, 2000, 0)  # Fable 5.1 does not read Fable 5's entry
    again = client.messages.create(**doc_request(2000, model="claude-fable-5"))
    assert usage_of(again) == (TAIL, 0, 2000)


def test_five_breakpoints_are_refused(client: anthropic.Anthropic) -> None:
    request = doc_request(100)
    request["system"] = [text(filler(100, seed=i), EPHEMERAL) for i in range(5)]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**request)
    assert caught.value.status_code == 400
    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )


def test_one_hour_after_five_minutes_is_refused(client: anthropic.Anthropic) -> None:
    request = doc_request(100)
    request["system"] = [text(filler(1000), EPHEMERAL), text(filler(1000, seed=1), ONE_HOUR)]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**request)
    assert "must not come after a ttl='5m' cache_control block" in str(caught.value.api_message)
    assert str(caught.value.api_message).startswith("system.1.cache_control.ttl:")


def test_one_hour_before_five_minutes_bills_each_segment_at_its_ttl(
    client: anthropic.Anthropic,
) -> None:
    request = doc_request(100)
    request["system"] = [text(filler(2000), ONE_HOUR), text(filler(1000, seed=1), EPHEMERAL)]
    first = client.messages.create(**request)
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 2000
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == 1000
    assert usage_of(client.messages.create(**request)) == (TAIL, 0, 3000)


def test_empty_text_block_cannot_carry_cache_control(client: anthropic.Anthropic) -> None:
    request = doc_request(2000)
    request["messages"] = [user(text("", EPHEMERAL), "What is the quartz?")]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**request)
    assert caught.value.api_message == "cache_control cannot be set for empty text blocks"


@pytest.mark.parametrize(
    ("model", "tokens", "cached"),
    [
        ("claude-sonnet-4-6", 1000, False),  # minimum 1024
        ("claude-sonnet-4-6", 1030, True),
        ("claude-haiku-4-5", 3000, False),  # minimum 4096
        ("claude-opus-5", 600, True),  # minimum 512
        ("claude-brand-new-model", 1000, False),  # unknown claude-* model: 1024
    ],
)
def test_minimum_cacheable_prefix_comes_from_the_catalog(
    client: anthropic.Anthropic, model: str, tokens: int, cached: bool
) -> None:
    request = doc_request(tokens, model=model)
    first = client.messages.create(**request)
    second = client.messages.create(**request)
    if cached:
        assert usage_of(first) == (TAIL, tokens, 0)
        assert usage_of(second) == (TAIL, 0, tokens)
    else:  # no error, just no caching
        assert usage_of(first) == usage_of(second) == (TAIL + tokens, 0, 0)


def _growing(extra_blocks: int) -> dict[str, Any]:
    """A document with a breakpoint, then `extra_blocks` blocks, the last one marked."""
    blocks = [text(filler(2000)), *many_blocks(extra_blocks, 10)]
    blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
    return {"model": MODEL, "max_tokens": 8, "messages": [user(*blocks)]}


# 20 positions, the breakpoint's own included: an entry 19 blocks back is found, 20 is not.
@pytest.mark.parametrize(("extra", "hit"), [(18, True), (19, True), (20, False), (21, False)])
def test_lookback_reaches_twenty_positions_back(
    client: anthropic.Anthropic, extra: int, hit: bool
) -> None:
    first = client.messages.create(**_growing(0))
    written = first.usage.cache_creation_input_tokens
    assert written == 2000 + 4
    later = client.messages.create(**_growing(extra))
    assert later.usage.cache_read_input_tokens == (written if hit else 0)
    assert later.usage.cache_creation_input_tokens == (10 * extra if hit else written + 10 * extra)


def test_a_conversation_reads_the_longest_prefix_and_pays_for_the_tail(
    client: anthropic.Anthropic,
) -> None:
    system = [text(filler(2000), EPHEMERAL)]
    turn1 = [user(text(filler(500, seed=3), EPHEMERAL))]
    first = client.messages.create(model=MODEL, max_tokens=8, system=system, messages=turn1)
    assert usage_of(first) == (3, 2504, 0)
    turn2 = [
        user(filler(500, seed=3)),
        assistant("Noted."),
        user(text("What is the quartz?", EPHEMERAL)),
    ]
    second = client.messages.create(model=MODEL, max_tokens=8, system=system, messages=turn2)
    # Reads system + first turn; writes the assistant turn and the question; tail: overhead.
    assert usage_of(second) == (3, (2 + 4) + QUESTION_TOKENS, 2504)


def test_entries_expire_after_five_minutes(client: anthropic.Anthropic, hooks: SimHooks) -> None:
    client.messages.create(**doc_request(2000))
    hooks.advance(299)
    assert client.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 2000
    hooks.advance(301)
    late = client.messages.create(**doc_request(2000))
    assert usage_of(late) == (TAIL, 2000, 0)


def test_a_read_refreshes_the_entry(client: anthropic.Anthropic, hooks: SimHooks) -> None:
    client.messages.create(**doc_request(2000))
    for _ in range(3):  # 3 x 200 s: far past 300 s after the write, never 300 s unread
        hooks.advance(200)
        assert client.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 2000


def test_one_hour_entries_live_an_hour(client: anthropic.Anthropic, hooks: SimHooks) -> None:
    request = doc_request(2000, cache=ONE_HOUR)
    first = client.messages.create(**request)
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 2000
    hooks.advance(3599)
    assert client.messages.create(**request).usage.cache_read_input_tokens == 2000
    hooks.advance(3601)
    assert client.messages.create(**request).usage.cache_read_input_tokens == 0


def test_state_hook_counts_live_entries(client: anthropic.Anthropic, hooks: SimHooks) -> None:
    before = hooks.state()
    assert before["live_entries"] == 0
    client.messages.create(**doc_request(2000))
    assert hooks.state()["live_entries"] == 1
    after = hooks.advance(301)
    assert after["clock"] >= before["clock"] + 301
    assert hooks.state()["live_entries"] == 0


def test_automatic_caching_follows_the_conversation(client: anthropic.Anthropic) -> None:
    system = [text(filler(2000))]
    first = client.messages.create(
        model=MODEL,
        max_tokens=8,
        system=system,
        cache_control=EPHEMERAL,
        messages=[user(filler(100, seed=4))],
    )
    assert usage_of(first) == (3, 2104, 0)
    second = client.messages.create(
        model=MODEL,
        max_tokens=8,
        system=system,
        cache_control=EPHEMERAL,
        messages=[user(filler(100, seed=4)), assistant("Noted."), user("What is the quartz?")],
    )
    assert usage_of(second) == (3, 6 + QUESTION_TOKENS, 2104)


def test_automatic_caching_needs_a_free_slot(client: anthropic.Anthropic) -> None:
    request = doc_request(100)
    request["system"] = [text(filler(100, seed=i), EPHEMERAL) for i in range(4)]
    request["cache_control"] = EPHEMERAL
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**request)
    assert caught.value.api_message == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )
    # With the last block already marked alike, the top-level marker takes no extra slot.
    request["messages"] = [user(text("What is the quartz?", EPHEMERAL))]
    request["system"] = request["system"][:3]
    client.messages.create(**request)


def test_automatic_caching_refuses_a_different_ttl_on_the_last_block(
    client: anthropic.Anthropic,
) -> None:
    request = doc_request(2000, cache=None)
    request["messages"] = [user(text("What is the quartz?", ONE_HOUR))]
    request["cache_control"] = EPHEMERAL
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**request)
    assert caught.value.api_message == (
        "Top-level cache_control has ttl='5m' but the target block already has "
        "cache_control with ttl='1h'"
    )


def test_prefill_only_request_warms_the_cache(client: anthropic.Anthropic) -> None:
    warm = client.messages.create(**doc_request(2000, max_tokens=0))
    assert warm.content == []
    assert warm.stop_reason == "max_tokens"
    assert warm.usage.output_tokens == 0
    assert usage_of(warm) == (TAIL, 2000, 0)
    assert client.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 2000


def test_prefill_only_refuses_streaming(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**doc_request(2000, max_tokens=0), stream=True)
    assert "max_tokens: 0" in str(caught.value.api_message)
    # Nothing was written by the refused request.
    assert client.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 0


# -- diagnostics ---------------------------------------------------------------------


def _reason(message: Any) -> dict[str, Any] | None:
    if message.diagnostics is None or message.diagnostics.cache_miss_reason is None:
        return None
    return message.diagnostics.cache_miss_reason.model_dump()


def test_diagnostics_are_null_without_divergence(client: anthropic.Anthropic) -> None:
    first = client.messages.create(**doc_request(2000), diagnostics={"previous_message_id": None})
    assert first.diagnostics is None
    follow = doc_request(2000)
    follow["messages"] = [user("What is the quartz?"), assistant("A stone."), user("And onyx?")]
    second = client.messages.create(**follow, diagnostics={"previous_message_id": first.id})
    assert second.diagnostics is None
    assert second.usage.cache_read_input_tokens == 2000


def test_diagnostics_report_an_unknown_previous_message(client: anthropic.Anthropic) -> None:
    got = client.messages.create(
        **doc_request(2000), diagnostics={"previous_message_id": "msg_0123456789abcdef"}
    )
    assert _reason(got) == {"type": "previous_message_not_found"}


@pytest.mark.parametrize("change", ["model", "system", "tools", "messages"])
def test_diagnostics_name_what_changed(client: anthropic.Anthropic, change: str) -> None:
    tool = {"name": "look", "description": "Look things up.", "input_schema": {"type": "object"}}
    base = doc_request(2000)
    base["tools"] = [tool]
    base["messages"] = [
        user(text(filler(1000, seed=2), EPHEMERAL)),
        assistant("Yes."),
        user("What is the quartz?"),
    ]
    first = client.messages.create(**base, diagnostics={"previous_message_id": None})
    assert first.usage.cache_creation_input_tokens > 3000
    changed = copy.deepcopy(base)
    if change == "model":
        changed["model"] = "claude-opus-4-8"
    elif change == "system":
        changed["system"] = [text(filler(2000, seed=9), EPHEMERAL)]
    elif change == "tools":
        changed["tools"] = [{**tool, "description": "Look other things up."}]
    else:
        changed["messages"][0] = user(text(filler(1000, seed=8), EPHEMERAL))
    second = client.messages.create(**changed, diagnostics={"previous_message_id": first.id})
    missed = first.usage.cache_creation_input_tokens - second.usage.cache_read_input_tokens
    assert _reason(second) == {"type": f"{change}_changed", "cache_missed_input_tokens": missed}
    if change == "messages":  # the system prompt was still read
        assert second.usage.cache_read_input_tokens > 0


def test_diagnostics_unavailable_when_only_tool_choice_differs(client: anthropic.Anthropic) -> None:
    tool = {"name": "look", "description": "Look things up.", "input_schema": {"type": "object"}}
    request = doc_request(2000)
    request["messages"] = [
        user(text(filler(1000, seed=2), EPHEMERAL)),
        assistant("Yes."),
        user("What is the quartz?"),
    ]
    first = client.messages.create(
        **request, tools=[tool], diagnostics={"previous_message_id": None}
    )
    second = client.messages.create(
        **request,
        tools=[tool],
        tool_choice={"type": "any"},
        diagnostics={"previous_message_id": first.id},
    )
    assert _reason(second) == {"type": "unavailable"}
    # tool_choice keys the messages tier only: tools and system are still read.
    assert 2000 < second.usage.cache_read_input_tokens < first.usage.cache_creation_input_tokens


def test_diagnostics_compare_structure_even_when_the_call_hit(
    client: anthropic.Anthropic,
) -> None:
    first = client.messages.create(**doc_request(2000), diagnostics={"previous_message_id": None})
    second = client.messages.create(
        **doc_request(2000, question="And the onyx?"), diagnostics={"previous_message_id": first.id}
    )
    assert second.usage.cache_read_input_tokens == 2000  # the document was read...
    # ...but the question replaced the earlier one rather than being appended.
    assert _reason(second) == {"type": "messages_changed", "cache_missed_input_tokens": 0}


def test_diagnostics_are_null_when_the_entry_merely_expired(
    client: anthropic.Anthropic, hooks: SimHooks
) -> None:
    first = client.messages.create(**doc_request(2000), diagnostics={"previous_message_id": None})
    hooks.advance(301)
    second = client.messages.create(
        **doc_request(2000), diagnostics={"previous_message_id": first.id}
    )
    assert second.usage.cache_read_input_tokens == 0
    assert second.diagnostics is None  # the prompt did not diverge
