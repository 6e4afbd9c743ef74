"""`promptcache-tui context add|list|show|rm`.

Each command imports what it uses when it runs: `context list` needs the store, not the
advisor, the catalog or the TTL ledger (`tests/cli/test_cli_start.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from promptcache_tui.cli import reports
from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import emit_json, emit_table, warn
from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.sanitize import one_line
from promptcache_tui.store.inline import run_inline

if TYPE_CHECKING:
    from promptcache_tui.core.context import Block, Breakpoint, Context
    from promptcache_tui.core.ttl import TTLLedger

FORMAT = click.Choice(["table", "json"])


@click.group()
@global_options
def context() -> None:
    """Create, list, inspect and remove cached contexts."""


@context.command("add")
@click.argument("name")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A UTF-8 text file to cache (repeatable).",
)
@click.option("--text", "texts", multiple=True, help="Inline text to cache (repeatable).")
@click.option("--system", default=None, help="Instructions placed first in the system prompt.")
@click.option(
    "--tools",
    "tools_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A JSON file with a list of tool definitions.",
)
@click.option(
    "--ttl",
    type=click.Choice(["5m", "1h"]),
    default="5m",
    show_default=True,
    help="TTL of each breakpoint that does not name its own.",
)
@click.option(
    "--breakpoint-after",
    "marks",
    multiple=True,
    metavar="N[:TTL]",
    help="A breakpoint after block N (1 = the first, as `context show` numbers them), "
    "optionally with its TTL (3:1h). Repeatable, up to 4. Default: one after the last block.",
)
@click.option("--model", default=None, help="Default model (default: claude-sonnet-4-6).")
@global_options
@click.pass_context
def add_cmd(
    ctx: click.Context,
    name: str,
    files: tuple[Path, ...],
    texts: tuple[str, ...],
    system: str | None,
    tools_file: Path | None,
    ttl: str,
    marks: tuple[str, ...],
    model: str | None,
) -> None:
    """Create context NAME from files, text and instructions, with up to 4 breakpoints.

    Blocks are numbered in the order they are sent: tools, system, each --file, each --text.
    """
    from promptcache_tui.core.advisor import breakpoint_warnings, context_warnings, day_of
    from promptcache_tui.core.catalog import load_catalog
    from promptcache_tui.core.context import (
        Block,
        Context,
        ContextError,
        check_context,
        parse_tools,
        validate_name,
    )
    from promptcache_tui.documents import read_text_file
    from promptcache_tui.store import Store

    settings = settings_from(ctx)
    try:
        validate_name(name)
    except ContextError as exc:
        raise click.UsageError(str(exc)) from exc  # a bad argument: exit 2
    blocks: list[Block] = []
    if tools_file is not None:
        text = read_text_file(tools_file)
        parse_tools(text)
        blocks.append(Block(kind="tools", text=text, name=tools_file.name))
    if system is not None:
        if not system.strip():
            raise click.BadParameter("is empty", param_hint="--system")
        blocks.append(Block(kind="system", text=system))
    # Read and check every file before anything is stored: all or nothing.
    blocks.extend(Block(kind="document", text=read_text_file(p), name=p.name) for p in files)
    for i, text in enumerate(texts, start=1):
        if not text.strip():
            raise click.BadParameter("is empty", param_hint="--text")
        blocks.append(
            Block(kind="document", text=text, name=f"text-{i}" if len(texts) > 1 else "text")
        )
    if not blocks:
        raise click.UsageError("nothing to cache: give --file, --text or --system")
    from promptcache_tui.config import DEFAULT_MODEL

    chosen = model or settings.model or DEFAULT_MODEL
    breakpoints = _breakpoints(marks, ttl, len(blocks))
    new = Context(name=name, model=chosen, blocks=tuple(blocks), breakpoints=breakpoints)
    # The editor's checks: a problem refuses the context, a warning is said and kept.
    problems = check_context(new)
    if problems:
        raise click.UsageError(problems[0])
    catalog = load_catalog(settings.data_dir)

    async def run() -> Context:
        async with await Store.open(settings.db_path, inline=True) as store:
            return await store.contexts.add(new)

    saved = run_inline(run())
    # Said once the context exists (a refused one gets its one error line only).
    if catalog.get(chosen) is None:
        warn(f"{one_line(chosen)} is not in the model catalog: costs will show as unknown")
    today = day_of(wall_clock())
    whole = context_warnings(new, catalog, today=today)  # retired or retiring model, too long
    for found in whole:
        warn(f"{found.code}: {found.message}")
    said = {found.code for found in whole}  # listed again with the first breakpoint
    each = breakpoint_warnings(new, catalog, today=today)
    for bp, own in zip(new.sorted_breakpoints(), each, strict=False):
        for warning in own:
            if warning.code not in said:
                warn(f"breakpoint after block {bp.block + 1}: {warning.message}")
    placed = ", ".join(f"after {bp.block + 1}: {bp.ttl}" for bp in saved.sorted_breakpoints())
    count = len(saved.breakpoints)
    click.echo(
        f"created context {one_line(saved.name)}: {len(blocks)} block(s), "
        f"{count} breakpoint{'s' if count > 1 else ''} ({placed}), model {one_line(chosen)}",
        err=True,
    )


def _breakpoints(marks: tuple[str, ...], ttl: str, blocks: int) -> tuple[Breakpoint, ...]:
    """`--breakpoint-after N[:TTL]` values as breakpoints (bad values are usage errors)."""
    from promptcache_tui.core.context import Breakpoint, as_ttl

    if not marks:
        return (Breakpoint(block=blocks - 1, ttl=as_ttl(ttl)),)
    out = []
    for raw in marks:
        number, _, own = raw.partition(":")
        try:
            position = int(number)
        except ValueError:
            position = 0
        if not 1 <= position <= blocks:
            raise click.BadParameter(
                f"{one_line(raw)!r}: N must be a block number from 1 to {blocks}",
                param_hint="--breakpoint-after",
            )
        if own and own not in ("5m", "1h"):
            raise click.BadParameter(
                f"{one_line(raw)!r}: the TTL must be 5m or 1h", param_hint="--breakpoint-after"
            )
        out.append(Breakpoint(block=position - 1, ttl=as_ttl(own or ttl)))
    return tuple(out)


@context.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(reports.LIST_FORMATS), default="table", show_default=True
)
@global_options
@click.pass_context
def list_cmd(ctx: click.Context, fmt: str) -> None:
    """List contexts, most recently used first."""
    reports.list_contexts(settings_from(ctx), fmt)


@context.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@global_options
@click.pass_context
def show_cmd(ctx: click.Context, name: str, fmt: str) -> None:
    """Show a context's blocks and each breakpoint's tokens, cache state and warnings."""
    import asyncio  # live, it counts tokens with the API: a real event loop

    from promptcache_tui.core.catalog import load_catalog
    from promptcache_tui.core.overview import breakpoint_hashes, breakpoint_views, context_json
    from promptcache_tui.core.tokens import estimate_text
    from promptcache_tui.core.ttl import TTLLedger
    from promptcache_tui.store import Store

    settings = settings_from(ctx)
    catalog = load_catalog(settings.data_dir)

    async def run() -> tuple[Context, TTLLedger, list[int] | None]:
        async with await Store.open(settings.db_path) as store:
            found = await store.contexts.require(name)
            ledger = TTLLedger(wall_clock, resolve=catalog.cache_id)  # aliases share a cache
            ledger.record_all(await store.calls.cache_events(breakpoint_hashes(found)))
            counted = None
            if settings.live:  # real counts from count_tokens; offline, estimates
                from promptcache_tui.calls.service import CallService

                service = CallService(settings, store, catalog)
                try:
                    counted = await service.counted_prefix_tokens(found)
                finally:
                    await service.close()
            return found, ledger, counted

    found, ledger, counted = asyncio.run(run())
    views = breakpoint_views(found, catalog, ledger, prefix_tokens=counted)
    if fmt == "json":
        emit_json(context_json(found, catalog, views))
        return
    info = catalog.get(found.model)
    minimum = info.min_cache_tokens if info else None
    click.echo(
        f"{one_line(found.name)}  model {one_line(found.model)}"
        f"  (cache minimum {minimum if minimum else 'unknown'} tokens)"
    )
    emit_table(
        ["#", "block", "chars", "~tokens"],
        [
            (i + 1, b.label(), f"{len(b.text):,}", f"{estimate_text(b.text):,}")
            for i, b in enumerate(found.blocks)
        ],
        right=(0, 2, 3),
    )
    click.echo("")
    emit_table(
        [
            "bp",
            "after block",
            "ttl",
            "prefix tokens" if counted else "~prefix tokens",
            "state",
            "left",
        ],
        [
            (
                v.position,
                v.block,
                v.planned.ttl,
                f"{v.prefix_tokens:,}",
                v.entry.state,
                v.entry.countdown(),
            )
            for v in views
        ],
        right=(0, 1, 3),
    )
    for v in views:
        for w in v.warnings:
            click.echo(f"  bp {v.position}: {w.code}: {one_line(w.message)}")
    click.echo(
        "(~ estimated offline, counted with count_tokens live; "
        "states are estimates from the logged calls)"
    )


@context.command("rm")
@click.argument("name")
@global_options
@click.pass_context
def rm_cmd(ctx: click.Context, name: str) -> None:
    """Delete a context and its conversations (its calls stay in the history)."""
    from promptcache_tui.store import Store

    settings = settings_from(ctx)

    async def run() -> bool:
        async with await Store.open(settings.db_path, inline=True) as store:
            await store.contexts.require(name)
            return await store.contexts.delete(name)

    run_inline(run())
    click.echo(f"removed context {one_line(name)}", err=True)
