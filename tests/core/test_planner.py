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


def test_a_models_own_read_price_changes_the_plan_and_its_break_even() -> None:
    from promptcache_tui.core.catalog import Multipliers

    cheap_reads = Multipliers(1.25, 2.0, 0.025)  # Fable 5.1
    got = {r.strategy: r.cost_per_hour for r in plan(100_000, 60, 10.0, cheap_reads).rows}
    unit = 100_000 * 10.0 / 1e6
    assert got["5m"] == pytest.approx((1.25 + 59 * 0.025) * unit)
    text = plan(100_000, 60, 10.0, cheap_reads).break_even
    assert "(1.25 + 0.025 < 2)" in text and "(2 + 0.05 < 3)" in text
    # Reads nearly as dear as input push the break-even out.
    assert "4th call" in plan(1000, 60, 1.0, Multipliers(1.25, 2.0, 0.9)).break_even
    assert "never pays" in plan(1000, 60, 1.0, Multipliers(1.25, 2.0, 1.0)).break_even


def test_the_planner_knows_the_batch_discount() -> None:
    result = plan(100_000, 60, 3.0, batch=0.5)
    rows = {r.strategy: r for r in result.rows}
    assert result.batch == 0.5
    for strategy in ("none", "5m", "1h"):
        row = rows[strategy]
        assert row.batch_cost_per_hour == pytest.approx(row.cost_per_hour * 0.5)  # type: ignore[operator]
    assert rows["5m+keep-warm"].batch_cost_per_hour is None  # a batch cannot ping on time
    assert all(r.batch_cost_per_hour is None for r in plan(100_000, 60, 3.0).rows)
    assert all(r.batch_cost_per_hour is None for r in plan(100_000, 60, None, batch=0.5).rows)


def test_plan_for_uses_the_models_cache_prices_and_the_catalogs_batch() -> None:
    from promptcache_tui.calls.planning import plan_for
    from promptcache_tui.core.catalog import load_catalog
    from promptcache_tui.core.context import Block, Breakpoint, Context

    ctx = Context(
        name="c",
        model="claude-sonnet-5-5",
        blocks=(Block("document", "word " * 3000, "d.txt"),),
        breakpoints=(Breakpoint(0, "5m"),),
    )
    result = plan_for(ctx, 60, load_catalog())
    rows = {r.strategy: r for r in result.rows}
    unit = result.prefix_tokens * 2.0 / 1e6
    assert rows["5m"].cost_per_hour == pytest.approx((1.25 + 59 * 0.05) * unit)
    assert rows["5m"].batch_cost_per_hour == pytest.approx((1.25 + 59 * 0.05) * unit * 0.5)
