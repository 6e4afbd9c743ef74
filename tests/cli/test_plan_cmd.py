"""`plan`: the TTL planner from the shell, with a given gap or one taken from history."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def book(cli: Cli, tmp_path: Path) -> str:
    path = tmp_path / "book.txt"
    path.write_text("The lighthouse keeper counted ships every night. " * 400)
    assert cli("context", "add", "book", "--file", str(path)).code == 0
    return "book"


def test_plan_with_a_given_gap(cli: Cli, book: str) -> None:
    result = cli("plan", book, "--gap", "10m", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["gap_s"] == 600 and doc["gap_source"] == "given"
    assert doc["cheapest"] == "1h"
    rows = {r["strategy"]: r for r in doc["rows"]}
    unit = doc["prefix_tokens"] * 3.0 / 1e6
    assert rows["none"]["cost_per_hour_usd"] == pytest.approx(6 * unit)
    assert rows["5m"]["cost_per_hour_usd"] == pytest.approx(6 * 1.25 * unit)


def test_plan_takes_the_gap_from_history(cli: Cli, book: str) -> None:
    assert cli("ask", book, "one?").code == 0
    assert cli("ask", book, "two?").code == 0
    doc = json.loads(cli("plan", book, "--format", "json").out)
    assert doc["gap_source"] == "history" and doc["gap_s"] < 60
    table = cli("plan", book).out
    assert "<- cheapest" in table and "break-even" in table


def test_plan_without_history_asks_for_a_gap(cli: Cli, book: str) -> None:
    result = cli("plan", book)
    assert result.code == 2 and "--gap" in result.err


def test_plan_refuses_a_bad_gap(cli: Cli, book: str) -> None:
    result = cli("plan", book, "--gap", "soon")
    assert result.code == 2 and "invalid gap" in result.err


def test_history_context_filter_ignores_case(cli: Cli, book: str) -> None:
    assert cli("ask", book, "one?").code == 0
    rows = json.loads(cli("history", "--context", "BOOK", "--format", "json").out)
    assert [r["context"] for r in rows] == ["book"]
    groups = json.loads(cli("stats", "--context", "Book", "--format", "json").out)
    assert [g["context"] for g in groups] == ["book"]
