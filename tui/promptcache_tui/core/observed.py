"""Observed requests: another program's Messages API call seen as cacheable blocks.

`observe_request` renders the request the way the cache sees it (core/prefix: chained prefix
hashes, `cache_control` left out) and adds what the call log needs beyond our own calls: a
content hash and the canonical bytes of every block, so each distinct block is stored once
and a miss can be explained by content. Also here: the observed-traffic group of a call
(client, model, tools + system prefix), its default name, and turning an observed prefix
into a named context ("Save as context"). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptcache_tui.core.context import (
    MAX_BREAKPOINTS,
    Block,
    Breakpoint,
    Context,
    as_ttl,
    validate_name,
)
from promptcache_tui.core.prefix import canonical_json, prompt_as_cached, render
from promptcache_tui.core.tokens import estimate_block
from promptcache_tui.core.ttl import TTL_SECONDS

SECTIONS = ("tools", "system", "messages")
# Claude Code's first system block: its values change with each session's first prompt.
BILLING_HEADER = re.compile(r"^\s*x-anthropic-billing-header:", re.IGNORECASE)
NAME_WORDS = 6
# A system block shorter than this is a preamble (a billing line, "You are a Claude agent"),
# not what names the program: the group is named from the first longer one.
_SUBSTANTIAL = 200


@dataclass(frozen=True, slots=True)
class ObservedBlock:
    """One block of an observed request, in prompt order."""

    index: int  # position in the rendered prompt
    section: str  # tools | system | messages
    message_index: int | None
    block_index: int  # tools and system: the n-th entry; messages: the block in its message
    role: str | None  # messages only
    content_hash: str  # hex sha256 of `content`
    content: bytes  # canonical JSON of the block without cache_control
    prefix_hash: str  # chained hash up to and including this block (core/prefix)
    tokens: int  # estimated
    prefix_tokens: int
    ttl: str | None  # the breakpoint's TTL when this block carries cache_control

    @property
    def label(self) -> str:
        """A short name for the block: `tool Bash`, `system block 1`, `message 3 (user)`."""
        return block_label(
            self.section, self.message_index, self.block_index, self.role, self.content
        )


@dataclass(frozen=True, slots=True)
class ObservedBreakpoint:
    """A breakpoint the observed request carried."""

    position: int  # order among the request's breakpoints
    block: int  # index of the marked block
    ttl: str
    prefix_hash: str
    prefix_tokens: int


@dataclass(frozen=True, slots=True)
class ObservedRequest:
    """An observed request, rendered."""

    model: str
    blocks: tuple[ObservedBlock, ...]
    breakpoints: tuple[ObservedBreakpoint, ...]
    stream: bool

    @property
    def head_hash(self) -> str:
        """The prefix hash of tools + system (the part that names a group), '' if empty."""
        head = [b for b in self.blocks if b.section != "messages"]
        return head[-1].prefix_hash if head else ""

    @property
    def leaf_hash(self) -> str | None:
        """The prefix hash of the whole prompt (its last block), None when empty."""
        return self.blocks[-1].prefix_hash if self.blocks else None

    def system_texts(self) -> list[str]:
        """The text of each system block, in order."""
        return [block_text(b.content) for b in self.blocks if b.section == "system"]

    def last_user_text(self, limit: int = 500) -> str | None:
        """The last text the user typed (not a tool result), cut to `limit` characters."""
        for block in reversed(self.blocks):
            if block.section == "messages" and block.role == "user":
                data = json.loads(block.content)
                if isinstance(data, Mapping) and data.get("type") == "text":
                    text = str(data.get("text", "")).strip()
                    if text and not text.startswith("<system-reminder>"):
                        return text[:limit]
        return None


def _text_blocks(content: Any) -> Any:
    # A string is one text block; rendering it from a list keeps every block object ours.
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content


def observe_request(
    params: Mapping[str, Any],
    *,
    token_memo: MutableMapping[str, int] | None = None,
    keeps_thinking: bool = False,
) -> ObservedRequest:
    """Render an observed request's body (already parsed JSON).

    `token_memo` maps a content hash to its estimated tokens: the proxy keeps one so that a
    block seen before is not estimated again (estimating is most of the cost of rendering).
    Top-level automatic caching (`cache_control` on the request) counts as a breakpoint on
    the last cacheable block, as the API places it. The prompt is the one the cache sees
    (`core/prefix.prompt_as_cached`): earlier turns' thinking blocks are left out, unless
    `keeps_thinking` (a model that keeps them).
    """
    normal: dict[str, Any] = dict(prompt_as_cached(params, keeps_thinking=keeps_thinking))
    if "system" in normal:
        normal["system"] = _text_blocks(normal["system"])
    messages = normal.get("messages")
    if isinstance(messages, list):
        normal["messages"] = [
            {**m, "content": _text_blocks(m.get("content"))} if isinstance(m, Mapping) else m
            for m in messages
        ]
    contents: dict[int, tuple[bytes, str]] = {}
    objects: list[Any] = []  # held so that id() stays unique while rendering

    def content_of(block: Any) -> tuple[bytes, str]:
        found = contents.get(id(block))
        if found is None:
            stripped = (
                {k: v for k, v in block.items() if k != "cache_control"}
                if isinstance(block, Mapping)
                else block
            )
            data = canonical_json(stripped)
            found = (data, hashlib.sha256(data).hexdigest())
            contents[id(block)] = found
            objects.append(block)
        return found

    def estimate(block: Any) -> int:
        _, digest = content_of(block)
        if token_memo is None:
            return estimate_block(block)
        tokens = token_memo.get(digest)
        if tokens is None:
            tokens = estimate_block(block)
            token_memo[digest] = tokens
        return tokens

    # `normal` is already the prompt as cached: rendering need not strip it again.
    rendered = render(normal, estimate=estimate, keeps_thinking=True)
    sources = _sources(normal)
    auto = params.get("cache_control")
    auto_at = None
    if isinstance(auto, Mapping) and auto.get("type") == "ephemeral":
        cacheable = [b for b in rendered if b.cacheable and not b.empty_text]
        if cacheable and cacheable[-1].cache_control is None:
            auto_at = cacheable[-1].index
    blocks: list[ObservedBlock] = []
    marks: list[ObservedBreakpoint] = []
    for item, source in zip(rendered, sources, strict=True):
        data, digest = content_of(source)
        control = (
            item.cache_control
            if item.cache_control is not None
            else (auto if item.index == auto_at else None)
        )
        ttl = None
        if isinstance(control, Mapping):
            ttl = str(control.get("ttl") or "5m")
            ttl = ttl if ttl in TTL_SECONDS else "5m"
            marks.append(
                ObservedBreakpoint(
                    position=len(marks),
                    block=item.index,
                    ttl=ttl,
                    prefix_hash=item.prefix_hash,
                    prefix_tokens=item.prefix_tokens,
                )
            )
        role = None
        if item.section == "messages" and item.message_index is not None:
            message = normal["messages"][item.message_index]
            role = str(message.get("role")) if isinstance(message, Mapping) else None
        blocks.append(
            ObservedBlock(
                index=item.index,
                section=item.section,
                message_index=item.message_index,
                block_index=item.block_index,
                role=role,
                content_hash=digest,
                content=data,
                prefix_hash=item.prefix_hash,
                tokens=item.tokens,
                prefix_tokens=item.prefix_tokens,
                ttl=ttl,
            )
        )
    return ObservedRequest(
        model=str(params.get("model") or ""),
        blocks=tuple(blocks),
        breakpoints=tuple(marks),
        stream=bool(params.get("stream")),
    )


def _sources(params: Mapping[str, Any]) -> list[Any]:
    """The block objects in the order `render` walks them."""
    out: list[Any] = list(params.get("tools") or [])
    system = params.get("system")
    out.extend(system if isinstance(system, Sequence) and not isinstance(system, str) else [])
    for message in params.get("messages") or []:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, Sequence) and not isinstance(content, str):
            out.extend(content)
    return out


def block_text(content: bytes | str | None) -> str:
    """The readable text of a stored block: a text block's text, else its JSON."""
    if content is None:
        return ""
    try:
        data = json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    if isinstance(data, Mapping):
        kind = data.get("type")
        if kind == "text":
            return str(data.get("text", ""))
        if kind == "tool_result":
            inner = data.get("content")
            if isinstance(inner, str):
                return inner
            if isinstance(inner, list):
                return "\n".join(
                    str(p.get("text", ""))
                    if isinstance(p, Mapping) and "text" in p
                    else json.dumps(p, sort_keys=True, ensure_ascii=False)
                    for p in inner
                )
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def block_label(
    section: str,
    message_index: int | None,
    block_index: int,
    role: str | None,
    content: bytes | None = None,
) -> str:
    """`tool Bash`, `system block 1`, `message 3 (user)`, `message 3 (user) block 2`."""
    if section == "tools":
        name = None
        if content:
            try:
                data = json.loads(content)
                name = data.get("name") if isinstance(data, Mapping) else None
            except ValueError:
                name = None
        return f"tool {name}" if isinstance(name, str) else f"tool {block_index + 1}"
    # Numbered from 1, as breakpoints and tools are: "system block 0" read like a bug.
    if section == "system":
        return f"system block {block_index + 1}"
    where = f"message {(message_index or 0) + 1} ({role or '?'})"
    return where if block_index == 0 else f"{where} block {block_index + 1}"


