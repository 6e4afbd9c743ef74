"""`promptcache-tui sim`: serve the offline simulator over HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

import click

from promptcache_tui.core.hosts import is_loopback

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


class SimCommandError(click.ClickException):
    """One line on stderr, then exit 1."""


class RemoteHostRefused(SimCommandError):
    """A non-loopback host without --allow-remote: exit 2, like a usage error."""

    exit_code = 2


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly, so asyncio sets TCP_NODELAY on accepted connections.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    return sock


@click.command("sim")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--data-dir",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the simulator keeps its cache state.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host and any Host header (the simulator accepts any API key).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=None,
    help="Streamed output tokens per second (0: no pacing). "
    "Default: $PROMPTCACHE_TUI_SIM_RATE or 80.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Server processes on the one port (one Python process serves on one core).",
)
@click.pass_context
def sim(
    ctx: click.Context,
    host: str,
    port: int,
    data_dir: Path | None,
    allow_remote: bool,
    rate: float | None,
    workers: int,
) -> None:
    """Serve the offline Anthropic API simulator over HTTP."""
    if not is_loopback(host) and not allow_remote:
        raise RemoteHostRefused(
            f"refusing to bind non-loopback host {host!r} without "
            "--allow-remote (the simulator accepts any API key)"
        )
    if data_dir is None:
        # `--data-dir` given before the subcommand name is kept by the root command.
        root = ctx.find_root()
        given = root.meta.get("pct.data_dir") or root.params.get("data_dir")
        data_dir = Path(given) if given else None
    # Imported here: `--help` and the loopback check stay fast.
    import uvicorn

    from promptcache_tui.config import resolve_data_dir
    from promptcache_tui.core.catalog import CatalogError
    from promptcache_tui.core.errors import UserError
    from promptcache_tui.sim.server import create_app
    from promptcache_tui.sim.state import StateError

    try:
        directory = resolve_data_dir(data_dir)
        app = create_app(directory, rate=rate, allow_remote=allow_remote)
        sock = _bind(host, port)
    except (OSError, ValueError, StateError, CatalogError, UserError) as exc:
        raise SimCommandError(str(exc)) from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    if allow_remote:
        click.echo(
            f"warning: --allow-remote: the simulator accepts any API key; anyone who can reach "
            f"{shown}:{bound} can use it, fault it and reset its cache",
            err=True,
        )
    click.echo(f"promptcache-tui simulator on http://{shown}:{bound} (state in {directory})")
    click.echo(f"use it with: ANTHROPIC_BASE_URL=http://{shown}:{bound} ANTHROPIC_API_KEY=any-key")
    if workers > 1:
        # The app above checked the data dir and the rate; each worker builds its own.
        app.state.sim.close()
        from promptcache_tui.sim.workers import serve_workers

        click.echo(f"{workers} worker processes share the port and the state", err=True)
        serve_workers(sock, workers, directory, rate=rate, allow_remote=allow_remote)
        return
    config = uvicorn.Config(app, lifespan="off", log_level="info", timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        app.state.sim.close()
