"""The simulator's own rendering of a request into cache positions, from the documentation.

This is the server's side of the caching model. It deliberately shares no code with the
client's `core/prefix.py` (the ledger and the advisor use that one): a mistake in either
shows up as a disagreement in the property test that cross-checks them
(`tests/sim/test_two_models.py`). What the prompt-caching page and the December 2026 audit
say, as implemented here:

- The prompt is laid out tools, then system, then messages. Every tool definition, every
  system text block and every content block of every message is one *position*; a string
  `system` or message `content` is one text block (an empty `system` string is none).
- A position's key covers everything from the start of the prompt up to and including it,
  `cache_control` excepted: moving a marker changes no key. Keys are chained, so one
  changed byte changes the key of every later position.
- Web search tools render after the other tools (toggling web search keeps the tools
  cache). Settings that change a whole tier of the cache, per the invalidation table:
  `speed` (fast mode), web search being on, and citations being enabled anywhere change
  the system and messages caches; `tool_choice`, `thinking`, `output_config.effort` and
  the number of images anywhere change the messages cache. They enter the chain at the
  start of their tier, so what comes before keeps its key. Defaults are the absent value:
  `speed` "standard", `tool_choice` auto, `thinking` disabled.
- A message's role is part of the key of its first block, so where a turn starts (and a
  `{"role": "system"}` message inside `messages`) is part of the prefix like any content.

Tokens: the offline stand-in for Claude's tokenizer is `core/tokens.py`, shared on purpose,
as the real tokenizer is shared by the API's usage and its `count_tokens`: both sides must
count the same text the same way for offline numbers to agree. Which text is a position,
its framing (a message's turn marker) and the keys are this module's own.

Each block's canonical JSON (`cache_control` left out) feeds its key and the tier digests.
An agent resends the same tools and system blocks every turn: a bounded memo
(`sim/memo.py`) keeps each block's canonical bytes and token estimate under a cheap
encoding of its content, instead of serialising and counting it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptcache_tui.core.tokens import MESSAGE_OVERHEAD, REQUEST_OVERHEAD, estimate_block
from promptcache_tui.sim.memo import Memo, content_key

# Message blocks that may carry cache_control (prompt-caching page, "what can be cached").
MARKABLE_MESSAGE_BLOCKS = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "search_result"}
)
_ROOT = hashlib.blake2b(b"promptcache-tui simulator prompt", digest_size=32).digest()
# A block's (canonical bytes, token estimate), by its content (`content_key`). 16 MB holds
# the tools, system and history of several long agent sessions (~0.25 MB for Claude
# Code's tools and system), and stays small beside the app that embeds the simulator.
_BLOCKS: Memo[bytes, tuple[bytes, int]] = Memo(
    max_entries=4096, max_bytes=16 * 1024 * 1024, weigh=lambda found: len(found[0])
)


@dataclass(frozen=True, slots=True)
class Position:
    """One cacheable unit of the prompt, with the key of the prefix that ends on it."""

    index: int  # 0-based, in prompt order
    section: str  # "tools" | "system" | "messages"
    path: str  # where the block is in the request, as errors name it
    kind: str  # the block's type ("tool" for a tool definition)
    tokens: int
    prefix_tokens: int  # from the start of the prompt up to and including this position
    key: str
    marker: Any  # the block's cache_control, None when unmarked
    markable: bool  # may carry cache_control
    empty_text: bool  # a text block with no text


@dataclass(frozen=True, slots=True)
class Rendering:
    """A request laid out as positions, and what the diagnostics compare tier by tier."""

    positions: tuple[Position, ...]
    total_tokens: int  # what count_tokens reports: positions plus the request's overhead
    tools_digest: str  # the tools as sent (web search included)
    system_digest: str  # system blocks plus the settings that key the system tier
    message_settings_digest: str  # tool_choice, thinking, effort: `unavailable` when they differ
    image_count: int

    def in_section(self, section: str) -> Iterator[Position]:
        """The positions of one section, in order."""
        return (p for p in self.positions if p.section == section)


def _bytes(value: Any) -> bytes:
    # ASCII JSON with sorted keys: stable across runs, independent of dict order.
    return json.dumps(value, sort_keys=True, ensure_ascii=True).encode("ascii")


def _list_bytes(items: Sequence[bytes]) -> bytes:
    # What `_bytes` gives for a list whose items serialise to `items` (json's ", " separator).
    return b"[" + b", ".join(items) + b"]"


def _digest(value: Any) -> str:
    return _digest_bytes(_bytes(value))


def _digest_bytes(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _unmarked(block: Any) -> Any:
    if isinstance(block, Mapping):
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _blocks(content: Any, *, empty_string_is_nothing: bool = False) -> list[Any]:
    if isinstance(content, str):
        if empty_string_is_nothing and not content:
            return []
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return content
    return []


def _is_web_search(tool: Any) -> bool:
    return isinstance(tool, Mapping) and str(tool.get("type", "")).startswith("web_search")


def _walk(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every mapping inside `value` (blocks nest inside tool results and documents)."""
    if isinstance(value, Mapping):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _citations_on(params: Mapping[str, Any]) -> bool:
    for found in _walk([params.get("system"), params.get("messages")]):
        citations = found.get("citations")
        if isinstance(citations, Mapping) and citations.get("enabled") is True:
            return True
    return False


