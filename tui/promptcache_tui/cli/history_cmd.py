"""`promptcache-tui history` and `promptcache-tui stats`."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import emit_json, emit_table, money, percent
from promptcache_tui.core.records import IN_FLIGHT, KINDS, STATUSES
from promptcache_tui.store import CallFilter, Store, StoreError, parse_since
from promptcache_tui.store.inline import run_inline

if TYPE_CHECKING:
    from promptcache_tui.core.records import CallRecord


def filter_options(func: Any) -> Any:
    """--context, --model, --kind, --status, --since shared by history and stats."""
    for option in reversed(
        [
            click.option("--context", "context_name", default=None, help="Only this context."),
            click.option("--model", default=None, help="Only this model."),
            click.option("--kind", type=click.Choice(KINDS), default=None),
            click.option("--status", type=click.Choice([*STATUSES, IN_FLIGHT]), default=None),
            click.option("--since", default=None, help="7d, 12h, 30m or an ISO date."),
        ]
    ):
        func = option(func)
    return func


def make_filter(
    context_name: str | None,
    model: str | None,
    kind: str | None,
    status: str | None,
    since: str | None,
) -> CallFilter:
    """A CallFilter from command-line values (a bad --since is a usage error: exit 2)."""
    try:
        lower = parse_since(since) if since else None
    except StoreError as exc:
        raise click.UsageError(str(exc)) from exc
    return CallFilter(context=context_name, model=model, kind=kind, status=status, since=lower)


async def exact_names(store: Store, filters: CallFilter) -> CallFilter:
    """Context names are case-insensitive: filter by the stored spelling of an existing one."""
    if filters.context:
        found = await store.contexts.get(filters.context)
        if found is not None:
            return replace(filters, context=found.name)
    return filters


@click.command()
@filter_options
# SQLite's LIMIT is a signed 64-bit integer.
@click.option("--limit", type=click.IntRange(min=1, max=2**63 - 1), default=50, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@global_options
@click.pass_context
def history(
    ctx: click.Context,
    context_name: str | None,
    model: str | None,
    kind: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    fmt: str,
) -> None:
    """Logged calls, newest first."""
    settings = settings_from(ctx)
    filters = make_filter(context_name, model, kind, status, since)

    async def run() -> list[CallRecord]:
        async with await Store.open(settings.db_path, inline=True) as store:
            return await store.calls.history(await exact_names(store, filters), limit=limit)

    records = run_inline(run())
    if fmt in ("json", "csv"):
        from promptcache_tui.export import write

        write(records, sys.stdout, fmt)
        return
    if not records:
        click.echo("no calls logged" + (" for these filters" if filters.where()[0] else ""))
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


@click.command()
@click.option(
    "--by", type=click.Choice(["context", "model", "day"]), default="context", show_default=True
)
@filter_options
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@global_options
@click.pass_context
def stats(
    ctx: click.Context,
    by: str,
    context_name: str | None,
    model: str | None,
    kind: str | None,
    status: str | None,
    since: str | None,
    fmt: str,
) -> None:
    """Totals per context, model or day: tokens, cost, saving and hit rate."""
    settings = settings_from(ctx)
    filters = make_filter(context_name, model, kind, status, since)

    async def run() -> list[dict[str, Any]]:
        async with await Store.open(settings.db_path, inline=True) as store:
            return await store.calls.stats(by, await exact_names(store, filters))

    groups = run_inline(run())
    if fmt == "json":
        emit_json(groups)
        return
    if not groups:
        click.echo("no calls logged yet")
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
