"""`promptcache-tui history` and `promptcache-tui stats` (what they print: `cli/reports.py`)."""

from __future__ import annotations

from typing import Any

import click

from promptcache_tui.cli import reports
from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.core.records import IN_FLIGHT, KINDS, STATUSES
from promptcache_tui.store import CallFilter, StoreError


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
        return reports.call_filter(context_name, model, kind, status, since)
    except StoreError as exc:
        raise click.UsageError(str(exc)) from exc


@click.command()
@filter_options
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=reports.MAX_LIMIT),
    default=reports.DEFAULT_LIMIT,
    show_default=True,
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(reports.HISTORY_FORMATS),
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
    reports.history(settings, make_filter(context_name, model, kind, status, since), limit, fmt)


@click.command()
@click.option("--by", type=click.Choice(reports.STATS_BY), default="context", show_default=True)
@filter_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(reports.STATS_FORMATS),
    default="table",
    show_default=True,
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
    reports.stats(settings, by, make_filter(context_name, model, kind, status, since), fmt)