def _images(messages: Any) -> int:
    return sum(1 for found in _walk(messages) if found.get("type") == "image")


def _system_settings(params: Mapping[str, Any], tools: Sequence[Any]) -> dict[str, Any]:
    return {
        "speed": params.get("speed") or "standard",
        "web_search": any(_is_web_search(t) for t in tools),
        "citations": _citations_on(params),
    }


def _message_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    choice = params.get("tool_choice")
    if isinstance(choice, Mapping) and choice == {"type": "auto"}:
        choice = None
    thinking = params.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") == "disabled":
        thinking = None
    config = params.get("output_config")
    effort = config.get("effort") if isinstance(config, Mapping) else None
    return {"tool_choice": choice, "thinking": thinking, "effort": effort}


class _Chain:
    """The running key: one hash step per position, or per tier setting."""

    def __init__(self) -> None:
        self.state = _ROOT

    def step(self, unit: Any) -> str:
        return self.step_bytes(_bytes(unit))

    def step_bytes(self, raw: bytes) -> str:
        self.state = hashlib.blake2b(self.state + b"\x1e" + raw, digest_size=32).digest()
        return self.state.hex()


def _canonical(block: Any) -> tuple[bytes, int]:
    """The block's canonical bytes (`cache_control` left out) and its token estimate."""
    unmarked = _unmarked(block)
    key = content_key(unmarked)
    if key is None:
        return _bytes(unmarked), estimate_block(block)
    return _BLOCKS.get(key, lambda: (_bytes(unmarked), estimate_block(block)))


def render_positions(params: Mapping[str, Any]) -> Rendering:
    """Lay out `params` (a validated Messages API body) as cache positions."""
    raw_tools = params.get("tools") or []
    searching = [_is_web_search(t) for t in raw_tools]
    order = [i for i, web in enumerate(searching) if not web]
    order += [i for i, web in enumerate(searching) if web]
    tools = [raw_tools[i] for i in order]
    chain = _Chain()
    out: list[Position] = []
    running = 0

    def add(
        section: str, path: str, kind: str, block: Any, markable: bool, overhead: int = 0
    ) -> bytes:
        """Append the block's position; returns its canonical bytes."""
        nonlocal running
        raw, tokens = _canonical(block)
        tokens += overhead
        running += tokens
        marker = block.get("cache_control") if isinstance(block, Mapping) else None
        out.append(
            Position(
                index=len(out),
                section=section,
                path=path,
                kind=kind,
                tokens=tokens,
                prefix_tokens=running,
                key=chain.step_bytes(b'["block", ' + raw + b"]"),  # _bytes(["block", ...])
                marker=marker,
                markable=markable,
                empty_text=kind == "text" and not str(block.get("text") or ""),
            )
        )
        return raw

    tool_bytes: list[bytes] = [b""] * len(raw_tools)
    for where, tool in zip(order, tools, strict=True):
        tool_bytes[where] = add("tools", f"tools.{where}", "tool", tool, True)

    system_settings = _system_settings(params, raw_tools)
    chain.step(["system-tier", system_settings])
    system = _blocks(params.get("system"), empty_string_is_nothing=True)
    system_bytes: list[bytes] = []
    for i, block in enumerate(system):
        kind = str(block.get("type", "")) if isinstance(block, Mapping) else ""
        system_bytes.append(add("system", f"system.{i}", kind, block, kind == "text"))

    messages = params.get("messages") or []
    message_settings = _message_settings(params)
    images = _images(messages)
    chain.step(["messages-tier", message_settings, {"images": images}])
    for m, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        content = message.get("content") if isinstance(message, Mapping) else None
        for b, block in enumerate(_blocks(content)):
            if b == 0:
                chain.step(["turn", role])  # the turn marker belongs to its first block
            kind = str(block.get("type", "")) if isinstance(block, Mapping) else ""
            add(
                "messages",
                f"messages.{m}.content.{b}",
                kind,
                block,
                kind in MARKABLE_MESSAGE_BLOCKS,
                MESSAGE_OVERHEAD if b == 0 else 0,
            )

    # The digests are those of `[unmarked tools]` and `[[unmarked system], speed, citations]`,
    # put together from the bytes each block was serialised to above.
    speed, citations = _bytes(system_settings["speed"]), _bytes(system_settings["citations"])
    return Rendering(
        positions=tuple(out),
        total_tokens=REQUEST_OVERHEAD + running,
        tools_digest=_digest_bytes(_list_bytes(tool_bytes)),
        system_digest=_digest_bytes(_list_bytes([_list_bytes(system_bytes), speed, citations])),
        message_settings_digest=_digest(message_settings),
        image_count=images,
    )
