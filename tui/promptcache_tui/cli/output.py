"""Printing for the command line: one JSON document, or a readable table.

Click-free at import: the fast start of `context list`, `history` and `stats`
(`cli/entry.py`) prints through here without loading click.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

from promptcache_tui.core.formatting import money, percent
from promptcache_tui.core.sanitize import json_safe, one_line, safe_message

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["echo", "emit_json", "emit_table", "money", "percent", "silence_stdout", "warn"]


def echo(text: str = "", *, err: bool = False) -> None:
    """`text` and a newline on stdout (or stderr), flushed: `click.echo`, once click is loaded.

    Before that (the fast start, which runs only when click would write to these streams
    as they are: `cli/entry.py`), the same write and flush straight to the stream; the text
    holds no escape sequence for click to strip (every cell and message is `one_line`d).
    """
    click = sys.modules.get("click")
    if click is not None:
        click.echo(text, err=err)
        return
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def emit_json(value: Any) -> None:
    """One JSON document on stdout, nothing else."""
    import json  # (a table needs none)

    echo(json_safe(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def emit_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    right: Sequence[int] = (),
) -> None:
    """A plain, aligned text table (fast to import; pipes well)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    if title:
        echo(title)
    echo(line(headers))
    echo(line(["-" * w for w in widths]))
    for row in cells:
        echo(line(row))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    # A newline would break the row, an escape sequence would drive the terminal: show them.
    return one_line(str(value))


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    echo(f"promptcache-tui: warning: {safe_message(message)}", err=True)


def silence_stdout() -> None:
    """Point stdout at /dev/null: its reader left, and Python's final flush must not fail."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
