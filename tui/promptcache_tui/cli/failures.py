"""How a command ends: its exit code, or one line on stderr saying what went wrong.

Click-free, for both ways in: `cli/main.py` wraps click around `finish`, and the fast
start of the read-only commands (`cli/entry.py`) runs them through `finish` without click.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

from promptcache_tui.core.errors import Interrupted, UserError

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:
    from typing import NoReturn

PROG = "promptcache-tui"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line on stderr (outside text in it made safe, secrets redacted) and exit."""
    from promptcache_tui.cli.output import echo
    from promptcache_tui.core.sanitize import safe_message

    # The terminal may be gone (SIGHUP: it was closed); the exit code still tells.
    with contextlib.suppress(OSError):
        echo(f"{PROG}: error: {safe_message(message)}", err=True)
    sys.exit(code)


def os_error_line(exc: OSError) -> str:
    """An OSError as one line naming the file, e.g. 'cannot use /x: Read-only file system'."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot use {exc.filename}: {reason}" if exc.filename else reason


def finish(run: Callable[[], object]) -> NoReturn:
    """Run a command and exit: with its result if an int (else 0), or with one line for a
    user's mistake (1), a signal (128 + its number), ^C (130) or the file system saying no
    (1). A closed stdout (`| head`) ends it quietly with 0."""
    try:
        result = run()
    except Interrupted as exc:  # a signal: its call (if any) was settled as interrupted
        fail(str(exc), exc.code)
    except UserError as exc:
        fail(str(exc), 1)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        # The reader of stdout left (`| head`): what it asked for. Quietly, and without
        # Python's own complaint when it flushes stdout at exit.
        from promptcache_tui.cli.output import silence_stdout

        silence_stdout()
        sys.exit(0)
    except OSError as exc:  # the file system said no (read-only, full, permissions): one line
        fail(os_error_line(exc), 1)
    sys.exit(result if isinstance(result, int) else 0)
