"""What `context list`, `history` and `stats` print, without click.

Scripts and cron jobs run these often, so they start without click when their command line
is plain (`cli/entry.py` reads it); otherwise click parses it (`context_cmd.py`,
`history_cmd.py`) and calls the same functions here. Their options' choices and defaults
live here too, for both parsers.
"""

from __future__ import annotations

import sys

from promptcache_tui.cli.output import echo, emit_json, emit_table, money, percent
from promptcache_tui.store.inline import run_inline

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    from typing import Any

    from promptcache_tui.core.records import CallRecord
    from promptcache_tui.core.settings import Settings
    from promptcache_tui.store import CallFilter, ContextSummary, Store

LIST_FORMATS = ("table", "json")
HISTORY_FORMATS = ("table", "json", "csv")
STATS_FORMATS = ("table", "json")
STATS_BY = ("context", "model", "day")
DEFAULT_LIMIT = 50
MAX_LIMIT = 2**63 - 1  # SQLite's LIMIT is a signed 64-bit integer


def call_filter(
    context_name: str | None,
    model: str | None,
    kind: str | None,
    status: str | None,
    since: str | None,
) -> CallFilter:
    """The calls that `history` and `stats` cover (a bad value is a StoreError)."""
    from promptcache_tui.store import CallFilter, StoreError, parse_since

    for option, value in (("--context", context_name), ("--model", model)):
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:  # argv bytes that were not UTF-8: SQLite would refuse them
            from promptcache_tui.core.sanitize import one_line

            raise StoreError(
                f"invalid {option} '{one_line(value or '')}': not UTF-8 text"
            ) from None
    lower = parse_since(since) if since else None
    return CallFilter(context=context_name, model=model, kind=kind, status=status, since=lower)


async def exact_names(store: Store, filters: CallFilter) -> CallFilter:
    """Context names are case-insensitive: filter by the stored spelling of an existing one."""
    from dataclasses import replace

    if filters.context:
        found = await store.contexts.get(filters.context)
        if found is not None:
            return replace(filters, context=found.name)
    return filters


def list_contexts(settings: Settings, fmt: str) -> None:
    """`context list`: contexts, most recently used first."""
    from promptcache_tui.store import Store

    async def run() -> list[ContextSummary]:
        async with await Store.open(settings.db_path, inline=True) as store:
            return await store.contexts.list()

    rows = run_inline(run())
    if fmt == "json":
        emit_json(
            [
                {
                    "name": r.name,
                    "model": r.model,
                    "blocks": r.blocks,
                    "breakpoints": r.breakpoints,
                    "chars": r.chars,
                    "created_at": r.created_at,
                    "last_used_at": r.last_used_at,
                    "keep_warm": r.keep_warm,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        echo("no contexts yet: promptcache-tui context add NAME --file PATH")
        return
    emit_table(
        ["name", "model", "blocks", "breakpoints", "chars", "last used"],
        [
            (
                r.name,
                r.model,
                r.blocks,
                r.breakpoints,
                f"{r.chars:,}",
                (r.last_used_at or "never")[:19].replace("T", " "),
            )
            for r in rows
        ],
        right=(2, 3, 4),
    )


def history(settings: Settings, filters: CallFilter, limit: int, fmt: str) -> None:
    """`history`: logged calls, newest first, as a table, JSON or CSV."""
    from promptcache_tui.store import Store

    async def run() -> list[CallRecord]:
        async with await Store.open(settings.db_path, inline=True) as store:
            return await store.calls.history(await exact_names(store, filters), limit=limit)

    records = run_inline(run())
    if fmt in ("json", "csv"):
        from promptcache_tui.export import write

        write(records, sys.stdout, fmt)
        return
    if not records:
        echo("no calls logged" + (" for these filters" if filters.where()[0] else ""))
        return
    from promptcache_tui.core.call_columns import HISTORY, cells, columns
    from promptcache_tui.core.clock import wall_clock

    chosen = columns(HISTORY)
    now = wall_clock()
    emit_table(
        [column.title for column in chosen],
        [cells(record, chosen, now) for record in records],
        right=[i for i, column in enumerate(chosen) if column.right],
    )


def stats(settings: Settings, by: str, filters: CallFilter, fmt: str) -> None:
    """`stats`: totals per context, model or day."""
    from promptcache_tui.store import Store

    async def run() -> list[dict[str, Any]]:
        async with await Store.open(settings.db_path, inline=True) as store:
            return await store.calls.stats(by, await exact_names(store, filters))

    groups = run_inline(run())
    if fmt == "json":
        emit_json(groups)
        return
    if not groups:
        echo("no calls logged yet")
        return
    from promptcache_tui.core.formatting import tokens

    emit_table(
        [by, "calls", "input", "writes", "reads", "output", "cost", "uncached", "saved", "hit"],
        [
            (
                g[by],
                g["calls"],
                tokens(g["input_tokens"]),  # shortened as `history` does; JSON stays exact
                tokens(g["cache_creation_input_tokens"]),
                tokens(g["cache_read_input_tokens"]),
                tokens(g["output_tokens"]),
                money(g["cost_usd"]),
                money(g["uncached_cost_usd"]),
                money(g["saved_usd"]),
                percent(g["hit_rate"]),
            )
            for g in groups
        ],
        right=tuple(range(1, 10)),
    )
