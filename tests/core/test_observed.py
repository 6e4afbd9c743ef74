"""Observed requests: rendered like ours, grouped, named, and saved as contexts."""

from __future__ import annotations

import json

import pytest

from promptcache_tui.core.context import check_context
from promptcache_tui.core.observed import (
    SaveError,
    StoredBlock,
    context_from_prefix,
    group_key,
    group_name,
    observe_request,
)
from promptcache_tui.core.prefix import render
from promptcache_tui.core.request import Turn, build_request
from tests.observe.shapes import claude_code_request

from .test_request import book_context


def test_hashes_and_breakpoints_match_our_own_requests() -> None:
    # The ledger keys on these hashes: an observed copy of one of our requests must land on
    # the same entries as the original.
    built = build_request(
        book_context(),
        [Turn("user", "Who is Aria?"), Turn("assistant", "A girl.")],
        "Who owns the umbrella?",
        cache_conversation=True,
    )
    seen = observe_request(built.params)
    assert [b.prefix_hash for b in seen.blocks] == [b.prefix_hash for b in built.blocks]
    assert [(m.prefix_hash, m.ttl) for m in seen.breakpoints] == [
        (bp.prefix_hash, bp.ttl) for bp in built.breakpoints
    ]


def test_strings_and_lists_render_alike_and_content_is_addressed() -> None:
    as_string = {
        "model": "claude-sonnet-4-6",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}],
    }
    as_list = {
        "model": "claude-sonnet-4-6",
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }
    a, b = observe_request(as_string), observe_request(as_list)
    assert [x.prefix_hash for x in a.blocks] == [x.prefix_hash for x in render(as_list)]
    assert [x.content_hash for x in a.blocks] == [x.content_hash for x in b.blocks]
    assert json.loads(a.blocks[0].content) == {"type": "text", "text": "Be brief."}


def test_cache_control_is_not_content() -> None:
    plain = claude_code_request()
    marked = claude_code_request(ttl="1h")
    a, b = observe_request(plain), observe_request(marked)
    assert [x.content_hash for x in a.blocks] == [x.content_hash for x in b.blocks]
    assert [m.ttl for m in b.breakpoints] == ["1h", "1h", "1h"]
    assert [m.ttl for m in a.breakpoints] == ["5m", "5m", "5m"]


def test_top_level_cache_control_marks_the_last_cacheable_block() -> None:
    params = {
        "model": "claude-sonnet-4-6",
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
        "system": [{"type": "text", "text": "Rules."}],
        "messages": [{"role": "user", "content": "Question"}],
    }
    seen = observe_request(params)
    assert [(m.block, m.ttl) for m in seen.breakpoints] == [(1, "1h")]


def test_a_token_memo_gives_the_same_counts() -> None:
    params = claude_code_request()
    memo: dict[str, int] = {}
    first = observe_request(params, token_memo=memo)
    again = observe_request(params, token_memo=memo)
    plain = observe_request(params)
    assert [b.prefix_tokens for b in first.blocks] == [b.prefix_tokens for b in plain.blocks]
    assert [b.prefix_tokens for b in again.blocks] == [b.prefix_tokens for b in plain.blocks]
    assert len(memo) == len({b.content_hash for b in plain.blocks})


def test_groups_follow_client_model_and_the_tools_and_system_prefix() -> None:
    one = observe_request(claude_code_request(turns=1))
    later = observe_request(claude_code_request(turns=5))
    other_session = observe_request(claude_code_request(suffix="363"))
    key = group_key("claude-cli/2.1.197", one.model, one.head_hash)
    assert key == group_key("claude-cli/2.1.197", later.model, later.head_hash)
    assert key != group_key("claude-cli/2.1.197", one.model, other_session.head_hash)
    assert key != group_key("my-script/1.0", one.model, one.head_hash)
    assert key != group_key("claude-cli/2.1.197", "claude-haiku-4-5", one.head_hash)


def test_group_names_skip_the_billing_header_and_preambles() -> None:
    name = group_name("claude-cli/2.1.197", observe_request(claude_code_request()))
    assert name == "claude-cli/2.1.197 · You are an interactive agent that… (24 tools)"
    bare = observe_request(
        {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Sort these"}]}
    )
    assert group_name(None, bare) == "unknown · Sort these"


def _stored(params: dict) -> list[StoredBlock]:
    seen = observe_request(params)
    return [
        StoredBlock(
            index=b.index,
            section=b.section,
            message_index=b.message_index,
            block_index=b.block_index,
            role=b.role,
            content=b.content,
            ttl=b.ttl,
        )
        for b in seen.blocks
    ]


def test_a_prefix_saved_as_a_context_keeps_tools_system_turns_and_breakpoints() -> None:
    params = claude_code_request(turns=3, ttl="1h")
    blocks = _stored(params)
    seen = observe_request(params)
    ctx = context_from_prefix("observed", "claude-opus-4-8", blocks, seen.breakpoints[-1].block)
    assert check_context(ctx) == []
    kinds = [b.kind for b in ctx.blocks]
    assert kinds[0] == "tools" and kinds[1:4] == ["system"] * 3
    assert kinds[4:] == ["example"] * 5
    assert len(json.loads(ctx.blocks[0].text)) == 24
    assert ctx.blocks[1].text.startswith("x-anthropic-billing-header:")
    assert [b.role for b in ctx.blocks[4:]] == ["user", "assistant", "user", "assistant", "user"]
    assert [(bp.block, bp.ttl) for bp in ctx.breakpoints] == [(2, "1h"), (3, "1h"), (8, "1h")]
    # Up to the second system breakpoint only: no conversation.
    short = context_from_prefix("short", "claude-opus-4-8", blocks, seen.breakpoints[1].block)
    assert [b.kind for b in short.blocks] == ["tools", "system", "system", "system"]


def test_without_content_there_is_nothing_to_save() -> None:
    blocks = [
        StoredBlock(
            index=0, section="system", message_index=None, block_index=0, role=None, content=None
        )
    ]
    with pytest.raises(SaveError, match="--no-content"):
        context_from_prefix("x", "claude-sonnet-4-6", blocks, 0)
