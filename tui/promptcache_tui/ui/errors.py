"""Exceptions as one line for a notice."""

from __future__ import annotations

from promptcache_tui.core.errors import UserError
from promptcache_tui.core.sanitize import safe_message


def one_line(exc: BaseException) -> str:
    """An exception as one line (user errors are already phrased that way), redacted and
    with control characters made visible."""
    lines = str(exc).strip().splitlines()
    text = safe_message(lines[0]) if lines else ""
    if isinstance(exc, UserError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
