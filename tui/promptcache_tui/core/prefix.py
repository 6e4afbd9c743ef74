"""Render a Messages API request into its cacheable blocks, with chained prefix hashes.

The prompt is rendered tools -> system -> messages. The cache key of a breakpoint is the model
plus the exact bytes of every block up to and including it, with `cache_control` left out.
Hashes are chained (one SHA-256 step per block), so the hash of every prefix of a 1 MB prompt
costs one pass over its bytes, not one pass per breakpoint.
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
# Request fields that change how messages are processed: part of the messages tier's key.
_MESSAGE_TIER_FIELDS = ("tool_choice", "thinking")


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


def render(
    params: Mapping[str, Any], *, estimate: Callable[[Any], int] = estimate_block
) -> list[RenderedBlock]:
    """Every block of the request in prompt order, with chained hashes and token estimates.

    `estimate` counts one block's tokens; a caller that sees the same blocks again and again
    (the proxy) passes a memoised one.
    """
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

    for pos, tool in enumerate(params.get("tools") or []):
        add("tools", None, pos, tool, estimate(tool), None, True)
    for pos, block in enumerate(_as_blocks(params.get("system"))):
        add("system", None, pos, block, estimate(block), None, True)
    tier = {k: params[k] for k in _MESSAGE_TIER_FIELDS if params.get(k) is not None}
    for msg, message in enumerate(params.get("messages") or []):
        role = message.get("role") if isinstance(message, Mapping) else None
        blocks = _as_blocks(message.get("content") if isinstance(message, Mapping) else None)
        for pos, block in enumerate(blocks):
            extra: dict[str, Any] = {"role": role}
            if msg == 0 and pos == 0 and tier:
                extra["tier"] = tier
            kind = block.get("type") if isinstance(block, Mapping) else None
            tokens = estimate(block) + (MESSAGE_OVERHEAD if pos == 0 else 0)
            add("messages", msg, pos, block, tokens, extra, kind in CACHEABLE_MESSAGE_TYPES)
    return out


def total_tokens(blocks: Sequence[RenderedBlock]) -> int:
    """Estimated prompt tokens of a rendered request (what count_tokens reports)."""
    return REQUEST_OVERHEAD + (blocks[-1].prefix_tokens if blocks else 0)
