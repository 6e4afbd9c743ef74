"""One list of call columns: the usage panel, the history screen and `history` share it."""

from __future__ import annotations

from dataclasses import replace

from promptcache_tui.core.call_columns import BY_KEY, HISTORY, USAGE_PANEL, cells, columns
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord

NOW = 1795687200.0  # 2026-11-26 10:00:00 UTC


def record(**changes: object) -> CallRecord:
    usage = Usage(
        input_tokens=12,
        cache_creation_input_tokens=8417,
        cache_creation_1h_tokens=8417,
        cache_read_input_tokens=16_842,
        output_tokens=90,
    )
    base = CallRecord(
        ts="2026-11-26T09:59:30.000000+00:00",
        context="alice-demo",
        kind="chat",
        model="claude-sonnet-4-6",
        usage=usage,
        prices=Prices(3.0, 15.0),
        cache_miss_reason="expired",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_what_matters_comes_first_in_every_view() -> None:
    first = ["kind", "writes", "read", "hit", "cost", "saved"]
    for view in (USAGE_PANEL, HISTORY):
        present = [key for key in view if key in first]
        assert present == first
        assert view.index("saved") < view.index("input") < view.index("write_5m")
    assert set(USAGE_PANEL) <= set(HISTORY) | {"time"}


def test_cells_read_the_same_for_every_view(utc: None) -> None:
    call = record()
    panel = dict(zip(USAGE_PANEL, cells(call, columns(USAGE_PANEL), NOW), strict=True))
    history = dict(zip(HISTORY, cells(call, columns(HISTORY), NOW), strict=True))
    assert panel["time"] == "09:59:30" and history["time_utc"] == "2026-11-26 09:59:30"
    for key in set(panel) & set(history):
        assert panel[key] == history[key], key
    assert panel["writes"] == panel["write_1h"] == "8,417" and panel["read"] == "16.8k"
    assert panel["note"] == "expired"


def test_an_unpriced_call_costs_unknown_and_an_error_shows_its_text() -> None:
    call = record(prices=Prices(None, None), status="error", error="overloaded_error: try\nagain")
    assert BY_KEY["cost"].text(call, NOW) == "unknown"
    assert BY_KEY["note"].text(call, NOW) == "overloaded_error: try again"  # one line
