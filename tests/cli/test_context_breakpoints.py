"""`context add --breakpoint-after N[:TTL]`: up to four breakpoints, the editor's checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
PAGE = "Aria walked down to the harbour every single morning of her long life. " * 150


@pytest.fixture
def parts(tmp_path: Path) -> list[str]:
    """Arguments for five blocks: a system text, three files and a text (block 1..5)."""
    args = ["--system", "Answer from the documents."]
    for name in ("a.txt", "b.txt", "c.txt"):
        path = tmp_path / name
        path.write_text(PAGE, encoding="utf-8")
        args += ["--file", str(path)]
    return [*args, "--text", PAGE]


def _breakpoints(cli: Cli, name: str) -> list[tuple[int, str]]:
    doc = json.loads(cli("context", "show", name, "--format", "json").out)
    return [(bp["block"], bp["ttl"]) for bp in doc["breakpoints"]]


def test_four_breakpoints_with_their_own_ttls(cli: Cli, parts: list[str]) -> None:
    marks = ["2:1h", "3:1h", "4", "5"]
    args = [arg for mark in marks for arg in ("--breakpoint-after", mark)]
    result = cli("context", "add", "four", *parts, *args)
    assert result.code == 0, result.err
    assert "4 breakpoints (after 2: 1h, after 3: 1h, after 4: 5m, after 5: 5m)" in result.err
    assert _breakpoints(cli, "four") == [(2, "1h"), (3, "1h"), (4, "5m"), (5, "5m")]


def test_without_marks_there_is_one_breakpoint_after_the_last_block(
    cli: Cli, parts: list[str]
) -> None:
    assert cli("context", "add", "one", *parts, "--ttl", "1h").code == 0
    assert _breakpoints(cli, "one") == [(5, "1h")]


def test_the_ttl_flag_applies_to_marks_without_their_own(cli: Cli, parts: list[str]) -> None:
    result = cli(
        "context", "add", "mixed", *parts, "--ttl", "1h",
        "--breakpoint-after", "2", "--breakpoint-after", "5:5m",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert _breakpoints(cli, "mixed") == [(2, "1h"), (5, "5m")]


@pytest.mark.parametrize(
    "marks, fragment",
    [
        (["1", "2", "3", "4", "5"], "A maximum of 4 blocks with cache_control"),
        (["0"], "N must be a block number from 1 to 5"),
        (["6"], "N must be a block number from 1 to 5"),
        (["two"], "N must be a block number from 1 to 5"),
        (["3:2h"], "the TTL must be 5m or 1h"),
        (["2", "2"], "two breakpoints on block 2"),
        (["2", "4:1h"], "a 1h breakpoint must come before every 5m breakpoint"),
    ],
)
def test_bad_marks_are_one_line_exit_2_and_nothing_is_stored(
    cli: Cli, parts: list[str], marks: list[str], fragment: str
) -> None:
    args = [arg for mark in marks for arg in ("--breakpoint-after", mark)]
    result = cli("context", "add", "bad", *parts, *args)
    assert result.code == 2, result.err
    [line] = result.err.strip().splitlines()
    assert fragment in line
    assert json.loads(cli("context", "list", "--format", "json").out) == []


def test_a_breakpoint_under_the_minimum_is_a_warning_and_kept(cli: Cli, parts: list[str]) -> None:
    result = cli("context", "add", "small", *parts, "--breakpoint-after", "1")
    assert result.code == 0, result.err
    assert "warning: breakpoint after block 1:" in result.err and "minimum" in result.err
    assert _breakpoints(cli, "small") == [(1, "5m")]


@pytest.mark.parametrize(
    "args",
    [
        ("history", "--since", "soon"),
        ("stats", "--since", "soon"),
        ("context", "add", "x", "--text", "hi", "--ttl", "2h"),
        ("context", "add", "bad name", "--text", "hi"),
        ("ask", "x", ""),
        ("history", "--format", "xml"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 2, result
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [("ask", "ghost", "Q?"), ("context", "show", "ghost"), ("context", "rm", "ghost")],
)
def test_failures_exit_1(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 1, result
    assert len(result.err.strip().splitlines()) == 1
