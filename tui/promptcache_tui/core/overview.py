"""A context at a glance: its blocks, and each breakpoint's tokens, cache state and warnings.

Shared by `context show` and the TUI's breakpoint panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promptcache_tui.core.advisor import Warning_, breakpoint_warnings, day_of
from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.context import Context
from promptcache_tui.core.records import iso_utc
from promptcache_tui.core.request import PlannedBreakpoint, context_breakpoints
from promptcache_tui.core.tokens import estimate_text
from promptcache_tui.core.ttl import EntryState, TTLLedger


@dataclass(frozen=True, slots=True)
class BreakpointView:
    """One breakpoint as the user sees it."""

    position: int  # 1-based, in prompt order
    block: int  # 1-based context block it follows
    label: str
    planned: PlannedBreakpoint
    prefix_tokens: int
    estimated: bool
    entry: EntryState
    warnings: tuple[Warning_, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON form for `context show --format json`."""
        return {
            "position": self.position,
            "block": self.block,
            "block_label": self.label,
            "ttl": self.planned.ttl,
            "prefix_tokens": self.prefix_tokens,
            "prefix_tokens_estimated": self.estimated,
            "prefix_hash": self.planned.prefix_hash,
            "state": self.entry.state,
            "expires_at": iso_utc(self.entry.expires_at) if self.entry.expires_at else None,
            "seconds_left": (
                round(self.entry.remaining, 1) if self.entry.remaining is not None else None
            ),
            "warnings": [w.as_dict() for w in self.warnings],
        }


def breakpoint_hashes(ctx: Context, model: str | None = None) -> list[str]:
    """Prefix hashes of the context's breakpoints (to fetch their cache events)."""
    return [bp.prefix_hash for bp in context_breakpoints(ctx, model)]


def breakpoint_views(
    ctx: Context,
    catalog: Catalog,
    ledger: TTLLedger,
    *,
    model: str | None = None,
    prefix_tokens: Sequence[int] | None = None,
    now: float | None = None,
) -> list[BreakpointView]:
    """Each breakpoint with its prefix tokens, ledger state and advisor warnings.

    The day a model's lifecycle is judged on comes from `now`, else the ledger's clock.
    """
    model = model or ctx.model
    planned = context_breakpoints(ctx, model)
    estimated = prefix_tokens is None
    today = day_of(ledger.now() if now is None else now)
    warnings = breakpoint_warnings(
        ctx, catalog, model=model, prefix_tokens=prefix_tokens, estimated=estimated, today=today
    )
    marks = ctx.sorted_breakpoints()
    views = []
    for i, plan in enumerate(planned):
        block = marks[i].block
        views.append(
            BreakpointView(
                position=i + 1,
                block=block + 1,
                label=ctx.blocks[block].label(),
                planned=plan,
                prefix_tokens=prefix_tokens[i] if prefix_tokens else plan.prefix_tokens,
                estimated=estimated,
                entry=ledger.state(model, plan.prefix_hash, now),
                warnings=tuple(warnings[i]) if i < len(warnings) else (),
            )
        )
    return views


def context_json(ctx: Context, catalog: Catalog, views: Sequence[BreakpointView]) -> dict[str, Any]:
    """`context show --format json`: the context, its blocks and its breakpoints."""
    info = catalog.get(ctx.model)
    return {
        "name": ctx.name,
        "model": ctx.model,
        "model_known": info is not None,
        "min_cache_tokens": info.min_cache_tokens if info else None,
        "deprecated_on": info.deprecated_on.isoformat() if info and info.deprecated_on else None,
        "retires_on": info.retires_on.isoformat() if info and info.retires_on else None,
        "replacement": info.replacement if info else None,
        "context_window": info.context_window if info else None,
        "keep_warm": ctx.keep_warm,
        "created_at": ctx.created_at,
        "last_used_at": ctx.last_used_at,
        "blocks": [
            {
                "position": i + 1,
                "kind": b.kind,
                "name": b.name or None,
                "role": b.role if b.kind == "example" else None,
                "chars": len(b.text),
                "tokens": estimate_text(b.text),
                "tokens_estimated": True,
            }
            for i, b in enumerate(ctx.blocks)
        ],
        "breakpoints": [v.as_json() for v in views],
    }
