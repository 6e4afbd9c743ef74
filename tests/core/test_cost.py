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


# -- prices_for: what a call is billed at, stored with its row ----------------------------------

CATALOG = load_catalog()


def _prices(model: str, **modes: str) -> tuple[float | None, float | None, float, float, float]:
    p = prices_for(CATALOG, model, **modes)
    return (p.input, p.output, p.write_5m, p.write_1h, p.read)


def test_prices_for_a_model_at_the_default_multipliers() -> None:
    assert _prices("claude-sonnet-4-6") == (3.0, 15.0, 1.25, 2.0, 0.1)
    assert _prices("claude-sonnet-4-5-20250929") == (3.0, 15.0, 1.25, 2.0, 0.1)  # an alias


def test_prices_for_a_model_with_its_own_cache_prices() -> None:
    base, out, w5, w1, read = _prices("claude-fable-5-1")
    assert (base, out, w5, w1) == (10.0, 50.0, 1.25, 2.0)
    assert read == pytest.approx(0.025)
    # A million tokens read from Fable 5.1's cache cost $0.25, not $1.00.
    reads = Usage(cache_read_input_tokens=1_000_000)
    assert call_cost(reads, prices_for(CATALOG, "claude-fable-5-1")).cost_usd == pytest.approx(0.25)
    assert call_cost(reads, prices_for(CATALOG, "claude-fable-5")).cost_usd == pytest.approx(1.0)


def test_fast_mode_has_its_own_base_with_the_cache_multipliers_on_top() -> None:
    assert _prices("claude-opus-5", speed="fast") == (10.0, 50.0, 1.25, 2.0, 0.1)
    assert _prices("claude-opus-5", speed="standard") == (5.0, 25.0, 1.25, 2.0, 0.1)
    writes = Usage.from_counts(cache_creation_input_tokens=1_000_000)
    fast = prices_for(CATALOG, "claude-opus-4-8", speed="fast")
    assert call_cost(writes, fast).cost_usd == pytest.approx(12.5)
    # Fast mode on a model without fast-mode prices: unknown, never the standard price.
    assert not prices_for(CATALOG, "claude-sonnet-4-6", speed="fast").known


def test_us_inference_costs_a_tenth_more_on_every_category() -> None:
    base, out, *mult = _prices("claude-opus-5", inference_geo="us")
    assert (base, out) == (pytest.approx(5.5), pytest.approx(27.5))
    assert mult == [1.25, 2.0, 0.1]  # relative to the raised base: writes and reads rise too
    everything = Usage.from_counts(
        input_tokens=100,
        cache_creation_input_tokens=300,
        ephemeral_5m=100,
        ephemeral_1h=200,
        cache_read_input_tokens=400,
        output_tokens=500,
    )
    us = call_cost(everything, prices_for(CATALOG, "claude-opus-5", inference_geo="us"))
    plain = call_cost(everything, prices_for(CATALOG, "claude-opus-5"))
    assert us.cost_usd == pytest.approx(plain.cost_usd * 1.1)  # type: ignore[operator]
    assert _prices("claude-opus-5", inference_geo="global")[:2] == (5.0, 25.0)
    # Haiku 4.5 is older than 4.6: no geo multiplier in the catalog.
    assert _prices("claude-haiku-4-5", inference_geo="us")[:2] == (1.0, 5.0)
    # Both modifiers at once.
    both = _prices("claude-opus-5", speed="fast", inference_geo="us")[:2]
    assert both == (pytest.approx(11.0), pytest.approx(55.0))


def test_batch_tier_is_half_price() -> None:
    assert _prices("claude-sonnet-4-6", service_tier="batch")[:2] == (1.5, 7.5)
    assert _prices("claude-sonnet-4-6", service_tier="standard")[:2] == (3.0, 15.0)


def test_prices_for_unknown_and_unpriced_models() -> None:
    assert _prices("claude-nonexistent-9")[:2] == (None, None)
    assert _prices("claude-mythos-5-2", speed="fast", inference_geo="us")[:2] == (None, None)


def test_user_cache_prices_reach_prices_for(tmp_path) -> None:
    (tmp_path / "models.toml").write_text("[models.claude-sonnet-4-6]\nread = 0.15\nwrite_1h = 9\n")
    p = prices_for(load_catalog(tmp_path), "claude-sonnet-4-6")
    assert (p.input, p.write_5m, p.write_1h) == (3.0, 1.25, 3.0)
    assert p.read == pytest.approx(0.05)
