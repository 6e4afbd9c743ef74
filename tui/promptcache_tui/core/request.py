"""Build Messages API parameters from a context, a conversation and a new prompt.

The context's breakpoints are kept, plus one moving breakpoint (5m) on the newest user turn
so that a growing conversation is cached as it goes; never more than four in all. The output
is deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promptcache_tui.core.context import (
    MAX_BREAKPOINTS,
    Block,
    Context,
    ContextError,
    parse_tools,
    require_valid,
)
from promptcache_tui.core.prefix import RenderedBlock, canonical_json, render
from promptcache_tui.core.tokens import MESSAGE_OVERHEAD, estimate_block, estimate_text

DEFAULT_MAX_TOKENS = 1024
WARM_PROMPT = "Ready."  # the one user turn a prefill-only warm request needs


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of a stored conversation."""

    role: str  # "user" | "assistant"
    text: str


@dataclass(frozen=True, slots=True)
class PlannedBreakpoint:
    """A breakpoint as it appears in the built request (what the TTL ledger keys on)."""

    position: int  # 0-based order among the request's breakpoints
    block_index: int  # index of the marked block in the rendered prompt
    context_block: int | None  # the context block it marks, None for the moving one
    ttl: str
    prefix_hash: str
    prefix_tokens: int  # estimated


@dataclass(frozen=True, slots=True)
class BuiltRequest:
    """Parameters for `messages.create`/`messages.stream` and what they will cache."""

    params: dict[str, Any]
    breakpoints: tuple[PlannedBreakpoint, ...]
    blocks: tuple[RenderedBlock, ...]

    @property
    def model(self) -> str:
        """The model the request names."""
        return str(self.params["model"])

    def body(self) -> bytes:
        """Canonical JSON of the parameters (stable across runs)."""
        return canonical_json(self.params)


def _cache_control(ttl: str) -> dict[str, str]:
    # "5m" is the API default; it is still written out so the request states its intent.
    return {"type": "ephemeral", "ttl": ttl}


def _append_message(messages: list[dict[str, Any]], role: str, block: dict[str, Any]) -> None:
    # Consecutive turns of one role become one message with several blocks.
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].append(block)
    else:
        messages.append({"role": role, "content": [block]})


def _document_text(block: Block) -> str:
    if block.name:
        return f'<document name="{block.name}">\n{block.text}\n</document>'
    return f"<document>\n{block.text}\n</document>"


def build_request(
    ctx: Context,
    history: Sequence[Turn] = (),
    prompt: str | None = None,
    *,
    model: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    cache_conversation: bool = False,
) -> BuiltRequest:
    """Messages API parameters for `prompt` after `history`, against context `ctx`.

    `prompt=None` builds a prefill-only warm request (`max_tokens: 0`).
    """
    require_valid(ctx)
    marks = {bp.block: bp.ttl for bp in ctx.breakpoints}
    tools: list[dict[str, Any]] = []
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []

    for index, block in enumerate(ctx.blocks):
        ttl = marks.get(index)
        if block.kind == "tools":
            defs = [dict(t) for t in parse_tools(block.text)]
            if ttl:
                defs[-1]["cache_control"] = _cache_control(ttl)
            tools.extend(defs)
            continue
        text = _document_text(block) if block.kind == "document" else block.text
        part: dict[str, Any] = {"type": "text", "text": text}
        if ttl:
            part["cache_control"] = _cache_control(ttl)
        if block.kind == "example":
            _append_message(messages, block.role, part)
        else:
            system.append(part)

    for turn in history:
        _append_message(messages, turn.role, {"type": "text", "text": turn.text})
    warm = prompt is None
    _append_message(messages, "user", {"type": "text", "text": WARM_PROMPT if warm else prompt})

    if (
        cache_conversation
        and prompt is not None
        and prompt.strip()
        and len(marks) < MAX_BREAKPOINTS
    ):
        # The moving breakpoint: the next turn reads everything up to here.
        messages[-1]["content"][-1]["cache_control"] = _cache_control("5m")

    params: dict[str, Any] = {
        "model": model or ctx.model,
        "max_tokens": 0 if warm else max_tokens,
        "messages": messages,
    }
    if system:
        params["system"] = system
    if tools:
        params["tools"] = tools

    rendered = render(params)
    context_marks = _context_block_positions(ctx, rendered)
    planned = tuple(
        PlannedBreakpoint(
            position=position,
            block_index=block.index,
            context_block=context_marks.get(block.index),
            ttl=str((block.cache_control or {}).get("ttl", "5m")),
            prefix_hash=block.prefix_hash,
            prefix_tokens=block.prefix_tokens,
        )
        for position, block in enumerate(b for b in rendered if b.cache_control)
    )
    return BuiltRequest(params=params, breakpoints=planned, blocks=tuple(rendered))


