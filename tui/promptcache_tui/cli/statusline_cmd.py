"""`promptcache-tui statusline`: the session's cache in Claude Code's status bar.

The hot path (`statusline [--format text|json] [--data-dir DIR]`, run by Claude Code after
every message) does not come through here: `cli/entry.py` sends it straight to
`observe/statusline.py` without loading click. This command serves `--install`, `--help`
and any other spelling, with the same behaviour.
"""

from __future__ import annotations

from pathlib import Path

import click

from promptcache_tui.cli.main import global_options


@click.command("statusline")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--install",
    is_flag=True,
    help="Add this command as the statusLine of Claude Code's settings "
    "($CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json).",
)
@click.option("--force", is_flag=True, help="With --install: replace a different statusLine.")
@global_options
@click.pass_context
def statusline(ctx: click.Context, fmt: str, install: bool, force: bool) -> None:
    """Print the session's cache countdown, hit rate and money saved, for Claude Code.

    Reads the JSON document Claude Code sends on stdin, logs the session's new calls as
    `import claude-code` does, and prints one line, e.g.
    `cache 4:12 left (1h) · hit 96% · saved $1.23` (--format json: the same facts).
    """
    data_dir: Path | None = ctx.find_root().meta.get("pct.data_dir")
    if install:
        _install(data_dir, force)
        return
    from promptcache_tui.observe.statusline import main

    ctx.exit(main(fmt=fmt, data_dir=data_dir))


def _install(data_dir: Path | None, force: bool) -> None:
    import os

    from promptcache_tui.config import HOME_ENV
    from promptcache_tui.core.sanitize import one_line
    from promptcache_tui.observe.claude_settings import install, statusline_entry

    # A data dir chosen for this run (flag or environment) is written into the command:
    # Claude Code may be started from a shell without that variable.
    chosen = data_dir or (Path(os.environ[HOME_ENV]) if os.environ.get(HOME_ENV) else None)
    done = install(statusline_entry(chosen), force=force)
    where = one_line(str(done.path))
    command = one_line(done.entry.get("command", ""))
    if done.action == "unchanged":
        click.echo(f"{where} already runs it: {command}")
    else:
        click.echo(
            f"{done.action} statusLine in {where}: {command}\n"
            "Claude Code shows it below the prompt in trusted workspaces "
            "(new sessions; a running one once it reloads its settings)."
        )
