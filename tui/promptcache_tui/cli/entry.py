"""The console entry point: Claude Code's status line straight in, everything else to click.

Claude Code runs `promptcache-tui statusline` after every assistant message, so that one
spelling must start in a few tens of milliseconds: it goes to `observe/statusline.py`
without importing click or the CLI. Anything else (another command, `--help`,
`--install`, an option this parser does not know) goes to `cli/main.py` unchanged.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress


def statusline_args(argv: list[str]) -> dict[str, str | None] | None:
    """`{"fmt": ..., "data_dir": ...}` when `argv` is a plain status-line run, else None.

    Accepted: `[--data-dir DIR] [--offline] statusline [--format text|json]
    [--data-dir DIR] [--offline]` (either `--opt value` or `--opt=value`; the last
    `--data-dir` wins, as in the CLI).
    """
    found: dict[str, str | None] = {"fmt": "text", "data_dir": None}
    seen_command = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg == "statusline" and not seen_command:
            seen_command = True
        elif arg == "--offline":
            pass  # the status line makes no API calls
        elif name == "--data-dir" or (name == "--format" and seen_command):
            if not eq:
                i += 1
                if i >= len(argv):
                    return None
                value = argv[i]
            if name == "--format" and value not in ("text", "json"):
                return None
            if not value or value.startswith("-"):
                return None
            found["fmt" if name == "--format" else "data_dir"] = value
        else:
            return None
        i += 1
    return found if seen_command else None


def main() -> None:
    """`promptcache-tui`."""
    fast = statusline_args(sys.argv[1:])
    if fast is not None:
        from promptcache_tui.observe.statusline import main as statusline

        # Logging goes to a detached child once the line is printed: this process runs
        # nothing else, so forking it is safe, and so is ending it without the interpreter's
        # teardown (a few ms of freeing modules; every file it wrote is closed, stdout
        # flushed).
        code = statusline(fmt=fast["fmt"] or "text", data_dir=fast["data_dir"], background=True)
        with suppress(OSError, ValueError):
            sys.stdout.flush()
        os._exit(code)
    from promptcache_tui.cli.main import main as cli

    cli()
