"""Render a Messages API request into its cacheable blocks, with chained prefix hashes.

The client's model of the prompt (the ledger and the advisor use it; the simulator has its
own, `sim/positions.py`). The prompt is rendered tools -> system -> messages. The cache key
of a breakpoint is the model plus the exact bytes of every block up to and including it,
with `cache_control` left out. Hashes are chained (one SHA-256 step per block), so the hash
of every prefix of a 1 MB prompt costs one pass over its bytes, not one per breakpoint.

Settings that invalidate a whole tier (the prompt-caching page's invalidation table) are
folded into the chain where their tier starts, so everything before keeps its hash:
fast mode (`speed`), web search and citations key the system tier (and so the messages);
`tool_choice`, `thinking`, `output_config.effort` and the number of images key the
messages tier. Web search tools are rendered after the other tools (toggling web search
keeps the tools' cache). A request with none of these hashes exactly as before they were
modelled, so the ledger's history keeps its keys. A `{"role": "system"}` message inside
`messages` is a message like any other, its role part of its key.

Earlier thinking leaves the prompt before it is cached (`prompt_as_cached`): the thinking
blocks of assistant turns before the current user turn are stripped, the current turn's
(a tool-use loop) kept, unless the model keeps them or `context_management` asks to keep
them all. Written from the documentation, apart from the simulator's own
(`sim/request.without_earlier_thinking`): tests/sim/test_two_models.py checks they agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptcache_tui.core.tokens import MESSAGE_OVERHEAD, REQUEST_OVERHEAD, estimate_block

_SEED = hashlib.sha256(b"promptcache-prefix-v1").digest()
CACHEABLE_MESSAGE_TYPES = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "search_result"}
)
THINKING_BLOCK_TYPES = frozenset({"thinking", "redacted_thinking"})


@dataclass(frozen=True, slots=True)
class RenderedBlock:
    """One block of the rendered prompt."""

    index: int  # position in the rendered prompt, 0-based
    section: str  # "tools" | "system" | "messages"
    message_index: int | None  # index into `messages`, None for tools and system
    block_index: int  # index of the block inside its section entry
    tokens: int  # estimated tokens of this block (framing included)
    prefix_tokens: int  # estimated tokens from the start up to and including this block
    prefix_hash: str  # hex digest of the chain up to and including this block
    cache_control: Mapping[str, Any] | None
    cacheable: bool  # may carry cache_control
    empty_text: bool  # a text block with no text (cache_control forbidden)


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _strip(block: Any) -> Any:
    if isinstance(block, Mapping):
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _as_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, Sequence):
        return list(content)
    return []


def _web_search(tool: Any) -> bool:
    return isinstance(tool, Mapping) and str(tool.get("type", "")).startswith("web_search")


def _mappings(value: Any) -> Any:
    """Every mapping nested in `value` (tool results and documents hold blocks too)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def system_tier(params: Mapping[str, Any]) -> dict[str, Any]:
    """Settings that key the system and messages caches; empty when all are defaults."""
    tier: dict[str, Any] = {}
    if params.get("speed") not in (None, "standard"):
        tier["speed"] = params["speed"]
    if any(_web_search(t) for t in params.get("tools") or []):
        tier["web_search"] = True
    for found in _mappings([params.get("system"), params.get("messages")]):
        citations = found.get("citations")
        if isinstance(citations, Mapping) and citations.get("enabled") is True:
            tier["citations"] = True
            break
    return tier


def messages_tier(params: Mapping[str, Any]) -> dict[str, Any]:
    """Settings that key the messages cache; empty when all are defaults."""
    tier: dict[str, Any] = {}
    choice = params.get("tool_choice")
    if choice is not None and choice != {"type": "auto"}:
        tier["tool_choice"] = choice
    thinking = params.get("thinking")
    if thinking is not None and not (
        isinstance(thinking, Mapping) and thinking.get("type") == "disabled"
    ):
        tier["thinking"] = thinking
    config = params.get("output_config")
    if isinstance(config, Mapping) and config.get("effort") is not None:
        tier["effort"] = config["effort"]
    images = sum(1 for m in _mappings(params.get("messages")) if m.get("type") == "image")
    if images:
        tier["images"] = images
    return tier


def _opens_turn(message: Any) -> bool:
    """A user message that starts a new turn: anything in it but tool results (a message
    of tool results only continues the assistant's turn, a tool-use loop)."""
    if not isinstance(message, Mapping) or message.get("role") != "user":
        return False
    content = message.get("content")
    if isinstance(content, str):
        return True
    if not isinstance(content, list | tuple):
        return False
    return not all(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content)


def keeps_all_thinking(params: Mapping[str, Any]) -> bool:
    """Context editing keeps every thinking block: a `clear_thinking` edit with
    `keep: "all"` (as Claude Code sends), so nothing is stripped."""
    management = params.get("context_management")
    edits = management.get("edits") if isinstance(management, Mapping) else None
    if not isinstance(edits, list | tuple):
        return False
    for edit in edits:
        if not isinstance(edit, Mapping):
            continue
        if str(edit.get("type", "")).startswith("clear_thinking") and edit.get("keep") == "all":
            return True
    return False


