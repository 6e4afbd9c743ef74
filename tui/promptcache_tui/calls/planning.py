"""The TTL planner fed from the call log: shared by `promptcache-tui plan` and the TUI.

No Textual and no CLI here: the typical gap between a context's calls, the plan for its full
cached prefix, and reading a gap typed by a user.
"""

from __future__ import annotations

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.context import Context
from promptcache_tui.core.planner import Plan, plan, typical_gap
from promptcache_tui.core.records import parse_iso
from promptcache_tui.core.request import context_breakpoints
from promptcache_tui.store import CallFilter, Store

HISTORY_WINDOW = 500  # recent calls used to infer the gap


async def recent_gap(store: Store, ctx: Context) -> float | None:
    """The typical gap between this context's recent chat and ask calls."""
    stamps: list[float] = []
    for kind in ("chat", "ask"):
        rows = await store.calls.history(
            CallFilter(context=ctx.name, kind=kind, status="ok"), limit=HISTORY_WINDOW
        )
        stamps.extend(parse_iso(r.ts) for r in rows)
    return typical_gap(stamps)


def plan_for(
    ctx: Context,
    gap_s: float,
    catalog: Catalog,
    *,
    model: str | None = None,
    ping_lead_s: float = 30.0,
) -> Plan:
    """The planner's rows for the context's full cached prefix at this gap.

    Raises ContextError when the context cannot be sent as it is.
    """
    model = model or ctx.model
    marks = context_breakpoints(ctx, model)
    tokens = marks[-1].prefix_tokens if marks else 0
    info = catalog.get(model)
    return plan(
        tokens,
        gap_s,
        info.input if info else None,
        catalog.multipliers_for(model),  # the model's own cache prices
        ping_lead_s=ping_lead_s,
        batch=catalog.batch,
    )
