"""Costs against the seed walkthrough's numbers (Sonnet at $3 / $15 per MTok)."""

from __future__ import annotations

import pytest

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.cost import Prices, Usage, call_cost, prices_for

SONNET = Prices(input=3.0, output=15.0)


def test_seed_first_call_writes_at_1_25x() -> None:
    usage = Usage.from_counts(
        input_tokens=13,
        cache_creation_input_tokens=1217,
        cache_read_input_tokens=0,
        output_tokens=226,
    )
    cost = call_cost(usage, SONNET)
    assert cost.cost_usd == pytest.approx((13 * 3 + 1217 * 3.75 + 226 * 15) / 1e6)
    assert cost.cost_usd == pytest.approx(0.00799275)
    assert cost.uncached_cost_usd == pytest.approx((1230 * 3 + 226 * 15) / 1e6)
    # A first write costs more than not caching at all.
    assert cost.saved_usd == pytest.approx(-0.00091275)


def test_seed_second_call_reads_at_0_1x() -> None:
    usage = Usage.from_counts(
        input_tokens=16,
        cache_creation_input_tokens=0,
        cache_read_input_tokens=1217,
        output_tokens=60,
    )
    cost = call_cost(usage, SONNET)
    assert cost.cost_usd == pytest.approx(0.0013131)
    assert cost.uncached_cost_usd == pytest.approx(0.004599)
    assert cost.saved_usd == pytest.approx(0.0032859)
    assert usage.hit_rate == pytest.approx(1217 / 1233)


def test_1h_writes_cost_double_not_the_5m_rate() -> None:
    five = call_cost(
        Usage.from_counts(
            cache_creation_input_tokens=1_000_000, ephemeral_5m=1_000_000, ephemeral_1h=0
        ),
        SONNET,
    )
    hour = call_cost(
        Usage.from_counts(
            cache_creation_input_tokens=1_000_000, ephemeral_5m=0, ephemeral_1h=1_000_000
        ),
        SONNET,
    )
    assert five.cost_usd == pytest.approx(3.75)
    assert hour.cost_usd == pytest.approx(6.0)


def test_split_writes_are_priced_separately() -> None:
    usage = Usage.from_counts(
        cache_creation_input_tokens=3000, ephemeral_5m=1000, ephemeral_1h=2000
    )
    assert call_cost(usage, SONNET).cost_usd == pytest.approx((1000 * 3.75 + 2000 * 6) / 1e6)


def test_unsplit_writes_count_as_5m() -> None:
    usage = Usage(cache_creation_input_tokens=1000)
    assert call_cost(usage, SONNET).cost_usd == pytest.approx(1000 * 3.75 / 1e6)


def test_unknown_model_has_unknown_cost_not_zero() -> None:
    catalog = load_catalog()
    prices = prices_for(catalog, "claude-nonexistent-9")
    cost = call_cost(Usage(input_tokens=100, output_tokens=10), prices)
    assert (cost.cost_usd, cost.uncached_cost_usd, cost.saved_usd) == (None, None, None)


def test_model_without_confirmed_price_is_unknown() -> None:
    # Haiku 5.5 is catalogued with no official price.
    prices = prices_for(load_catalog(), "claude-haiku-5-5")
    assert not prices.known
    assert call_cost(Usage(input_tokens=1), prices).cost_usd is None


def test_hit_rate_is_none_without_tokens() -> None:
    assert Usage().hit_rate is None
