"""Reading spans of time and date bounds, for every filter and the planner's gap.

`parse_span` reads 90s, 4m, 2.5m, 1h, 7d or 2w; `since_bound` and `until_bound` turn what a
user typed into a "from" or "to" field (a span back from now, a date, or a date and time)
into the ISO UTC bounds the call log compares with. `core.formatting.span` writes spans the
way they are read here.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.errors import UserError
from promptcache_tui.core.records import iso_utc, parse_iso

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_SPAN = re.compile(r"^([0-9]*\.?[0-9]+)\s*([smhdw])?$")
_DATE_ONLY = 10  # len("2026-11-26")
SPAN_HELP = "a span like 90s, 30m, 12h, 7d or 2w"
BOUND_HELP = f"{SPAN_HELP}, a date (2026-11-01) or a date and time"


class SpanError(UserError, ValueError):
    """What was typed is not a span or a date; the message is one line for the user."""


def _shown(text: str) -> str:
    # Quoted back in the error, but never a screenful of it.
    value = text.strip()
    return repr(value if len(value) <= 40 else value[:39] + "…")


def parse_span(text: str, *, bare_seconds: bool = False) -> float:
    """Seconds in `text`: 90s, 4m, 2.5m, 1h, 7d, 2w (a bare number is seconds only when
    `bare_seconds`). Zero is allowed; negative, infinite or malformed text is a SpanError."""
    value = text.strip().lower()
    match = _SPAN.match(value)
    if match is None or (match.group(2) is None and not bare_seconds):
        raise SpanError(f"invalid span {_shown(text)}: use {SPAN_HELP}")
    seconds = float(match.group(1)) * UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds):
        raise SpanError(f"invalid span {_shown(text)}: it is too long")
    return seconds


def positive_span(text: str, *, what: str = "gap") -> float:
    """A span that must be longer than zero (a bare number is seconds): the planner's gap."""
    if not text.strip():
        raise SpanError(f"type the {what} first: e.g. 90s, 4m or 1h")
    try:
        seconds = parse_span(text, bare_seconds=True)
    except SpanError as exc:
        raise SpanError(f"invalid {what} {_shown(text)}: use e.g. 90s, 4m or 1h") from exc
    if seconds <= 0:
        raise SpanError(f"invalid {what} {_shown(text)}: it must be longer than zero")
    return seconds


def since_bound(text: str, now: datetime | None = None, *, what: str = "--since") -> str:
    """The inclusive lower bound `text` means: `now` minus a span, or a date (its start) or a
    date and time (naive means UTC), as ISO UTC. `what` names the field in errors."""
    now = now or datetime.fromtimestamp(wall_clock(), UTC)
    value = text.strip()
    match = _SPAN.match(value.lower())
    if match is not None and match.group(2) is not None:
        seconds = float(match.group(1)) * UNITS[match.group(2)]
        try:
            return (now - timedelta(seconds=seconds)).isoformat(timespec="microseconds")
        except (OverflowError, ValueError) as exc:  # further back than the year 1
            raise SpanError(
                f"invalid {what} {_shown(value)}: that reaches back before the year 1"
            ) from exc
    try:
        return iso_utc(parse_iso(value))
    except (ValueError, OverflowError, OSError) as exc:
        raise SpanError(f"invalid {what} {_shown(value)}: use {BOUND_HELP}") from exc


def until_bound(text: str, now: datetime | None = None, *, what: str = "'to'") -> str:
    """The exclusive upper bound `text` means: a date means the end of that day (so "to
    2026-11-26" includes the 26th), a date and time that instant, a span that long ago."""
    value = text.strip()
    if len(value) == _DATE_ONLY:
        try:
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            try:
                return (day + timedelta(days=1)).isoformat(timespec="microseconds")
            except OverflowError:
                return iso_utc(parse_iso(value))  # 9999-12-31: nothing is later anyway
    return since_bound(value, now, what=what)
