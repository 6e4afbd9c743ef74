"""The client's prefix leaves earlier turns' thinking out, as the API caches the prompt.

Thinking blocks of assistant turns before the user message that opened the current turn
do not count toward the prompt; the current turn's (a tool-use loop, whose user messages
hold only tool results) do. The boundary is that user message: tool results only continue
the turn, anything else (text, or text beside a tool result) opens a new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.core.catalog import CatalogError, load_catalog
from promptcache_tui.core.observed import observe_request
from promptcache_tui.core.prefix import prompt_as_cached, render

THOUGHT = {"type": "thinking", "thinking": "Check the forecast tool first.", "signature": "sig"}
REDACTED = {"type": "redacted_thinking", "data": "opaque"}
CALL = {"type": "tool_use", "id": "toolu_1", "name": "forecast", "input": {"city": "Oslo"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny, 21 C."}
MARK = {"type": "ephemeral"}


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": body}


def request(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "system": [{"type": "text", "text": "You forecast the weather.", "cache_control": MARK}],
        "thinking": {"type": "adaptive"},
        "messages": list(messages),
        **extra,
    }


def user(*content: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(content)}


def assistant(*content: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(content)}


def kinds(params: dict[str, Any]) -> list[list[str]]:
    """Each message's block types, as the cache sees the request (a string is one text)."""
    out = []
    for message in prompt_as_cached(params)["messages"]:
        content = message["content"]
        out.append(["text"] if isinstance(content, str) else [b["type"] for b in content])
    return out


def same_prefix(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The two requests render to the same blocks: hashes and token counts alike."""
    return [(x.prefix_hash, x.prefix_tokens) for x in render(a)] == [
        (y.prefix_hash, y.prefix_tokens) for y in render(b)
    ]


def test_a_tool_loop_keeps_its_own_turns_thinking() -> None:
    loop = request(user(text("Weather in Oslo?")), assistant(THOUGHT, CALL), user(RESULT))
    assert prompt_as_cached(loop) is loop  # nothing left out: the same object back
    assert kinds(loop) == [["text"], ["thinking", "tool_use"], ["tool_result"]]
    # Two rounds of tools are still one turn: both assistant messages keep their thinking.
    longer = request(*loop["messages"], assistant(THOUGHT, {**CALL, "id": "toolu_2"}), user(RESULT))
    assert kinds(longer)[1] == kinds(longer)[3] == ["thinking", "tool_use"]


def test_a_new_user_turn_drops_the_earlier_thinking() -> None:
    turn = request(
        user(text("Weather in Oslo?")),
        assistant(THOUGHT, CALL),
        user(RESULT),
        assistant(REDACTED, text("Sunny.")),
        user(text("And tomorrow?")),
    )
    assert kinds(turn) == [["text"], ["tool_use"], ["tool_result"], ["text"], ["text"]]
    # The prefix is exactly that of a client that never resent the thinking.
    resent_none = request(
        user(text("Weather in Oslo?")),
        assistant(CALL),
        user(RESULT),
        assistant(text("Sunny.")),
        user(text("And tomorrow?")),
    )
    assert same_prefix(turn, resent_none)
    # And it differs from the tool loop's from the first dropped block on: the loop's entry
    # at the tool result is not this request's prefix.
    loop = request(*turn["messages"][:3])
    loop_hashes = [b.prefix_hash for b in render(loop)]
    turn_hashes = [b.prefix_hash for b in render(turn)]
    assert loop_hashes[:2] == turn_hashes[:2]  # system and the first question
    assert loop_hashes[2] != turn_hashes[2]  # message 1: the thinking is gone


def test_text_beside_a_tool_result_opens_a_new_turn() -> None:
    """Just over the boundary: one text block beside the tool result."""
    mixed = request(
        user(text("Weather in Oslo?")),
        assistant(THOUGHT, CALL),
        user(RESULT, text("Also, pack an umbrella?")),
    )
    assert kinds(mixed)[1] == ["tool_use"]
    # A plain string is text too.
    plain = request(user(text("Hi")), assistant(THOUGHT, text("Hello.")), user(text("Hm")))
    plain["messages"][2] = {"role": "user", "content": "Weather?"}
    assert kinds(plain)[1] == ["text"]


def test_thinking_after_the_last_user_turn_is_kept() -> None:
    """The assistant's last message (a prefill after the opening user message) is in the
    current turn, and a `system` message after it opens no turn."""
    prefill = request(user(text("Weather?")), assistant(THOUGHT, text("Let me")))
    assert kinds(prefill)[1] == ["thinking", "text"]
    with_system = request(
        user(text("Weather?")),
        assistant(THOUGHT, CALL),
        user(RESULT),
        {"role": "system", "content": "Be brief."},
    )
    assert kinds(with_system)[1] == ["thinking", "tool_use"]


def test_thinking_is_kept_when_asked_or_when_the_model_keeps_it() -> None:
    turn = request(user(text("Hi")), assistant(THOUGHT, text("Hello.")), user(text("Weather?")))
    edits = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    kept = request(*turn["messages"], context_management=edits)
    assert prompt_as_cached(kept) is kept
    assert prompt_as_cached(turn, keeps_thinking=True) is turn
    assert len(render(kept)) == len(render(turn)) + 1  # the thinking block is rendered
    assert len(render(turn, keeps_thinking=True)) == len(render(turn)) + 1
    # Other edits (keep a number of turns) strip as usual.
    counted = {"edits": [{"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns"}}]}
    assert kinds(request(*turn["messages"], context_management=counted))[1] == ["text"]


def test_the_catalog_decides_which_models_keep_it(tmp_path: Path) -> None:
    catalog = load_catalog()
    assert not catalog.keeps_earlier_thinking("claude-sonnet-4-6")
    assert not catalog.keeps_earlier_thinking("claude-haiku-4-5-20251001")  # an alias
    assert catalog.keeps_earlier_thinking("claude-newer-than-the-catalog")
    # Opus 4.5 and later keep it (the catalog's `keeps_thinking`); the Opus before does not.
    assert not catalog.keeps_earlier_thinking("claude-opus-4-1")
    assert catalog.keeps_earlier_thinking("claude-opus-4-5")
    assert catalog.keeps_earlier_thinking("claude-opus-4-5-20251101")  # its alias
    assert catalog.keeps_earlier_thinking("claude-opus-4-8")
    # A user's models.toml can say it of a model, or take it back.
    (tmp_path / "models.toml").write_text(
        "[models.claude-sonnet-4-6]\nkeeps_thinking = true\n"
        "[models.claude-opus-4-5]\nkeeps_thinking = false\n"
    )
    mine = load_catalog(tmp_path)
    assert mine.keeps_earlier_thinking("claude-sonnet-4-6")
    assert not mine.keeps_earlier_thinking("claude-opus-4-5")
    (tmp_path / "models.toml").write_text('[models.claude-sonnet-4-6]\nkeeps_thinking = "yes"\n')
    with pytest.raises(CatalogError, match="keeps_thinking"):
        load_catalog(tmp_path)


def test_an_observed_request_is_the_prompt_the_cache_sees() -> None:
    turn = request(user(text("Hi")), assistant(THOUGHT, text("Hello.")), user(text("Weather?")))
    seen = observe_request(turn)
    labels = [(b.section, b.message_index, b.block_index) for b in seen.blocks]
    assert labels == [("system", None, 0), *[("messages", m, 0) for m in range(3)]]
    assert b"Check the forecast" not in b"".join(b.content for b in seen.blocks)
    kept = observe_request(turn, keeps_thinking=True)
    assert len(kept.blocks) == len(seen.blocks) + 1
