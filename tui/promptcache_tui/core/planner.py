"""The TTL planner: expected cost per hour of a cached prefix for a given gap between calls.

Each strategy is costed over one hour of calls, every `gap` seconds, starting cold, counting the
prefix tokens only (the uncached tail and the output cost the same whatever the strategy):

- no caching: every call pays the prefix at the base price;
- 5m: the first call writes (1.25x); while calls come within 5 minutes each one reads (0.1x)
  and refreshes the entry; past 5 minutes every call writes again;
- 1h: the same with a 2x write and a 1-hour life;
- 5m + keep-warm: like 5m, plus a prefill-only ping (a read) just before each expiry, so the
  entry never lapses between calls.

Break-even (with the standard multipliers): 5m pays from the 2nd call within its TTL
(1.25 + 0.1 < 2), 1h from the 3rd (2 + 0.1 + 0.1 < 3); a model's own cache prices move it.

Through the Message Batches API every price is multiplied by the catalog's `batch` (0.5):
each row also carries that cost, except keep-warm (a batch cannot ping on a schedule).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from promptcache_tui.core.catalog import Multipliers

HOUR = 3600.0
FIVE_MIN = 300.0


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One strategy's expected cost per hour."""

    strategy: str  # "none" | "5m" | "1h" | "5m+keep-warm"
    cost_per_hour: float | None  # USD; None when the price is unknown
    calls: int
    writes: int
    reads: int
    pings: int = 0
    batch_cost_per_hour: float | None = None  # the same through the Batches API


@dataclass(frozen=True, slots=True)
class Plan:
    """All strategies for one prefix and gap, with the cheapest marked."""

    gap_s: float
    prefix_tokens: int
    rows: tuple[PlanRow, ...]
    cheapest: str | None
    break_even: str = ""
    batch: float | None = None  # the Batches API's price multiplier


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _pays_from(write: float, read: float) -> int | None:
    """The first call count n at which write + (n - 1) x read < n, or None if never."""
    if read >= 1:
        return None
    n = max(1, math.floor((write - read) / (1 - read)) + 1)
    while write + (n - 1) * read >= n:  # guard the floor against rounding
        n += 1
    return n


def break_even_text(mult: Multipliers) -> str:
    """When each TTL starts paying for itself, with these multipliers."""
    five = _pays_from(mult.cache_write_5m, mult.cache_read)
    hour = _pays_from(mult.cache_write_1h, mult.cache_read)
    if five is None or hour is None:
        return "caching never pays: a read costs as much as uncached input"

    def sums(write: float, n: int) -> str:
        return f"{write:g} + {round((n - 1) * mult.cache_read, 6):g} < {n}"

    return (
        f"5m pays from the {_ordinal(five)} call within 5 minutes "
        f"({sums(mult.cache_write_5m, five)}); "
        f"1h from the {_ordinal(hour)} within an hour ({sums(mult.cache_write_1h, hour)})"
    )


def _cached(calls: int, gap: float, ttl: float) -> tuple[int, int]:
    """(writes, reads) for `calls` calls every `gap` seconds with an entry living `ttl`."""
    if calls == 0:
        return 0, 0
    if gap < ttl:
        return 1, calls - 1
    return calls, 0


def plan(
    prefix_tokens: int,
    gap_s: float,
    base_price: float | None,
    mult: Multipliers | None = None,
    *,
    ping_lead_s: float = 30.0,
    batch: float | None = None,
) -> Plan:
    """Expected cost per hour of each strategy for calls every `gap_s` seconds.

    `mult` are the model's cache multipliers; `batch` the Batches API multiplier, if known.
    """
    mult = mult or Multipliers()
    if gap_s <= 0:
        raise ValueError("the gap between calls must be positive")
    calls = max(1, math.floor(HOUR / gap_s))
    unit = None if base_price is None else prefix_tokens * base_price / 1_000_000

    def money(weight: float) -> float | None:
        return None if unit is None else weight * unit

    rows = [PlanRow("none", money(calls), calls, 0, 0)]
    w5, r5 = _cached(calls, gap_s, FIVE_MIN)
    rows.append(
        PlanRow("5m", money(w5 * mult.cache_write_5m + r5 * mult.cache_read), calls, w5, r5)
    )
    w1, r1 = _cached(calls, gap_s, HOUR)
    rows.append(
        PlanRow("1h", money(w1 * mult.cache_write_1h + r1 * mult.cache_read), calls, w1, r1)
    )
    # Keep-warm pings a little before each expiry; within an hour the pings fill the gaps.
    interval = FIVE_MIN - ping_lead_s
    pings = 0
    if gap_s >= FIVE_MIN:
        per_gap = math.ceil(gap_s / interval) - 1
        pings = min(per_gap * calls, math.ceil(HOUR / interval))
    rows.append(
        PlanRow(
            "5m+keep-warm",
            money(mult.cache_write_5m + (calls - 1 + pings) * mult.cache_read),
            calls,
            1,
            calls - 1,
            pings,
        )
    )
    if batch is not None:
        rows = [
            row
            if row.strategy == "5m+keep-warm" or row.cost_per_hour is None
            else replace(row, batch_cost_per_hour=row.cost_per_hour * batch)
            for row in rows
        ]
    priced = [r for r in rows if r.cost_per_hour is not None]
    cheapest = min(priced, key=lambda r: r.cost_per_hour or 0.0).strategy if priced else None
    return Plan(
        gap_s=gap_s,
        prefix_tokens=prefix_tokens,
        rows=tuple(rows),
        cheapest=cheapest,
        break_even=break_even_text(mult),
        batch=batch,
    )


def typical_gap(timestamps: Sequence[float], *, ignore_over_s: float = 4 * HOUR) -> float | None:
    """The median gap between consecutive calls, ignoring breaks longer than `ignore_over_s`.

    None when fewer than two calls fall within a working session.
    """
    ordered = sorted(timestamps)
    gaps = [b - a for a, b in itertools.pairwise(ordered) if 0 < b - a <= ignore_over_s]
    if not gaps:
        return None
    gaps.sort()
    middle = len(gaps) // 2
    return gaps[middle] if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2
