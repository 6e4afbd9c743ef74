"""A client that resends earlier thinking: the proxy logs the prompt as the API caches it.

The SDK through the proxy to the simulator. A tool-use loop keeps its turn's thinking in
the prompt; the next user turn drops it (as the API does), so that turn reads the system
entry and misses the loop's entry at the tool result. The proxy's logged prefix tokens and
its explanation of that partial miss follow the simulator, not the bytes sent.
"""

from __future__ import annotations

from typing import Any

import anthropic

from promptcache_tui.observe.server import ProxyServer

from .conftest import SECRET, calls, query

MODEL = "claude-sonnet-4-6"  # takes adaptive thinking; caches from 1024 tokens
MARK = {"type": "ephemeral"}
MANUAL = "The forecast tool returns the weather for a city and a day. " * 120
TOOLS = [
    {
        "name": "forecast",
        "description": "The weather in a city on a day.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
THOUGHT = {
    "type": "thinking",
    "thinking": "The user wants the weather; call the forecast tool first. " * 40,
    "signature": "sig-from-the-api",
}
CALL = {"type": "tool_use", "id": "toolu_01", "name": "forecast", "input": {"city": "Oslo"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_01", "content": "Sunny, 21 C."}


KEEPER = "claude-opus-4-5"  # the catalog: keeps_thinking; extended thinking; caches from 4096
KEEPER_CALL = {
    "model": KEEPER,
    "max_tokens": 2048,
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "manual": MANUAL * 4,
}


def send(
    proxy: ProxyServer,
    messages: list[dict[str, Any]],
    *,
    model: str = MODEL,
    max_tokens: int = 256,
    thinking: dict[str, Any] | None = None,
    manual: str = MANUAL,
) -> dict[str, Any]:
    """One call through the proxy; its logged row."""
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url, max_retries=0)
    client.messages.create(
        model=model,
        max_tokens=max_tokens,
        system=[{"type": "text", "text": manual, "cache_control": MARK}],
        tools=TOOLS,  # type: ignore[arg-type]
        thinking=thinking or {"type": "adaptive"},  # type: ignore[arg-type]
        messages=messages,  # type: ignore[arg-type]
    )
    proxy.drain()
    return calls(proxy.data_dir)[-1]


def test_the_next_turn_after_a_tool_loop_is_explained_at_the_dropped_thinking(
    proxy: ProxyServer,
) -> None:
    question = {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}
    loop = [
        question,
        {"role": "assistant", "content": [THOUGHT, CALL]},
        {"role": "user", "content": [{**RESULT, "cache_control": MARK}]},
    ]
    first = send(proxy, loop)
    # The loop's thinking is part of its prefix: both entries written, the tool result's
    # prefix counted with the thinking in it, to the token.
    written = first["cache_creation_input_tokens"]
    assert first["cache_read_input_tokens"] == 0
    marks = query(
        proxy.data_dir,
        "SELECT position, prefix_tokens FROM call_breakpoints WHERE call_id = ? ORDER BY position",
        (first["id"],),
    )
    assert marks[-1]["prefix_tokens"] == written

    # The client resends everything, thinking included, and starts a new turn.
    turn = [
        question,
        {"role": "assistant", "content": [THOUGHT, CALL]},
        {"role": "user", "content": [RESULT]},
        {"role": "assistant", "content": [{"type": "text", "text": "Sunny, 21 C in Oslo."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks!", "cache_control": MARK}]},
    ]
    second = send(proxy, turn)
    system_tokens = marks[0]["prefix_tokens"]
    # The API drops the earlier thinking: only the system entry is read, the rest written.
    assert second["cache_read_input_tokens"] == system_tokens
    logged = query(
        proxy.data_dir,
        "SELECT prefix_tokens FROM call_breakpoints WHERE call_id = ? ORDER BY position",
        (second["id"],),
    )
    # The proxy's prefix is the one the simulator cached: no thinking tokens in it.
    total = second["cache_read_input_tokens"] + second["cache_creation_input_tokens"]
    assert logged[-1]["prefix_tokens"] == total
    # A partial miss, explained where the prompt the cache saw changed: the assistant
    # message whose thinking was dropped.
    (miss,) = query(proxy.data_dir, "SELECT * FROM call_misses WHERE call_id = ?", (second["id"],))
    assert miss["code"] == "content_changed"
    assert miss["block_label"].startswith("message 2 (assistant)")
    assert second["cache_miss_reason"].startswith("partly missed: message 2 (assistant)")


def test_a_model_that_keeps_earlier_thinking_reads_it_at_the_next_turn(
    proxy: ProxyServer,
) -> None:
    """Opus 4.5 and later keep earlier turns' thinking (the catalog's `keeps_thinking`): the
    next turn reads the tool loop's whole entry, and the proxy, predicting the same prefix,
    logs a hit with no miss to explain."""
    question = {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}
    loop = [
        question,
        {"role": "assistant", "content": [THOUGHT, CALL]},
        {"role": "user", "content": [{**RESULT, "cache_control": MARK}]},
    ]
    first = send(proxy, loop, **KEEPER_CALL)
    assert first["cache_creation_input_tokens"] > 4096
    turn = [
        question,
        {"role": "assistant", "content": [THOUGHT, CALL]},
        {"role": "user", "content": [RESULT]},
        {"role": "assistant", "content": [{"type": "text", "text": "Sunny, 21 C in Oslo."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks!", "cache_control": MARK}]},
    ]
    second = send(proxy, turn, **KEEPER_CALL)
    # The loop's entry, thinking and all, is read whole.
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    logged = query(
        proxy.data_dir,
        "SELECT prefix_tokens FROM call_breakpoints WHERE call_id = ? ORDER BY position",
        (second["id"],),
    )
    total = second["cache_read_input_tokens"] + second["cache_creation_input_tokens"]
    assert logged[-1]["prefix_tokens"] == total
    assert not query(proxy.data_dir, "SELECT * FROM call_misses WHERE call_id = ?", (second["id"],))
    assert not second["cache_miss_reason"]
