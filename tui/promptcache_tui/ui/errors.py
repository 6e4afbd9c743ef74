"""Exceptions as one line for a notice."""

from __future__ import annotations

from promptcache_tui.core.errors import UserError


def one_line(exc: BaseException) -> str:
    """An exception as one line (user errors are already phrased that way)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, UserError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
