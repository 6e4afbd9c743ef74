"""Warnings for silent caching failures, computed from a context and its request.

Codes (`context show --format json`, the breakpoint panel, the editor):
`below_minimum`, `too_many_breakpoints`, `ttl_order`, `lookback_exceeded`, `volatile_prefix`,
`unknown_model`, and for the context as a whole (listed with its first breakpoint):
`model_retired`, `model_retiring`, `context_too_long`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.context import MAX_BREAKPOINTS, Context
from promptcache_tui.core.prefix import RenderedBlock, render, total_tokens
from promptcache_tui.core.ttl import LOOKBACK_POSITIONS

# Kept for callers of the older name: the lookback is counted in positions.
LOOKBACK_BLOCKS = LOOKBACK_POSITIONS
# Things that change on every call and so break every cache hit when placed before a breakpoint.
_VOLATILE = (
    (
        "Claude Code's billing header (its cch= value changes with each session)",
        re.compile(r"x-anthropic-billing-header:"),
    ),
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


def day_of(epoch: float) -> date:
    """The UTC day of an epoch time (retirement dates are UTC days)."""
    return datetime.fromtimestamp(epoch, UTC).date()


def _rendered(ctx: Context, model: str) -> list[RenderedBlock]:
    from promptcache_tui.core.request import build_request

    # Render what a request would send, but without the validity checks: drafts are advised too.
    try:
        return list(build_request(ctx, prompt=None, model=model).blocks)
    except ValueError:
        return _loose_render(ctx, model)


def context_warnings(
    ctx: Context,
    catalog: Catalog,
    *,
    model: str | None = None,
    today: date | None = None,
    rendered: Sequence[RenderedBlock] | None = None,
) -> list[Warning_]:
    """Warnings about the context as a whole: its model's lifecycle, its size.

    `today` is the UTC day of the caller's clock (`day_of`); without one, the wall clock's.
    `rendered` is the context's warm request if the caller has it (a large one is slow).
    """
    model = model or ctx.model
    today = today or day_of(wall_clock())
    out: list[Warning_] = []
    state = catalog.lifecycle(model, today)
    instead = f"; move to {state.replacement}" if state.replacement else ""
    if state.state == "retired":
        when = f" on {state.retires_on.isoformat()}" if state.retires_on else ""
        out.append(
            Warning_(
                "model_retired",
                f"{model} was retired{when}: the API answers 404 not_found_error{instead}",
            )
        )
    elif state.state == "retiring" and state.retires_on is not None:
        days = "tomorrow" if state.days_left == 1 else f"in {state.days_left} days"
        out.append(
            Warning_(
                "model_retiring",
                f"{model} retires on {state.retires_on.isoformat()} ({days}){instead}",
            )
        )
    info = catalog.get(model)
    window = info.context_window if info else None
    if window is not None:
        tokens = total_tokens(rendered if rendered is not None else _rendered(ctx, model))
        if tokens > window:
            out.append(
                Warning_(
                    "context_too_long",
                    f"the context is about {tokens:,} tokens, over {model}'s context window "
                    f"of {window:,}: the API refuses it (400 prompt is too long)",
                )
            )
    return out


def breakpoint_warnings(
    ctx: Context,
    catalog: Catalog,
    *,
    model: str | None = None,
    prefix_tokens: Sequence[int] | None = None,
    estimated: bool = True,
    today: date | None = None,
) -> list[list[Warning_]]:
    """Warnings for each of the context's breakpoints, in prompt order.

    `prefix_tokens` may carry real counts (count_tokens, live); otherwise estimates are used.
    The context's own warnings (`context_warnings`) come first in the first breakpoint's list,
    so every surface that shows breakpoint warnings shows them too.
    """
    model = model or ctx.model
    marks = ctx.sorted_breakpoints()
    if not marks:
        return []
    info = catalog.get(model)
    minimum = info.min_cache_tokens if info else None
    rendered = _rendered(ctx, model)
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
            # An entry `gap` blocks back is gap + 1 positions away, the breakpoint included.
            gap = block.index - previous_index
            if previous_index >= 0 and gap >= LOOKBACK_POSITIONS:
                found.append(
                    Warning_(
                        "lookback_exceeded",
                        f"{gap} blocks after the previous breakpoint: a lookup checks only "
                        f"{LOOKBACK_POSITIONS} positions, its own included, so a change in "
                        "between misses both",
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
    out[0][:0] = context_warnings(ctx, catalog, model=model, today=today, rendered=rendered)
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
    beyond_lookback: bool = False,
) -> str | None:
    """Why a call read nothing, from what the app knows (used when the API gives no reason).

    `states_before` are the ledger states (cold|warm|expired) of the call's breakpoints just
    before it was sent; `previous_hashes` the prefix hashes the previous call of the same
    context sent; `beyond_lookback` that a live entry sat further back than a lookup reaches.
    Returns None for a hit or when nothing was marked for caching.
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
    if beyond_lookback:
        return f"lookback exceeded (the live entry is over {LOOKBACK_POSITIONS} positions back)"
    if "expired" in states_before:
        return "expired"
    if cache_creation > 0:
        return "first write"
    return None


def api_miss_reason(
    reason: str | None, missed_tokens: int | None, *, cache_read: int, cache_creation: int
) -> str | None:
    """The API's diagnosis, kept only when the call missed something because of it.

    Diagnostics compare prompt structure whether or not the call hit: an `ask` whose new
    question replaced the last one reports `messages_changed` with nothing missed. A call
    that read and wrote nothing new, or a `*_changed` reason with no tokens missed, is not
    a miss; the app's own reading (`infer_miss_reason`) applies instead.
    """
    if reason is None:
        return None
    if cache_read > 0 and cache_creation == 0:
        return None  # everything marked was read
    if reason.endswith("_changed") and not missed_tokens:
        return None
    if reason in ("unavailable", "previous_message_not_found") and cache_read > 0:
        return None
    return reason