def group_key(client: str | None, model: str, head_hash: str) -> str:
    """The observed-traffic group of a proxied call: client, model and tools + system."""
    seed = "\x00".join((client or "", model, head_hash)).encode()
    return "px-" + hashlib.sha256(seed).hexdigest()[:16]


def _first_words(text: str, words: int = NAME_WORDS) -> str:
    parts = text.split()
    shown = " ".join(parts[:words])
    return shown + ("…" if len(parts) > words else "")


def group_name(client: str | None, request: ObservedRequest) -> str:
    """A default name: the client and the first words of the system prompt (or tools)."""
    who = (client or "unknown client").split(" ")[0]
    texts = [t for t in request.system_texts() if t.strip() and not BILLING_HEADER.match(t)]
    chosen = next((t for t in texts if len(t.strip()) >= _SUBSTANTIAL), None)
    if chosen is None and texts:
        chosen = max(texts, key=len)
    tools = sum(1 for b in request.blocks if b.section == "tools")
    tail = f" ({tools} tools)" if tools else ""
    if chosen is None:
        first = request.last_user_text(200)
        return f"{who} · {_first_words(first)}{tail}" if first else f"{who} · {request.model}"
    return f"{who} · {_first_words(chosen)}{tail}"


@dataclass(frozen=True, slots=True)
class StoredBlock:
    """A block of a logged prefix, as the store gives it back."""

    index: int
    section: str
    message_index: int | None
    block_index: int
    role: str | None
    content: bytes | None  # None when recorded without content
    ttl: str | None = None  # the breakpoint's TTL when the call marked this block


