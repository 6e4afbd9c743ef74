"""The TTL planner against hand computations (100k-token prefix on Sonnet, $3/MTok)."""

from __future__ import annotations

import pytest

from promptcache_tui.core.planner import plan

UNIT = 100_000 * 3.0 / 1e6  # $0.30: the prefix once at the base price


def costs(gap: float) -> dict[str, float | None]:
    return {r.strategy: r.cost_per_hour for r in plan(100_000, gap, 3.0).rows}


def test_calls_every_minute() -> None:
    # 60 calls: uncached 60 x; 5m 1 write + 59 reads; 1h 1 write at 2x + 59 reads.
    got = costs(60)
    assert got["none"] == pytest.approx(60 * UNIT)
    assert got["5m"] == pytest.approx((1.25 + 59 * 0.1) * UNIT)
    assert got["1h"] == pytest.approx((2 + 59 * 0.1) * UNIT)
    assert plan(100_000, 60, 3.0).cheapest == "5m"


def test_calls_every_ten_minutes_favour_1h() -> None:
    # 6 calls: the 5m entry lapses between calls, so every call writes.
    got = costs(600)
    assert got["5m"] == pytest.approx(6 * 1.25 * UNIT)
    assert got["1h"] == pytest.approx((2 + 5 * 0.1) * UNIT)
    # keep-warm: 2 pings per 10-minute gap (every 270 s), 12 in the hour.
    assert got["5m+keep-warm"] == pytest.approx((1.25 + (5 + 12) * 0.1) * UNIT)
    assert plan(100_000, 600, 3.0).cheapest == "1h"


def test_one_call_an_hour_is_cheapest_uncached() -> None:
    result = plan(100_000, 3600, 3.0)
    assert result.cheapest == "none"


def test_break_even_points() -> None:
    def cost(gap: float) -> dict[str, float | None]:
        return {r.strategy: r.cost_per_hour for r in plan(1000, gap, 1.0).rows}

    # 5m pays from the 2nd call within its life: 1.25 + 0.1 < 2.
    assert cost(240)["5m"] < cost(240)["none"]  # type: ignore[operator]
    # 1h does not pay with 2 calls an hour (2 + 0.1 > 2) but does with 3 (2 + 0.2 < 3).
    assert cost(1800)["1h"] > cost(1800)["none"]  # type: ignore[operator]
    assert cost(1200)["1h"] < cost(1200)["none"]  # type: ignore[operator]
    assert "2nd call" in plan(1000, 60, 1.0).break_even
    assert "3rd" in plan(1000, 60, 1.0).break_even


def test_unknown_price_gives_no_cost_and_no_winner() -> None:
    result = plan(100_000, 60, None)
    assert all(r.cost_per_hour is None for r in result.rows)
    assert result.cheapest is None


def test_gap_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plan(1000, 0, 3.0)


def test_typical_gap_is_the_median_within_sessions() -> None:
    from promptcache_tui.core.planner import typical_gap

    assert typical_gap([0, 60, 180, 240]) == 60
    assert typical_gap([0, 60, 200, 100_000]) == 100  # the overnight break is ignored
    assert typical_gap([5]) is None


@pytest.mark.parametrize(
    "text, seconds", [("90s", 90), ("4m", 240), ("1h", 3600), ("2.5m", 150), ("45", 45)]
)
def test_parse_gap(text: str, seconds: float) -> None:
    from promptcache_tui.core.planner import parse_gap

    assert parse_gap(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0", "inf", "nan", "1e999"])
def test_parse_gap_refuses_nonsense(text: str) -> None:
    from promptcache_tui.core.planner import parse_gap

    with pytest.raises(ValueError):
        parse_gap(text)
