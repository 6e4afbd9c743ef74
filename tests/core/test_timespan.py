"""One reader of spans and date bounds for every filter, the CLI's and the history screen's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from promptcache_tui.core.timespan import (
    SpanError,
    parse_span,
    positive_span,
    since_bound,
    until_bound,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, seconds",
    [("90s", 90), ("4m", 240), ("2.5m", 150), ("1h", 3600), ("12 h", 43200), ("7d", 604800)],
)
def test_parse_span(text: str, seconds: float) -> None:
    assert parse_span(text) == seconds


def test_a_bare_number_is_seconds_only_where_asked() -> None:
    assert parse_span("45", bare_seconds=True) == 45
    with pytest.raises(SpanError):
        parse_span("45")


@pytest.mark.parametrize("text", ["", "soon", "-5m", "inf", "nan", "1e999", "5x", "9" * 400 + "s"])
def test_nonsense_is_one_clear_error(text: str) -> None:
    with pytest.raises(SpanError) as caught:
        parse_span(text, bare_seconds=True)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 120


def test_the_planner_gap_must_be_longer_than_zero() -> None:
    assert positive_span("1s") == 1 and positive_span("0.5") == 0.5
    for text in ("0", "0m", ""):
        with pytest.raises(SpanError):
            positive_span(text)


def test_since_reads_spans_dates_and_times() -> None:
    assert since_bound("7d", NOW) == "2026-11-19T10:00:00.000000+00:00"
    assert since_bound("2026-11-01", NOW) == "2026-11-01T00:00:00.000000+00:00"
    assert since_bound("2026-11-01T05:30", NOW) == "2026-11-01T05:30:00.000000+00:00"
    assert since_bound("0m", NOW) == NOW.isoformat(timespec="microseconds")


def test_since_at_just_under_and_over_the_first_date() -> None:
    days = (NOW - datetime(1, 1, 1, tzinfo=UTC)).days
    assert since_bound(f"{days}d", NOW).startswith("0001-01-01")
    with pytest.raises(SpanError, match="before the year 1"):
        since_bound(f"{days + 1}d", NOW)
    with pytest.raises(SpanError, match="before the year 1"):
        since_bound("99999999d", NOW)


def test_since_names_the_field_it_reads() -> None:
    with pytest.raises(SpanError, match="invalid 'from' 'soon'"):
        since_bound("soon", NOW, what="'from'")


def test_until_a_date_includes_that_day() -> None:
    assert until_bound("2026-11-26", NOW) == "2026-11-27T00:00:00.000000+00:00"
    assert until_bound("2026-11-26T12:00", NOW) == "2026-11-26T12:00:00.000000+00:00"
    assert until_bound("1d", NOW) == "2026-11-25T10:00:00.000000+00:00"
    assert until_bound("9999-12-31", NOW).startswith("9999-12-31")
    with pytest.raises(SpanError, match="'to'"):
        until_bound("tomorrow", NOW)
