"""The console entry point: the commands scripts run often straight in, everything else to
click.

Claude Code runs `promptcache-tui statusline` after every assistant message, and scripts
and cron jobs run `context list`, `history` and `stats`: those spellings must start in a
few tens of milliseconds, and click alone takes about half of that to import. So a plain
status line goes to `observe/statusline.py`, and a plain run of the other three to
`cli/reports.py` (what their click commands call too), without importing click or the CLI.
Anything else (another command, `--help`, `--install`, an option or value these parsers do
not know, a value click would refuse) goes to `cli/main.py` unchanged, so that every
message about a mistake is click's own.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from contextlib import suppress

# Set by a shell asking click to complete a word: click answers, not a command.
COMPLETE_ENV = "_PROMPTCACHE_TUI_COMPLETE"
# The options each fast command takes besides --data-dir and --offline (which the CLI takes
# before the command and after each word of it).
REPORT_OPTIONS: dict[tuple[str, ...], frozenset[str]] = {
    ("context", "list"): frozenset({"--format"}),
    ("history",): frozenset(
        {"--context", "--model", "--kind", "--status", "--since", "--limit", "--format"}
    ),
    ("stats",): frozenset(
        {"--by", "--context", "--model", "--kind", "--status", "--since", "--format"}
    ),
}


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


def report_args(argv: list[str]) -> tuple[tuple[str, ...], dict[str, str]] | None:
    """`(command, options)` when `argv` is a plain run of `context list`, `history` or
    `stats` that click would accept, else None (click then reads it, errors and all).

    Options are `--opt value` or `--opt=value`; the last of each wins, as in click, and
    every one given must be valid. `options` holds the last `--data-dir`, and `--offline`
    (as "1") if given. A value that is empty or starts with "-" goes to click: how it
    reads those is its own business.
    """
    words: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            words.append(arg)
            if tuple(words) not in REPORT_OPTIONS and words != ["context"]:
                return None
            continue
        if arg == "--offline":
            options[arg] = "1"
            continue
        name, eq, value = arg.partition("=")
        command = tuple(words)
        if name != "--data-dir" and name not in REPORT_OPTIONS.get(command, ()):
            return None
        if not eq:
            if i == len(argv):
                return None
            value = argv[i]
            i += 1
        if not value or value.startswith("-") or not _valid(command, name, value):
            return None
        options[name] = value
    command = tuple(words)
    return (command, options) if command in REPORT_OPTIONS else None


def _valid(command: tuple[str, ...], name: str, value: str) -> bool:
    """True if click would take `value` for option `name` of `command`."""
    from promptcache_tui.cli import reports

    if name == "--data-dir":
        return _usable_dir(value)
    if name == "--format":
        return value in (
            reports.LIST_FORMATS
            if command == ("context", "list")
            else reports.HISTORY_FORMATS
            if command == ("history",)
            else reports.STATS_FORMATS
        )
    if name == "--limit":
        # Plain digits only (click's int() also takes " 5", "+5" and "1_0": those go to it).
        return (
            value.isascii()
            and value.isdigit()
            and len(value) <= 19
            and 1 <= int(value) <= reports.MAX_LIMIT
        )
    if name == "--by":
        return value in reports.STATS_BY
    if name in ("--kind", "--status"):
        from promptcache_tui.core.records import IN_FLIGHT, KINDS, STATUSES

        return value in (KINDS if name == "--kind" else (*STATUSES, IN_FLIGHT))
    return True  # --context, --model, --since (read when the command runs)


def _usable_dir(value: str) -> bool:
    """What `click.Path(file_okay=False)` takes: a missing path, or a readable non-file."""
    import stat

    try:
        mode = os.stat(value).st_mode
    except OSError:
        return True  # created when the settings load, as through click
    except ValueError:
        return False  # a NUL byte: whatever click makes of it
    return not stat.S_ISREG(mode) and os.access(value, os.R_OK)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain_streams() -> bool:
    """True when click.echo would write to stdout and stderr as they are (it rewraps a
    missing stream, one without an encoding or error handler, and an ASCII one)."""
    import codecs

    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if stream is None or not encoding or getattr(stream, "errors", None) is None:
            return False
        try:
            if codecs.lookup(encoding).name == "ascii":
                return False
        except LookupError:
            pass
    return True


def fast_report(argv: list[str]) -> Callable[[], object] | None:
    """The command `argv` runs, ready to run here without click, or None for click.

    Nothing has happened yet when it returns: a `--since` click would refuse is found
    here (and left to click to say so), before the settings load or anything prints.
    """
    # On Windows click expands wildcards in the arguments and writes to the console itself.
    if os.name == "nt" or COMPLETE_ENV in os.environ or not _plain_streams():
        return None
    if not all(arg.isascii() or _utf8(arg) for arg in argv):
        return None  # bytes that were not UTF-8 (surrogate escapes): click's to handle
    found = report_args(argv)
    if found is None:
        return None
    command, options = found
    from promptcache_tui.cli import reports

    filters = None
    if command != ("context", "list"):
        from promptcache_tui.store import StoreError

        try:
            filters = reports.call_filter(
                options.get("--context"),
                options.get("--model"),
                options.get("--kind"),
                options.get("--status"),
                options.get("--since"),
            )
        except StoreError:
            return None
    fmt = options.get("--format", "table")

    def run() -> None:
        # As its click command does: the settings, then the report.
        from promptcache_tui.config import load_settings

        settings = load_settings(options.get("--data-dir"), offline="--offline" in options)
        if filters is None:
            reports.list_contexts(settings, fmt)
        elif command == ("history",):
            limit = int(options.get("--limit", reports.DEFAULT_LIMIT))
            reports.history(settings, filters, limit, fmt)
        else:
            reports.stats(settings, options.get("--by", "context"), filters, fmt)

    return run


def run_as_click_would(run: Callable[[], object]) -> int:
    """Run a command and return its exit code, ending it as `cli/main.py` does around
    click (`failures.finish`) and as click's own main does inside it."""
    from promptcache_tui.cli.failures import finish

    def inside_click() -> object:
        import errno

        try:
            return run()
        except (EOFError, KeyboardInterrupt):
            from promptcache_tui.cli.output import echo

            echo("", err=True)  # click's blank line after the terminal's ^C
            raise KeyboardInterrupt from None
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            # A closed stdout (`| head`): click ends quietly with 1, before our main sees it.
            from promptcache_tui.cli.output import silence_stdout

            silence_stdout()
            return 1

    try:
        finish(inside_click)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0


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
    # A fast command's imports allocate enough to set off full collections (a few ms) that
    # find nothing to free; and it exits a moment later, which frees any cycle it leaves.
    gc.disable()
    report = fast_report(sys.argv[1:])
    if report is not None:
        _exit_now(run_as_click_would(report))
    gc.enable()
    from promptcache_tui.cli.main import main as cli

    cli()


def _exit_now(code: int) -> None:
    """Exit with `code`, skipping the interpreter's teardown (freeing every module takes a
    few ms) when nothing is left for it to do: no exit handler, no other thread, streams
    flushed (a flush that fails is left to the interpreter to report, as it would)."""
    import atexit

    threading = sys.modules.get("threading")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        sys.exit(code)
    handlers = getattr(atexit, "_ncallbacks", lambda: 1)()  # (CPython's count; else assume one)
    if handlers == 0 and (threading is None or threading.active_count() == 1):
        os._exit(code)
    sys.exit(code)
