"""The request builder: breakpoints, limits, ordering and determinism."""

from __future__ import annotations

import json

import pytest

from promptcache_tui.core.context import Block, Breakpoint, Context, ContextError
from promptcache_tui.core.request import Turn, build_request, context_breakpoints

BOOK = "Once upon a time, in a small coastal village, there lived a girl named Aria. " * 200


def book_context(**changes: object) -> Context:
    ctx = Context(
        name="book",
        blocks=(
            Block(kind="system", text="You analyse story books."),
            Block(kind="document", text=BOOK, name="novel.txt"),
        ),
        breakpoints=(Breakpoint(block=1, ttl="1h"),),
    )
    return ctx.with_changes(**changes) if changes else ctx


def marked(params: dict) -> list[dict]:
    blocks = [*params.get("tools", []), *params.get("system", [])]
    for message in params["messages"]:
        blocks.extend(message["content"])
    return [b["cache_control"] for b in blocks if "cache_control" in b]


def test_seed_shape_system_then_user_question() -> None:
    built = build_request(book_context(), prompt="What was the story about?")
    params = built.params
    assert params["model"] == "claude-sonnet-4-6"
    assert params["system"][0] == {"type": "text", "text": "You analyse story books."}
    assert params["system"][1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "novel.txt" in params["system"][1]["text"]
    assert params["messages"][-1]["content"][-1]["text"] == "What was the story about?"
    assert len(built.breakpoints) == 1 and built.breakpoints[0].ttl == "1h"


def test_chat_adds_a_moving_5m_breakpoint_on_the_newest_turn() -> None:
    history = [Turn("user", "Who is Aria?"), Turn("assistant", "A girl.")]
    built = build_request(book_context(), history, "Where does she live?", cache_conversation=True)
    assert marked(built.params) == [
        {"type": "ephemeral", "ttl": "1h"},
        {"type": "ephemeral", "ttl": "5m"},
    ]
    assert built.params["messages"][-1]["content"][-1]["cache_control"]["ttl"] == "5m"
    assert built.breakpoints[-1].context_block is None
    assert built.breakpoints[0].context_block == 1


def test_ask_has_no_moving_breakpoint() -> None:
    built = build_request(book_context(), prompt="Q?", cache_conversation=False)
    assert len(marked(built.params)) == 1


def test_never_more_than_four_breakpoints() -> None:
    blocks = tuple(Block(kind="document", text=f"part {i} " * 50, name=f"p{i}") for i in range(4))
    ctx = Context(
        name="four",
        blocks=blocks,
        breakpoints=tuple(Breakpoint(block=i, ttl="5m") for i in range(4)),
    )
    built = build_request(
        ctx, [Turn("user", "a"), Turn("assistant", "b")], "c", cache_conversation=True
    )
    assert len(marked(built.params)) == 4  # the moving one is dropped, not a fifth


def test_five_breakpoints_are_refused_with_the_api_message() -> None:
    blocks = tuple(Block(kind="document", text=f"part {i}", name=f"p{i}") for i in range(5))
    ctx = Context(
        name="five", blocks=blocks, breakpoints=tuple(Breakpoint(block=i) for i in range(5))
    )
    with pytest.raises(ContextError, match="A maximum of 4 blocks with cache_control"):
        build_request(ctx, prompt="x")


def test_1h_after_5m_is_refused() -> None:
    ctx = Context(
        name="order",
        blocks=(Block("document", "a" * 10, "a"), Block("document", "b" * 10, "b")),
        breakpoints=(Breakpoint(0, "5m"), Breakpoint(1, "1h")),
    )
    with pytest.raises(ContextError, match="1h breakpoint must come before"):
        build_request(ctx, prompt="x")


def test_1h_before_5m_with_the_moving_breakpoint_is_fine() -> None:
    built = build_request(
        book_context(), [Turn("user", "a"), Turn("assistant", "b")], "c", cache_conversation=True
    )
    ttls = [c["ttl"] for c in marked(built.params)]
    assert ttls == sorted(ttls, key=lambda t: t != "1h")


def test_tools_render_first_with_the_breakpoint_on_the_last_tool() -> None:
    tools = json.dumps(
        [
            {"name": "a", "input_schema": {"type": "object"}},
            {"name": "b", "input_schema": {"type": "object"}},
        ]
    )
    ctx = Context(
        name="t",
        blocks=(Block("tools", tools), Block("system", "sys")),
        breakpoints=(Breakpoint(0, "1h"),),
    )
    params = build_request(ctx, prompt="x").params
    assert "cache_control" not in params["tools"][0]
    assert params["tools"][1]["cache_control"]["ttl"] == "1h"


def test_examples_become_messages_before_the_conversation() -> None:
    ctx = Context(
        name="ex",
        blocks=(
            Block("system", "sys"),
            Block("example", "Q: 2+2?", role="user"),
            Block("example", "4", role="assistant"),
        ),
        breakpoints=(Breakpoint(2, "5m"),),
    )
    params = build_request(ctx, prompt="3+3?").params
    assert [m["role"] for m in params["messages"]] == ["user", "assistant", "user"]
    assert params["messages"][1]["content"][0]["cache_control"]["ttl"] == "5m"


def test_same_input_same_bytes() -> None:
    one = build_request(book_context(), [Turn("user", "a"), Turn("assistant", "b")], "c")
    two = build_request(book_context(), [Turn("user", "a"), Turn("assistant", "b")], "c")
    assert one.body() == two.body()
    assert one.breakpoints == two.breakpoints


def test_context_prefix_hash_is_stable_across_turns_but_not_edits() -> None:
    first = context_breakpoints(book_context())[0].prefix_hash
    later = build_request(book_context(), [Turn("user", "x"), Turn("assistant", "y")], "z")
    assert later.breakpoints[0].prefix_hash == first
    edited = book_context(
        blocks=(Block("system", "You analyse story books!"), Block("document", BOOK, "novel.txt"))
    )
    assert context_breakpoints(edited)[0].prefix_hash != first


def test_cache_control_does_not_change_the_key() -> None:
    five = context_breakpoints(book_context(breakpoints=(Breakpoint(1, "5m"),)))[0]
    hour = context_breakpoints(book_context())[0]
    assert five.prefix_hash == hour.prefix_hash


def test_warm_request_is_prefill_only() -> None:
    built = build_request(book_context(), prompt=None)
    assert built.params["max_tokens"] == 0
    assert len(built.breakpoints) == 1


@pytest.mark.parametrize("text", ["5m", "1h"])
def test_as_ttl_takes_the_two_ttls(text: str) -> None:
    from promptcache_tui.core.context import as_ttl

    assert as_ttl(text) == text


@pytest.mark.parametrize("text", ["", "10m", "5M", "1h ", "60m"])
def test_as_ttl_refuses_anything_else(text: str) -> None:
    from promptcache_tui.core.context import as_ttl

    with pytest.raises(ContextError, match="use 5m or 1h"):
        as_ttl(text)
