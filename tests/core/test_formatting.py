"""Numbers read the same in the shell and on screen: money, tokens, rates, spans, times."""

from __future__ import annotations

import pytest

from promptcache_tui.core.formatting import (
    counted,
    local_time,
    milliseconds,
    money,
    money_brief,
    percent,
    span,
    tokens,
)
from promptcache_tui.core.timespan import parse_span


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "unknown"),  # the README's promise for a model without a price
        (0.0, "$0.0000"),
        (0.0080, "$0.0080"),
        (-0.0013, "-$0.0013"),
        (0.99994, "$0.9999"),  # just under a dollar: four places
        (0.99995, "$1.00"),  # rounds to a dollar: cents
        (1.0, "$1.00"),
        (1234.5, "$1,234.50"),
        (-12.345, "-$12.35"),
    ],
)
def test_money(value: float | None, text: str) -> None:
    assert money(value) == text


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0, "$0.00"),  # nothing saved yet
        (0.0012, "$0.0012"),  # sub-cent: cents would say $0.00
        (-0.0012, "-$0.0012"),
        (0.00994, "$0.0099"),  # just under a cent
        (0.009996, "$0.01"),  # a cent at four places: cents, not $0.0100
        (0.01, "$0.01"),
        (1.234, "$1.23"),
        (-0.03, "-$0.03"),
        (1234.5, "$1,234.50"),
    ],
)
def test_money_brief_for_a_status_bar(value: float, text: str) -> None:
    assert money_brief(value) == text


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "0"),
        (812, "812"),
        (9_999, "9,999"),  # just under the limit: exact
        (10_000, "10.0k"),  # at it: shortened
        (16_842, "16.8k"),
        (999_999, "1000.0k"),
        (1_000_000, "1.0M"),
        (4_500_000, "4.5M"),
        (1_200_000_000, "1.2B"),
    ],
)
def test_tokens(value: int, text: str) -> None:
    assert tokens(value) == text


def test_percent_has_a_dash_for_no_data() -> None:
    assert percent(None) == "-"
    assert percent(0.0) == "0%" and percent(0.976) == "98%" and percent(1.0) == "100%"


@pytest.mark.parametrize("seconds, text", [(90, "90s"), (240, "4m"), (3600, "1h"), (150, "150s")])
def test_a_span_reads_back_as_itself(seconds: float, text: str) -> None:
    assert span(seconds) == text
    assert parse_span(text) == seconds


def test_milliseconds() -> None:
    assert milliseconds(842.4) == "842 ms" and milliseconds(12_304) == "12,304 ms"


def test_local_time_is_as_short_as_is_unambiguous(utc: None) -> None:
    now = 1795687200.0  # 2026-11-26 10:00:00 UTC
    assert local_time("2026-11-26T09:59:30.000000+00:00", now) == "09:59:30"
    assert local_time("2026-11-25T23:59:59.000000+00:00", now) == "11-25 23:59"
    assert local_time("2025-12-31T10:00:00.000000+00:00", now) == "2025-12-31"
    assert local_time("not a time", now) == "not a time"


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 calls"), (1, "1 call"), (2, "2 calls"), (1204, "1,204 calls")]
)
def test_counted_is_singular_for_one(count: int, text: str) -> None:
    assert counted(count, "call") == text
