"""`promptcache-tui import claude-code`: Claude Code's transcripts into the call log."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import emit_json, warn
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.errors import UserError
from promptcache_tui.observe.claude_code import ClaudeCodeImporter, ImportSummary
from promptcache_tui.observe.transcripts import default_roots
from promptcache_tui.store import Store


@click.group("import")
def import_group() -> None:
    """Bring calls made by other tools into the log."""


def _summary_line(s: ImportSummary) -> str:
    line = (
        f"imported {s.added:,} call{'s' if s.added != 1 else ''} ({s.errors:,} API errors)"
        f" from {s.files:,} transcript{'s' if s.files != 1 else ''}"
    )
    if s.completed:
        line += f"; completed {s.completed:,}"
    if s.skipped_lines:
        line += f"; skipped {s.skipped_lines:,} malformed lines"
    return line


@import_group.command("claude-code")
@click.option(
    "--path",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="A projects dir, one project's dir, or one transcript "
    "(default: ~/.claude/projects, or $CLAUDE_CONFIG_DIR/projects).",
)
@click.option("--follow", is_flag=True, help="Keep reading new lines as sessions go on.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@global_options
@click.pass_context
def claude_code(ctx: click.Context, path: Path | None, follow: bool, fmt: str) -> None:
    """Log the usage of every API response in Claude Code's session transcripts.

    Each response becomes a call of kind claude-code (one per session group). Importing
    again adds nothing; --follow keeps importing until interrupted.
    """
    settings = settings_from(ctx)
    if path is not None:
        if not path.exists():
            raise UserError(f"{path} does not exist")
        roots = [path]
    else:
        roots = default_roots()
        if not roots:
            raise UserError(
                "no Claude Code transcripts found in ~/.claude/projects "
                "(use --path DIR to name another place)"
            )

    async def run() -> ImportSummary:
        async with await Store.open(settings.db_path) as store:
            importer = ClaudeCodeImporter(store, load_catalog(settings.data_dir))
            summary = await importer.run(roots)
            if follow:
                # Ctrl-C or a plain `kill` ends the follow cleanly, between two passes
                # (even where a background shell started it with SIGINT ignored).
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(signum, stop.set)

                def show(part: ImportSummary) -> None:
                    if fmt == "text":
                        click.echo(_summary_line(part))

                try:
                    if fmt == "text":
                        click.echo(_summary_line(summary) + "; following (Ctrl-C to stop)")
                    summary.add(await importer.follow(roots, on_pass=show, stop=stop))
                finally:
                    for signum in (signal.SIGINT, signal.SIGTERM):
                        loop.remove_signal_handler(signum)
            return summary

    summary = asyncio.run(run())
    for problem in summary.unreadable:
        warn(f"cannot read {problem}")
    if fmt == "json":
        emit_json(
            {
                "files": summary.files,
                "added": summary.added,
                "completed": summary.completed,
                "errors": summary.errors,
                "skipped_lines": summary.skipped_lines,
                "unreadable": summary.unreadable,
            }
        )
    else:
        click.echo(_summary_line(summary) + ("; stopped following" if follow else ""))
