"""How numbers read, the same in the shell and on every screen: money, tokens, rates, times.

One function per idea: a cost the catalog cannot price reads `unknown` everywhere (the
README's promise), token counts shorten the same way in a table cell and in a total, and a
span of time is written the way `core.timespan` reads it back.
"""

from __future__ import annotations

# No module-level `datetime`: the status line formats money through this module after
# every Claude Code message, and does without that import (see observe/statusline.py).

UNKNOWN = "unknown"  # a cost whose price the catalog does not know (stored as null)
NO_DATA = "-"  # a rate with nothing to divide


def money(value: float | None) -> str:
    """USD: four places under a dollar (calls cost fractions of a cent), cents from a dollar
    up, with thousands separators; `unknown` when the price is unknown."""
    if value is None:
        return UNKNOWN
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if round(amount, 4) < 1:
        return f"{sign}${amount:.4f}"
    return f"{sign}${amount:,.2f}"


def money_brief(value: float) -> str:
    """USD where room is short (a status bar): dollars and cents, and four places only for
    a sub-cent amount, whose cents would read $0.00; `$0.00` for nothing."""
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if amount == 0 or round(amount, 4) >= 0.01:
        return f"{sign}${amount:,.2f}"
    return f"{sign}${amount:.4f}"


def price_per_mtok(value: float | None) -> str:
    """A catalog price in USD per million tokens ($3.00, $0.30); `unknown` when unknown."""
    return UNKNOWN if value is None else f"${value:,.2f}"


def tokens(value: int) -> str:
    """Token counts: exact under 10,000 (812, 8,417), then 16.8k, 4.5M, 1.2B."""
    for threshold, size, suffix in (
        (1_000_000_000, 1_000_000_000, "B"),
        (1_000_000, 1_000_000, "M"),
        (10_000, 1_000, "k"),
    ):
        if value >= threshold:
            return f"{value / size:.1f}{suffix}"
    return f"{value:,}"


def counted(count: int, noun: str) -> str:
    """A count and its noun, singular for one: `1 call`, `2 calls`, `1,204 errors`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def percent(value: float | None) -> str:
    """A rate (0..1) as a whole percentage; `-` where there is no data."""
    return NO_DATA if value is None else f"{value * 100:.0f}%"


def span(seconds: float) -> str:
    """A span of time as `core.timespan.parse_span` reads it back: 1h, 4m or 150s."""
    whole = max(1, round(seconds))
    if whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{whole}s"


def milliseconds(value: float) -> str:
    """A duration measured in milliseconds: 842 ms, 12,304 ms."""
    return f"{value:,.0f} ms"


def local_time(ts: str, now: float) -> str:
    """An ISO timestamp in local time, as short as is unambiguous seen from `now`:
    HH:MM:SS on that day, MM-DD HH:MM earlier in its year, YYYY-MM-DD before (11 cells)."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(ts).astimezone()
    except ValueError:
        return ts[:16]
    today = datetime.fromtimestamp(now).astimezone()
    if moment.date() == today.date():
        return moment.strftime("%H:%M:%S")
    if moment.year == today.year:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%Y-%m-%d")


def utc_time(ts: str) -> str:
    """An ISO timestamp as `YYYY-MM-DD HH:MM:SS` (UTC, as stored)."""
    return ts[:19].replace("T", " ")