class SaveError(ValueError):
    """The prefix cannot become a context; the message is one line for the user."""


def _example_text(role: str | None, data: Any) -> str:
    if isinstance(data, Mapping):
        kind = data.get("type")
        if kind == "text":
            text = str(data.get("text", ""))
        else:
            # A context holds text; other blocks are kept readable, not byte-exact.
            text = f"[{kind}] " + json.dumps(
                {k: v for k, v in data.items() if k != "type"}, ensure_ascii=False
            )
    else:
        text = json.dumps(data, ensure_ascii=False)
    return f"[system message] {text}" if role == "system" else text


def context_from_prefix(name: str, model: str, blocks: Sequence[StoredBlock], upto: int) -> Context:
    """A named context holding the prefix `blocks[: upto + 1]` with its breakpoints.

    Tools become one tools block, system blocks system blocks, message blocks examples
    (non-text blocks as readable text, a mid-conversation system message as a user turn).
    Breakpoints inside the prefix are kept (at most four, 1h ones first as the API wants).
    """
    validate_name(name)
    kept = [b for b in blocks if b.index <= upto]
    if not kept:
        raise SaveError("the prefix is empty")
    if any(b.content is None for b in kept):
        raise SaveError(
            "this call was recorded with --no-content: its prefix was not kept, only hashes"
        )
    out: list[Block] = []
    marks: dict[int, str] = {}
    tools = [b for b in kept if b.section == "tools"]
    if tools:
        defs = [json.loads(b.content or b"{}") for b in tools]
        out.append(Block(kind="tools", text=json.dumps(defs, ensure_ascii=False, indent=1)))
        ttls = [b.ttl for b in tools if b.ttl]
        if ttls:
            marks[0] = ttls[-1]
    for block in kept:
        if block.section == "tools":
            continue
        data = json.loads(block.content or b"null")
        if block.section == "system":
            text = block_text(block.content)
            if not text.strip():
                continue
            out.append(Block(kind="system", text=text))
        else:
            text = _example_text(block.role, data)
            if not text.strip():
                continue
            role = "assistant" if block.role == "assistant" else "user"
            out.append(Block(kind="example", text=text, role=role))
        if block.ttl:
            marks[len(out) - 1] = block.ttl
    chosen = sorted(marks.items())[-MAX_BREAKPOINTS:]
    # The API wants every 1h entry before any 5m one: a later 1h becomes 5m.
    seen_5m = False
    breakpoints: list[Breakpoint] = []
    for index, ttl in chosen:
        if ttl == "5m":
            seen_5m = True
        breakpoints.append(Breakpoint(block=index, ttl=as_ttl("5m" if seen_5m else ttl)))
    return Context(name=name, blocks=tuple(out), breakpoints=tuple(breakpoints), model=model)
