"""Reference totals for the store's tests: calls summed in Python, compared field by field."""

from __future__ import annotations

import pytest

from promptcache_tui.core.records import CallRecord
from promptcache_tui.store.calls import Totals


def sum_records(records: list[CallRecord]) -> Totals:
    """The totals of these calls, summed one by one."""
    total = Totals()
    for rec in records:
        cost, u = rec.cost, rec.usage
        total += Totals(
            calls=1,
            input_tokens=u.input_tokens,
            cache_creation_input_tokens=u.cache_creation_input_tokens,
            cache_creation_5m_tokens=u.cache_creation_5m_tokens,
            cache_creation_1h_tokens=u.cache_creation_1h_tokens,
            cache_read_input_tokens=u.cache_read_input_tokens,
            output_tokens=u.output_tokens,
            priced_calls=int(cost.cost_usd is not None),
            cost_usd=cost.cost_usd,
            uncached_cost_usd=cost.uncached_cost_usd,
            saved_usd=cost.saved_usd,
            errors=int(rec.status == "error"),
        )
    return total


def assert_same_totals(a: Totals, b: Totals) -> None:
    """Every count equal; every money figure equal to 1e-9 (or unknown in both)."""
    counts = (
        "calls",
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_creation_5m_tokens",
        "cache_creation_1h_tokens",
        "cache_read_input_tokens",
        "output_tokens",
        "priced_calls",
        "errors",
    )
    assert [getattr(a, n) for n in counts] == [getattr(b, n) for n in counts]
    for name in ("cost_usd", "uncached_cost_usd", "saved_usd"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x == pytest.approx(y, abs=1e-9), name
