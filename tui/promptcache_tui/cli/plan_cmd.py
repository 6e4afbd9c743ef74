"""`promptcache-tui plan NAME`: which TTL is cheapest for the way you call this context."""

from __future__ import annotations

import asyncio

import click

from promptcache_tui.calls.planning import plan_for, recent_gap
from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import emit_json, emit_table, money
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Context
from promptcache_tui.core.planner import parse_gap
from promptcache_tui.core.sanitize import one_line
from promptcache_tui.store import Store


@click.command("plan")
@click.argument("name")
@click.option(
    "--gap",
    default=None,
    help="Time between your calls (90s, 4m, 1h). Default: taken from the history.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@global_options
@click.pass_context
def plan_cmd(ctx: click.Context, name: str, gap: str | None, fmt: str) -> None:
    """Expected cost per hour with no caching, 5m, 1h and 5m with keep-warm."""
    settings = settings_from(ctx)
    try:
        given = parse_gap(gap) if gap is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--gap") from exc

    async def run() -> tuple[Context, float | None]:
        async with await Store.open(settings.db_path) as store:
            found = await store.contexts.require(name)
            return found, given if given is not None else await recent_gap(store, found)

    found, gap_s = asyncio.run(run())
    if gap_s is None:
        raise click.UsageError(f"no calls of {name!r} to infer the gap from: give --gap 4m")
    result = plan_for(found, gap_s, load_catalog(settings.data_dir))
    if fmt == "json":
        emit_json(
            {
                "context": found.name,
                "model": found.model,
                "gap_s": result.gap_s,
                "gap_source": "given" if given is not None else "history",
                "prefix_tokens": result.prefix_tokens,
                "prefix_tokens_estimated": True,
                "cheapest": result.cheapest,
                "break_even": result.break_even,
                "rows": [
                    {
                        "strategy": r.strategy,
                        "cost_per_hour_usd": r.cost_per_hour,
                        "calls": r.calls,
                        "writes": r.writes,
                        "reads": r.reads,
                        "pings": r.pings,
                    }
                    for r in result.rows
                ],
            }
        )
        return
    source = "given" if given is not None else "typical gap in your history"
    click.echo(
        f"{one_line(found.name)}: ~{result.prefix_tokens:,} cached tokens on "
        f"{one_line(found.model)}, "
        f"a call every {gap_s:.0f} s ({source})"
    )
    emit_table(
        ["strategy", "cost / hour", "calls", "writes", "reads", "pings", ""],
        [
            (
                r.strategy,
                money(r.cost_per_hour),
                r.calls,
                r.writes,
                r.reads,
                r.pings,
                "<- cheapest" if r.strategy == result.cheapest else "",
            )
            for r in result.rows
        ],
        right=(1, 2, 3, 4, 5),
    )
    click.echo(f"break-even: {result.break_even}")