def prompt_as_cached(
    params: Mapping[str, Any], *, keeps_thinking: bool = False
) -> Mapping[str, Any]:
    """The request as the cache sees it: earlier turns' thinking blocks left out.

    Thinking blocks of assistant messages before the user message that opened the current
    turn are ignored by the API and do not count toward the prompt (extended-thinking and
    prompt-caching pages), so a new user turn after a thinking turn changes every key from
    the first such block on. Within a tool-use loop (the last user messages hold only tool
    results) the current turn's thinking stays. `keeps_thinking`: a model that keeps earlier
    thinking (the caller decides from the catalog). Returns `params` itself when nothing is
    left out.
    """
    messages = params.get("messages")
    if keeps_thinking or not isinstance(messages, list) or keeps_all_thinking(params):
        return params
    turn = next((i for i in range(len(messages) - 1, -1, -1) if _opens_turn(messages[i])), 0)
    kept = list(messages)
    changed = False
    for i, message in enumerate(messages[:turn]):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            continue
        slim = [
            b
            for b in content
            if not (isinstance(b, Mapping) and b.get("type") in THINKING_BLOCK_TYPES)
        ]
        if len(slim) < len(content):
            kept[i] = {**message, "content": slim}
            changed = True
    return {**params, "messages": kept} if changed else params


def render(
    params: Mapping[str, Any],
    *,
    estimate: Callable[[Any], int] = estimate_block,
    keeps_thinking: bool = False,
) -> list[RenderedBlock]:
    """Every block of the request in prompt order, with chained hashes and token estimates.

    `estimate` counts one block's tokens; a caller that sees the same blocks again and again
    (the proxy) passes a memoised one. The request is first taken as the cache sees it
    (`prompt_as_cached`, with `keeps_thinking`): earlier turns' thinking is not rendered.
    """
    params = prompt_as_cached(params, keeps_thinking=keeps_thinking)
    out: list[RenderedBlock] = []
    digest = _SEED
    total = 0

    def add(
        section: str,
        msg: int | None,
        pos: int,
        block: Any,
        tokens: int,
        extra: Mapping[str, Any] | None,
        cacheable: bool,
    ) -> None:
        nonlocal digest, total
        unit: dict[str, Any] = {"s": section, "b": _strip(block)}
        if msg is not None:
            unit["m"] = msg
            unit["p"] = pos
        if extra:
            unit["x"] = extra
        digest = hashlib.sha256(digest + canonical_json(unit)).digest()
        total += tokens
        is_text = isinstance(block, Mapping) and block.get("type") == "text"
        out.append(
            RenderedBlock(
                index=len(out),
                section=section,
                message_index=msg,
                block_index=pos,
                tokens=tokens,
                prefix_tokens=total,
                prefix_hash=digest.hex(),
                cache_control=block.get("cache_control") if isinstance(block, Mapping) else None,
                cacheable=cacheable,
                empty_text=is_text and not str(block.get("text", "")),
            )
        )

    def fold(tier_name: str, tier: Mapping[str, Any]) -> None:
        # A tier's settings enter the chain where the tier starts, as no block of their own.
        nonlocal digest
        if tier:
            digest = hashlib.sha256(digest + canonical_json({"tier": tier_name, **tier})).digest()

    tools = list(params.get("tools") or [])
    ordered = [(p, t) for p, t in enumerate(tools) if not _web_search(t)]
    ordered += [(p, t) for p, t in enumerate(tools) if _web_search(t)]
    for pos, tool in ordered:
        add("tools", None, pos, tool, estimate(tool), None, True)
    fold("system", system_tier(params))
    system = params.get("system")
    for pos, block in enumerate(_as_blocks(system) if system != "" else []):
        is_text = isinstance(block, Mapping) and block.get("type") == "text"
        add("system", None, pos, block, estimate(block), None, is_text)
    fold("messages", messages_tier(params))
    for msg, message in enumerate(params.get("messages") or []):
        role = message.get("role") if isinstance(message, Mapping) else None
        blocks = _as_blocks(message.get("content") if isinstance(message, Mapping) else None)
        for pos, block in enumerate(blocks):
            kind = block.get("type") if isinstance(block, Mapping) else None
            tokens = estimate(block) + (MESSAGE_OVERHEAD if pos == 0 else 0)
            cacheable = kind in CACHEABLE_MESSAGE_TYPES
            add("messages", msg, pos, block, tokens, {"role": role}, cacheable)
    return out


def total_tokens(blocks: Sequence[RenderedBlock]) -> int:
    """Estimated prompt tokens of a rendered request (what count_tokens reports)."""
    return REQUEST_OVERHEAD + (blocks[-1].prefix_tokens if blocks else 0)
