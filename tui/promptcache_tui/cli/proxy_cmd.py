"""`promptcache-tui proxy`: the recording proxy for the user's own programs."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import click

from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import money, warn
from promptcache_tui.core.hosts import is_loopback
from promptcache_tui.core.miss import MissExplanation
from promptcache_tui.core.records import CallRecord
from promptcache_tui.core.sanitize import one_line

DEFAULT_HOST = "127.0.0.1"


class RemoteHostRefused(click.UsageError):
    """A non-loopback --host without --allow-remote: exit 2."""


def call_line(record: CallRecord, found: MissExplanation | None) -> str:
    """One line per logged call: time, client, model, outcome, usage, cost, miss."""
    u = record.usage
    parts = [
        record.ts[11:19],
        one_line(record.client or "unknown client"),
        one_line(record.model),
        record.status,
        f"read {u.cache_read_input_tokens:,}",
        f"write {u.cache_creation_input_tokens:,}",
        f"input {u.input_tokens:,}",
        f"output {u.output_tokens:,}",
        money(record.cost.cost_usd),
    ]
    if record.duration_ms is not None:
        parts.append(f"{record.duration_ms / 1000:.1f} s")
    line = " · ".join(parts)
    if record.error:
        line += f" · {one_line(record.error)}"
    elif found is not None and found.code != "first_write":
        line += f" · miss: {one_line(found.summary)}"
    return line


def _check_upstream(upstream: str, host: str, port: int) -> None:
    if upstream == "sim":
        return
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(
            f"{upstream!r} is not an http(s) URL (or 'sim')", param_hint="--upstream"
        )
    default_port = 443 if parts.scheme == "https" else 80
    same_port = (parts.port or default_port) == port
    if same_port and (
        parts.hostname == host or (is_loopback(parts.hostname) and is_loopback(host))
    ):
        raise click.BadParameter(
            f"{upstream} is this proxy itself (unset ANTHROPIC_BASE_URL for the proxy, or "
            "pass --upstream)",
            param_hint="--upstream",
        )


@click.command("proxy")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8788,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--upstream",
    default=None,
    help="Where calls go: a URL, or 'sim' for the built-in simulator. "
    "Default: this process's ANTHROPIC_BASE_URL, else https://api.anthropic.com.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host and Host header (anyone who can reach the port can "
    "use your upstream through it, and their calls are logged here).",
)
@click.option(
    "--no-content",
    is_flag=True,
    help="Keep only hashes and sizes of prompt blocks, not their text.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=None,
    help="With --upstream sim: output tokens per second (0: no pacing).",
)
@click.option("--quiet", is_flag=True, help="Do not print a line per call.")
@global_options
@click.pass_context
def proxy(
    ctx: click.Context,
    host: str,
    port: int,
    upstream: str | None,
    allow_remote: bool,
    no_content: bool,
    rate: float | None,
    quiet: bool,
) -> None:
    """Record your own program's API calls: point ANTHROPIC_BASE_URL at this proxy.

    Every request is forwarded unchanged to the upstream and every /v1/messages call is
    logged with kind proxy. The client's API key goes upstream and is never stored.
    """
    if not is_loopback(host) and not allow_remote:
        raise RemoteHostRefused(
            f"refusing to bind non-loopback host {host!r} without --allow-remote"
        )
    settings = settings_from(ctx)
    from promptcache_tui.observe.server import ProxyServer, choose_upstream

    target = choose_upstream(upstream, settings.base_url)
    _check_upstream(target, host, port)
    if allow_remote:
        warn(
            f"--allow-remote: any machine that can reach {host}:{port} can send calls "
            "through this proxy (with its own key), and they are logged in your data dir"
        )

    def echo(record: CallRecord, found: MissExplanation | None) -> None:
        click.echo(call_line(record, found))

    server = ProxyServer(
        settings.data_dir,
        target,
        db_path=settings.db_path,
        host=host,
        port=port,
        allow_remote=allow_remote,
        keep_content=not no_content,
        sim_rate=rate,
        on_logged=None if quiet else echo,
        log_level="warning",
    )
    try:
        server.listen()
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    where = "the built-in simulator" if target == "sim" else target
    click.echo(f"promptcache-tui proxy on {server.base_url} -> {where}")
    click.echo(f"calls are logged in {settings.db_path}" + (" (no content)" if no_content else ""))
    click.echo(f"use it with: ANTHROPIC_BASE_URL={server.base_url}")
    asyncio.run(server.serve())
