"""`promptcache-tui ask` and `promptcache-tui warm`: one call each, streamed and logged."""

from __future__ import annotations

import asyncio
import sys

import click

from promptcache_tui.calls.service import CallService
from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import emit_json, money, percent
from promptcache_tui.config import Settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.errors import UserError
from promptcache_tui.core.records import CallRecord
from promptcache_tui.store import Store

TEXT_OR_JSON = click.Choice(["text", "json"])


def summary_line(record: CallRecord) -> str:
    """One line: the usage, cost and cache outcome of a call."""
    u = record.usage
    cost = record.cost
    writes = f"write {u.cache_creation_5m_tokens:,} (5m)"
    if u.cache_creation_1h_tokens:
        writes += f" + {u.cache_creation_1h_tokens:,} (1h)"
    parts = [
        record.model,
        writes,
        f"read {u.cache_read_input_tokens:,}",
        f"input {u.input_tokens:,}",
        f"output {u.output_tokens:,}",
        f"cost {money(cost.cost_usd)} (uncached {money(cost.uncached_cost_usd)}, "
        f"saved {money(cost.saved_usd)})",
        f"hit {percent(u.hit_rate)}",
    ]
    if record.cache_miss_reason:
        parts.append(f"miss: {record.cache_miss_reason}")
    if record.status != "ok":
        parts.append("FAILED")
    return " | ".join(parts)


async def _one_call(
    settings: Settings,
    name: str,
    prompt: str | None,
    kind: str,
    model: str | None,
    stream_text: bool,
) -> CallRecord:
    from promptcache_tui.sim.state import StateError

    catalog = load_catalog(settings.data_dir)
    async with await Store.open(settings.db_path) as store:
        ctx = await store.contexts.require(name)
        service = CallService(settings, store, catalog)
        try:

            def show(text: str) -> None:
                sys.stdout.write(text)
                sys.stdout.flush()

            return await service.run(
                ctx,
                prompt,
                kind=kind,
                model=model or settings.model,
                on_text=show if stream_text else None,
            )
        except StateError as exc:  # the offline simulator's state file is unusable
            raise UserError(str(exc)) from exc
        finally:
            await service.close()


def _finish(record: CallRecord, fmt: str, *, answer: bool) -> None:
    if fmt == "json":
        row = record.public()
        if answer:
            row["answer"] = record.answer
        emit_json(row)
    else:
        if answer and record.answer:
            click.echo("")  # end the streamed answer's line
        click.echo(summary_line(record), err=True)
    if record.status != "ok":
        click.echo(f"promptcache-tui: error: {record.error}", err=True)
        sys.exit(1)


@click.command()
@click.argument("name")
@click.argument("prompt")
@click.option(
    "--format",
    "fmt",
    type=TEXT_OR_JSON,
    default="text",
    show_default=True,
    help="text: stream the answer, usage on stderr; json: the logged call record.",
)
@click.option("--model", default=None, help="Model for this call (default: the context's).")
@global_options
@click.pass_context
def ask(ctx: click.Context, name: str, prompt: str, fmt: str, model: str | None) -> None:
    """Ask PROMPT against context NAME (one call, logged as kind ask)."""
    if not prompt.strip():
        raise click.BadParameter("is empty", param_hint="PROMPT")
    settings = settings_from(ctx)
    record = asyncio.run(_one_call(settings, name, prompt, "ask", model, fmt == "text"))
    _finish(record, fmt, answer=True)


@click.command()
@click.argument("name")
@click.option("--format", "fmt", type=TEXT_OR_JSON, default="text", show_default=True)
@click.option("--model", default=None, help="Model to warm (default: the context's).")
@global_options
@click.pass_context
def warm(ctx: click.Context, name: str, fmt: str, model: str | None) -> None:
    """Pre-warm NAME's breakpoints with a prefill-only call (logged as kind warm)."""
    settings = settings_from(ctx)
    record = asyncio.run(_one_call(settings, name, None, "warm", model, False))
    _finish(record, fmt, answer=False)
