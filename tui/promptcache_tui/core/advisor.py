"""Warnings for silent caching failures, computed from a context and its request."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.context import MAX_BREAKPOINTS, Context
from promptcache_tui.core.prefix import RenderedBlock, render

LOOKBACK_BLOCKS = 20
# Things that change on every call and so break every cache hit when placed before a breakpoint.
_VOLATILE = (
    ("a timestamp", re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")),
    ("a time of day", re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")),
    (
        "a UUID",
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
    ),
    ("a request id", re.compile(r"\b(req|msg|request|trace)[_-][A-Za-z0-9]{8,}\b")),
    ("today's date", re.compile(r"(?i)\b(today is|current date|current time|as of now|now is)\b")),
)


@dataclass(frozen=True, slots=True)
class Warning_:
    """One advisor warning: a stable code and a sentence for the user."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON form: {code, message}."""
        return {"code": self.code, "message": self.message}


def volatile_reason(text: str) -> str | None:
    """What in `text` looks like it changes per call, or None."""
    for label, pattern in _VOLATILE:
        if pattern.search(text):
            return label
    return None


def breakpoint_warnings(
    ctx: Context,
    catalog: Catalog,
    *,
    model: str | None = None,
    prefix_tokens: Sequence[int] | None = None,
    estimated: bool = True,
) -> list[list[Warning_]]:
    """Warnings for each of the context's breakpoints, in prompt order.

    `prefix_tokens` may carry real counts (count_tokens, live); otherwise estimates are used.
    """
    from promptcache_tui.core.request import build_request

    model = model or ctx.model
    marks = ctx.sorted_breakpoints()
    if not marks:
        return []
    info = catalog.get(model)
    minimum = info.min_cache_tokens if info else None
    # Render what a request would send, but without the validity checks: drafts are advised too.
    try:
        rendered = list(build_request(ctx, prompt=None, model=model).blocks)
    except ValueError:
        rendered = _loose_render(ctx, model)
    marked = [b for b in rendered if b.cache_control]
    out: list[list[Warning_]] = []
    previous_index = -1
    seen_5m = False
    for position, bp in enumerate(marks):
        found: list[Warning_] = []
        block = marked[position] if position < len(marked) else None
        tokens = (
            prefix_tokens[position]
            if prefix_tokens and position < len(prefix_tokens)
            else block.prefix_tokens
            if block
            else 0
        )
        approx = "about " if estimated else ""
        if info is None:
            found.append(
                Warning_(
                    "unknown_model",
                    f"{model} is not in the model catalog: its "
                    "cache minimum and prices are unknown",
                )
            )
        elif minimum is not None and tokens < minimum:
            found.append(
                Warning_(
                    "below_minimum",
                    f"prefix is {approx}{tokens} tokens, {minimum - tokens} under "
                    f"{model}'s minimum of {minimum}: it will not be cached",
                )
            )
        if position >= MAX_BREAKPOINTS:
            found.append(
                Warning_(
                    "too_many_breakpoints",
                    f"breakpoint {position + 1} of {len(marks)}: the API accepts "
                    f"at most {MAX_BREAKPOINTS} (400 error)",
                )
            )
        if bp.ttl == "5m":
            seen_5m = True
        elif seen_5m:
            found.append(
                Warning_(
                    "ttl_order",
                    "a 1h breakpoint after a 5m one: the API requires 1h entries first (400 error)",
                )
            )
        if block is not None:
            if block.index - previous_index > LOOKBACK_BLOCKS and previous_index >= 0:
                found.append(
                    Warning_(
                        "lookback_exceeded",
                        f"{block.index - previous_index} blocks since the previous breakpoint: "
                        f"lookups only reach {LOOKBACK_BLOCKS} blocks back",
                    )
                )
            previous_index = block.index
        # A volatile value anywhere before the breakpoint changes its key on every call.
        for index in range(min(bp.block + 1, len(ctx.blocks))):
            reason = volatile_reason(ctx.blocks[index].text)
            if reason:
                found.append(
                    Warning_(
                        "volatile_prefix",
                        f"block {index + 1} ({ctx.blocks[index].label()}) contains {reason}: if it "
                        "changes between calls, every call misses",
                    )
                )
                break
        out.append(found)
    return out


def _loose_render(ctx: Context, model: str) -> list[RenderedBlock]:
    """Render a draft context that `build_request` refuses, marking its breakpoints anyway."""
    marks = {bp.block: bp.ttl for bp in ctx.breakpoints}
    system = []
    messages = []
    for index, block in enumerate(ctx.blocks):
        part: dict[str, object] = {"type": "text", "text": block.text}
        if index in marks:
            part["cache_control"] = {"type": "ephemeral", "ttl": marks[index]}
        if block.kind == "example":
            messages.append({"role": block.role, "content": [part]})
        else:
            system.append(part)
    messages.append({"role": "user", "content": "."})
    return render({"model": model, "system": system, "messages": messages})


def infer_miss_reason(
    *,
    cache_read: int,
    cache_creation: int,
    prefix_tokens: Sequence[int],
    states_before: Sequence[str],
    min_tokens: int | None,
    previous_hashes: Sequence[str] | None = None,
    hashes: Sequence[str] = (),
    previous_model: str | None = None,
    model: str | None = None,
) -> str | None:
    """Why a call read nothing, from what the app knows (used when the API gives no reason).

    `states_before` are the ledger states (cold|warm|expired) of the call's breakpoints just
    before it was sent; `previous_hashes` the prefix hashes the previous call of the same
    context sent. Returns None for a hit or when nothing was marked for caching.
    """
    if cache_read > 0 or not prefix_tokens:
        return None
    if min_tokens is not None and all(t < min_tokens for t in prefix_tokens):
        return f"under the minimum ({max(prefix_tokens)} < {min_tokens} tokens)"
    if previous_model is not None and model is not None and previous_model != model:
        return "model changed"
    if previous_hashes:
        for position, (old, new) in enumerate(zip(previous_hashes, hashes, strict=False)):
            if old != new:
                return f"prefix changed at breakpoint {position + 1}"
    if "expired" in states_before:
        return "expired"
    if cache_creation > 0:
        return "first write"
    return None
