"""The `promptcache-tui` command: the TUI by default, and headless subcommands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from promptcache_tui import __version__
from promptcache_tui.cli.failures import PROG, fail, finish

__all__ = ["PROG", "cli", "fail", "global_options", "main", "settings_from"]

if TYPE_CHECKING:
    from promptcache_tui.config import Settings

F = TypeVar("F", bound=Callable[..., Any])


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    # Global options may come before or after the subcommand; the last one given wins.
    if value is not None and value is not False:
        ctx.find_root().meta[f"pct.{param.name}"] = value
    return value


def global_options(func: F) -> F:
    """--data-dir and --offline, accepted by the group and every subcommand."""
    func = click.option(
        "--offline",
        is_flag=True,
        default=None,
        expose_value=False,
        callback=_remember,
        help="Use the built-in simulator even when an API key is set.",
    )(func)
    func = click.option(
        "--data-dir",
        # A str (load_settings takes either): `--help` need not import pathlib.
        type=click.Path(file_okay=False),
        default=None,
        expose_value=False,
        callback=_remember,
        is_eager=True,
        help="Where everything is stored (env PROMPTCACHE_TUI_HOME).",
    )(func)
    return func


def settings_from(ctx: click.Context) -> Settings:
    """Settings for this invocation, from the global options and the environment."""
    from promptcache_tui.config import load_settings

    meta = ctx.find_root().meta
    return load_settings(
        meta.get("pct.data_dir"), offline=bool(meta.get("pct.offline")), model=meta.get("pct.model")
    )


# Subcommands load on use: the TUI's first paint must not wait for the SDK, store or server,
# and `--help` lists them from here without importing any. A command is one entry:
#     "name": ("promptcache_tui.cli.module:attribute", "Its help's first sentence."),
# the sentence as its docstring starts (tests/cli/test_cli_start.py checks that it is).
# A bare "module:attribute" works too, but then `--help` imports that command to list it.
SUBCOMMANDS: dict[str, str | tuple[str, str]] = {
    "context": (
        "promptcache_tui.cli.context_cmd:context",
        "Create, list, inspect and remove cached contexts.",
    ),
    "ask": (
        "promptcache_tui.cli.calls_cmd:ask",
        "Ask PROMPT against context NAME (one call, logged as kind ask).",
    ),
    "warm": (
        "promptcache_tui.cli.calls_cmd:warm",
        "Pre-warm NAME's breakpoints with a prefill-only call (logged as kind warm).",
    ),
    "history": ("promptcache_tui.cli.history_cmd:history", "Logged calls, newest first."),
    "stats": (
        "promptcache_tui.cli.history_cmd:stats",
        "Totals per context, model or day: tokens, cost, saving and hit rate.",
    ),
    "plan": (
        "promptcache_tui.cli.plan_cmd:plan_cmd",
        "Expected cost per hour with no caching, 5m, 1h and 5m with keep-warm.",
    ),
    "sim": (
        "promptcache_tui.cli.sim_cmd:sim",
        "Serve the offline Anthropic API simulator over HTTP.",
    ),
    "proxy": (
        "promptcache_tui.cli.proxy_cmd:proxy",
        "Record your own program's API calls: point ANTHROPIC_BASE_URL at this proxy.",
    ),
    "import": (
        "promptcache_tui.cli.import_cmd:import_group",
        "Bring calls made by other tools into the log.",
    ),
    "observed": (
        "promptcache_tui.cli.observed_cmd:observed",
        "Observed traffic: groups of proxied and imported calls, one call in full.",
    ),
    "statusline": (
        "promptcache_tui.cli.statusline_cmd:statusline",
        "Print the session's cache countdown, hit rate and money saved, for Claude Code.",
    ),
}


def command_target(name: str) -> tuple[str, str | None]:
    """The "module:attribute" of a registered subcommand, and its listed help (if given)."""
    entry = SUBCOMMANDS[name]
    return (entry, None) if isinstance(entry, str) else entry


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked (`--help` imports none)."""

    _listing = False  # formatting `--help`: placeholders will do for the list

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS and cmd_name not in self.commands:
            target, listed = command_target(cmd_name)
            if self._listing and listed is not None:
                # Click shortens this exactly as it would the command's own docstring.
                return click.Command(cmd_name, help=listed)
            from importlib import import_module

            module, _, attr = target.partition(":")
            self.add_command(getattr(import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@global_options
@click.option(
    "--model",
    default=None,
    expose_value=False,
    callback=_remember,
    help="Model for this session (default: each context's own).",
)
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """A keyboard-driven terminal dashboard for Anthropic prompt caching.

    Without a subcommand, opens the TUI.
    """
    if ctx.invoked_subcommand is None:
        settings = settings_from(ctx)
        from promptcache_tui.ui.launch import run_tui  # Textual loads only for the TUI

        run_tui(settings)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user mistakes become one line and a non-zero exit code."""

    def run() -> object:
        try:
            return cli.main(args=argv, prog_name=PROG, standalone_mode=False)
        except click.UsageError as exc:
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
            fail(f"{exc.format_message()}{hint}", 2)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:  # click's form of ^C
            fail("interrupted", 130)

    finish(run)