def _context_block_positions(ctx: Context, rendered: Sequence[RenderedBlock]) -> dict[int, int]:
    """Map rendered block index -> context block index for blocks that carry a breakpoint."""
    marked = sorted(bp.block for bp in ctx.breakpoints)
    with_marks = [b.index for b in rendered if b.cache_control]
    # Context breakpoints come first in prompt order; the moving one, if any, is last.
    return dict(zip(with_marks, marked, strict=False))


def prefix_params(params: dict[str, Any], block_index: int) -> dict[str, Any]:
    """The request cut after rendered block `block_index`, ending on a user turn.

    For counting a prefix with count_tokens: everything after the block is dropped, and a
    short user turn is added where the API needs one (its tokens are subtracted by the caller
    with `filler_params`).
    """
    kept = 0
    out: dict[str, Any] = {"model": params["model"]}
    for section in ("tools", "system"):
        items = list(params.get(section) or [])
        take = min(len(items), block_index + 1 - kept)
        if take > 0:
            out[section] = items[:take]
        kept += len(items)
    messages: list[dict[str, Any]] = []
    for message in params.get("messages") or []:
        if kept > block_index:
            break
        content = list(message["content"])
        take = min(len(content), block_index + 1 - kept)
        messages.append({"role": message["role"], "content": content[:take]})
        kept += len(content)
    if not messages or messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": [{"type": "text", "text": WARM_PROMPT}]})
    out["messages"] = messages
    return out


def filler_params(model: str) -> dict[str, Any]:
    """The smallest request: what `prefix_params` adds beyond the prefix itself."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": [{"type": "text", "text": WARM_PROMPT}]}],
    }


def block_tokens(ctx: Context) -> list[int]:
    """Each context block's estimated tokens as a request renders it (a document's wrapper,
    each tool definition, a new message's framing), whether or not the context is valid yet.

    Their running sum at a block is the prefix a breakpoint there caches: it depends only
    on the blocks before it, never on where other breakpoints sit or on their TTLs. For a
    valid context it equals `context_breakpoints(...).prefix_tokens`.
    """
    out: list[int] = []
    role: str | None = None  # the role of the message the next example joins
    for block in ctx.blocks:
        if block.kind == "tools":
            try:
                out.append(sum(estimate_block(tool) for tool in parse_tools(block.text)))
            except ContextError:
                out.append(estimate_text(block.text))  # not JSON yet: its text, as typed
            continue
        text = _document_text(block) if block.kind == "document" else block.text
        tokens = estimate_block({"type": "text", "text": text})
        if block.kind == "example":
            tokens += MESSAGE_OVERHEAD if block.role != role else 0
            role = block.role
        out.append(tokens)
    return out


def context_breakpoints(ctx: Context, model: str | None = None) -> tuple[PlannedBreakpoint, ...]:
    """The context's own breakpoints with their prefix hashes (as any chat would send them)."""
    return tuple(
        bp
        for bp in build_request(ctx, prompt=None, model=model).breakpoints
        if bp.context_block is not None
    )
