"""`promptcache-tui observed list|show|rename|save`: observed traffic from the shell."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import emit_json, emit_table, money, percent
from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.miss import MissExplanation
from promptcache_tui.core.records import CallRecord
from promptcache_tui.core.sanitize import one_line
from promptcache_tui.store import Store
from promptcache_tui.store.observed import GroupCache, ObservedGroup, PromptNode

FORMAT = click.Choice(["table", "json"])


@click.group()
@global_options
def observed() -> None:
    """Observed traffic: groups of proxied and imported calls, one call in full."""


def _cache_cell(cache: GroupCache) -> str:
    state = cache.state
    return state.countdown() if state.state == "warm" else state.state


def group_json(group: ObservedGroup) -> dict[str, Any]:
    """A group as `observed list --format json` prints it."""
    return {
        "key": group.key,
        "kind": group.kind,
        "name": group.name,
        "client": group.client,
        "model": group.model,
        "project": group.project,
        "calls": group.calls,
        "last_call_id": group.last_call_id,
        "last_ts": group.last_ts,
        "caches": [
            {
                "label": c.label,
                "ttl": c.ttl,
                "state": c.state.state,
                "expires_at": c.state.expires_at,
                "remaining_s": c.state.remaining,
                "prefix_hash": c.prefix_hash,
            }
            for c in group.caches
        ],
    }


@observed.command("list")
@click.option("--kind", type=click.Choice(["proxy", "claude-code"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@global_options
@click.pass_context
def list_cmd(ctx: click.Context, kind: str | None, limit: int, fmt: str) -> None:
    """Observed groups, most recently active first, with their cache countdowns."""
    from promptcache_tui.core.catalog import load_catalog

    settings = settings_from(ctx)
    catalog = load_catalog(settings.data_dir)

    async def run() -> list[ObservedGroup]:
        async with await Store.open(settings.db_path) as store:
            return await store.observed.groups(
                wall_clock(), kind=kind, limit=limit, resolve=catalog.cache_id
            )

    groups = asyncio.run(run())
    if fmt == "json":
        emit_json([group_json(g) for g in groups])
        return
    if not groups:
        click.echo("no observed traffic yet (see: promptcache-tui proxy, import claude-code)")
        return
    emit_table(
        ["group", "kind", "name", "model", "calls", "last call (UTC)", "cache"],
        [
            (
                g.key,
                g.kind,
                one_line(g.name),
                one_line(g.model or "-"),
                g.calls,
                (g.last_ts or "-")[:19].replace("T", " "),
                " ".join(_cache_cell(c) for c in g.caches) or "-",
            )
            for g in groups
        ],
        right=(4,),
    )


@observed.command("rename")
@click.argument("group")
@click.argument("name")
@global_options
@click.pass_context
def rename_cmd(ctx: click.Context, group: str, name: str) -> None:
    """Rename GROUP (its key or its current name) to NAME."""
    settings = settings_from(ctx)

    async def run() -> str:
        async with await Store.open(settings.db_path) as store:
            return await store.observed.rename_group(group, name)

    key = asyncio.run(run())
    click.echo(f"renamed {key}")


def show_json(
    record: CallRecord,
    found: MissExplanation | None,
    nodes: list[PromptNode] | None,
) -> dict[str, Any]:
    """A call in full, as `observed show --format json` prints it."""
    return {
        **record.detail(),
        "miss": found.as_dict() if found else None,
        "prompt": None
        if nodes is None
        else [
            {
                "index": n.index,
                "label": n.label,
                "section": n.section,
                "bytes": n.size,
                "tokens": n.tokens,
                "prefix_hash": n.prefix_hash,
                "content_hash": n.content_hash,
                "stored": n.content is not None,
            }
            for n in nodes
        ],
    }


@observed.command("show")
@click.argument("call_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@global_options
@click.pass_context
def show_cmd(ctx: click.Context, call_id: int, fmt: str) -> None:
    """One logged call in full: usage, breakpoints, its prompt's blocks, why it missed."""
    settings = settings_from(ctx)

    async def run() -> tuple[CallRecord, MissExplanation | None, list[PromptNode] | None]:
        async with await Store.open(settings.db_path) as store:
            record = await store.calls.get(call_id)
            if record is None:
                raise click.ClickException(f"no call with id {call_id}")
            return (
                record,
                await store.observed.miss(call_id),
                await store.observed.prompt(call_id),
            )

    record, found, nodes = asyncio.run(run())
    if fmt == "json":
        emit_json(show_json(record, found, nodes))
        return
    u, cost = record.usage, record.cost
    click.echo(
        f"call {record.id} · {record.kind} · {one_line(record.client or '-')} · "
        f"{one_line(record.model)} · {record.status} · {record.ts[:19].replace('T', ' ')} UTC"
    )
    click.echo(
        f"input {u.input_tokens:,} · write {u.cache_creation_input_tokens:,} "
        f"(5m {u.cache_creation_5m_tokens:,}, 1h {u.cache_creation_1h_tokens:,}) · "
        f"read {u.cache_read_input_tokens:,} · output {u.output_tokens:,} · "
        f"hit {percent(u.hit_rate)} · cost {money(cost.cost_usd)} "
        f"(saved {money(cost.saved_usd)})"
    )
    if record.error:
        click.echo(f"error: {one_line(record.error)}")
    labels = {n.prefix_hash: n.label for n in nodes or []}
    for b in record.breakpoints:
        where = labels.get(b.prefix_hash, "?")
        state = "written or read" if b.cached else "not cached"
        click.echo(
            f"breakpoint {b.position + 1}: {where} ({b.ttl}, ~{b.prefix_tokens:,} tokens) {state}"
        )
    if record.cache_miss_reason:
        click.echo(f"why it missed: {one_line(record.cache_miss_reason)}")
    if found is not None and found.before is not None and found.after is not None:
        click.echo(f"  - {one_line(found.before)}")
        click.echo(f"  + {one_line(found.after)}")
    if nodes:
        sections = {s: sum(1 for n in nodes if n.section == s) for s in ("tools", "system")}
        messages = len({n.message_index for n in nodes if n.section == "messages"})
        size = sum(n.size for n in nodes)
        kept = "" if all(n.content is not None for n in nodes) else " (hashes and sizes only)"
        click.echo(
            f"prompt: {len(nodes)} blocks, {size / 1024:,.0f} KB: {sections['tools']} tools, "
            f"{sections['system']} system blocks, {messages} messages{kept}"
        )


@observed.command("save")
@click.argument("call_id", type=int)
@click.argument("name")
@click.option(
    "--breakpoint",
    "breakpoint_",
    type=click.IntRange(min=1),
    default=None,
    help="Copy up to this breakpoint (1-based; default: the call's last).",
)
@global_options
@click.pass_context
def save_cmd(ctx: click.Context, call_id: int, name: str, breakpoint_: int | None) -> None:
    """Save a proxied call's prefix (tools, system, messages up to a breakpoint) as context
    NAME, to try other breakpoint placements in the editor and the planner."""
    settings = settings_from(ctx)

    async def run() -> Any:
        async with await Store.open(settings.db_path) as store:
            return await store.observed.save_as_context(call_id, name, breakpoint=breakpoint_)

    ctx_saved = asyncio.run(run())
    click.echo(
        f"context {ctx_saved.name}: {len(ctx_saved.blocks)} blocks, "
        f"{len(ctx_saved.breakpoints)} breakpoint(s), model {ctx_saved.model} "
        f"(from call {call_id})"
    )
