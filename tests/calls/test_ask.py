"""`ask` and `warm`: offline and live, every call logged with its usage and costs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from promptcache_tui.core.records import PUBLIC_FIELDS
from promptcache_tui.sim.inprocess import InProcessSimulator
from tests.calls.conftest import SECRET, logged_calls, sim_hook
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def expected_cost(row: sqlite3.Row) -> float:
    base, out = 3.0, 15.0  # claude-sonnet-4-6
    return (
        row["input_tokens"] * base
        + row["cache_creation_5m_tokens"] * base * 1.25
        + row["cache_creation_1h_tokens"] * base * 2
        + row["cache_read_input_tokens"] * base * 0.1
        + row["output_tokens"] * out
    ) / 1e6


def test_offline_ask_twice_writes_then_reads(cli: Cli, book: str, isolated_env: Path) -> None:
    first = cli("ask", book, "What was the story about?")
    assert first.code == 0, first.err
    assert first.out.strip(), "the answer streams to stdout"
    assert "write" in first.err and "hit 0%" in first.err
    second = cli("ask", book, "What is the Moonstone?")
    assert second.code == 0, second.err
    first_row, second_row = logged_calls(isolated_env)
    assert first_row["kind"] == "ask" and first_row["status"] == "ok"
    assert first_row["cache_creation_input_tokens"] > 1024
    assert first_row["cache_creation_5m_tokens"] == first_row["cache_creation_input_tokens"]
    assert first_row["cache_read_input_tokens"] == 0
    assert first_row["cache_miss_reason"] == "first write"
    assert second_row["cache_creation_input_tokens"] == 0
    assert second_row["cache_read_input_tokens"] == first_row["cache_creation_input_tokens"]
    assert second_row["cache_miss_reason"] is None
    for row in (first_row, second_row):
        assert row["cost_usd"] == pytest.approx(expected_cost(row))
        assert row["saved_usd"] == pytest.approx(row["uncached_cost_usd"] - row["cost_usd"])
        assert row["price_input"] == 3.0 and row["live"] == 0
        assert row["duration_ms"] > 0 and row["ttft_ms"] is not None
    assert second_row["saved_usd"] > 0 > first_row["saved_usd"]


def test_ask_json_is_one_record(cli: Cli, book: str) -> None:
    result = cli("ask", book, "Who is Aria?", "--format", "json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert set(PUBLIC_FIELDS) <= set(record)
    assert record["kind"] == "ask" and record["context"] == "book"
    assert record["answer"]
    assert record["cost_usd"] is not None


def test_warm_writes_then_ask_reads(cli: Cli, book: str, isolated_env: Path) -> None:
    warmed = cli("warm", book, "--format", "json")
    assert warmed.code == 0, warmed.err
    record = json.loads(warmed.out)
    assert record["kind"] == "warm" and record["output_tokens"] == 0
    assert record["cache_creation_input_tokens"] > 1024
    asked = cli("ask", book, "Where is the lighthouse?", "--format", "json")
    assert json.loads(asked.out)["cache_read_input_tokens"] == record["cache_creation_input_tokens"]
    # A warm-up never becomes part of any conversation.
    conn = sqlite3.connect(isolated_env / "promptcache.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    conn.close()


def test_unknown_context_is_one_line(cli: Cli) -> None:
    result = cli("ask", "ghost", "hello")
    assert result.code == 1 and "no context named 'ghost'" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_empty_prompt_is_refused(cli: Cli, book: str) -> None:
    result = cli("ask", book, "   ")
    assert result.code == 2 and "PROMPT" in result.err


def test_live_path_goes_to_base_url_with_the_key(
    cli: Cli, book: str, isolated_env: Path, live_env: InProcessSimulator
) -> None:
    first = cli("ask", book, "What was the story about?", "--format", "json")
    assert first.code == 0, first.err
    second = cli("ask", book, "And the ending?", "--format", "json")
    rows = logged_calls(isolated_env)
    assert [r["live"] for r in rows] == [1, 1]
    assert json.loads(second.out)["cache_read_input_tokens"] > 0
    # The simulator at ANTHROPIC_BASE_URL, not the local one, holds the cache.
    assert not (isolated_env / "simulator.sqlite3").exists()
    assert (live_env.data_dir / "simulator.sqlite3").exists()


def test_offline_flag_ignores_the_key(
    cli: Cli, book: str, isolated_env: Path, live_env: InProcessSimulator
) -> None:
    result = cli("ask", book, "Hi?", "--offline")
    assert result.code == 0, result.err
    assert logged_calls(isolated_env)[0]["live"] == 0


def test_the_api_key_is_never_written(
    cli: Cli, book: str, isolated_env: Path, live_env: InProcessSimulator
) -> None:
    outputs = [
        cli("ask", book, "Q1?"),
        cli("ask", book, "Q2?", "--format", "json"),
        cli("history", "--format", "json"),
        cli("history", "--format", "csv"),
        cli("stats", "--format", "json"),
        cli("context", "show", book),
    ]
    sim_hook(live_env, "/_sim/faults", {"status": 500, "count": 3})
    outputs.append(cli("ask", book, "Q3?"))
    for result in outputs:
        assert SECRET not in result.out and SECRET not in result.err
    for path in isolated_env.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_max_tokens_setting_caps_the_answer(
    cli: Cli, book: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTCACHE_TUI_MAX_TOKENS", "5")
    record = json.loads(cli("ask", book, "Tell me everything about Aria", "--format", "json").out)
    assert record["output_tokens"] == 5


def test_a_detailed_question_gets_a_long_answer(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log.txt"
    log.write_text(" ".join(f"On day {i} Aria sailed to harbour number {i}." for i in range(300)))
    assert cli("context", "add", "log", "--file", str(log)).code == 0
    monkeypatch.setenv("PROMPTCACHE_TUI_MAX_TOKENS", "8000")
    short = json.loads(cli("ask", "log", "Where did Aria sail?", "--format", "json").out)
    long = json.loads(
        cli("ask", "log", "Tell me everything about where Aria sailed", "--format", "json").out
    )
    assert long["output_tokens"] > 3 * short["output_tokens"]


def test_bad_max_tokens_setting_is_one_line(
    cli: Cli, book: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTCACHE_TUI_MAX_TOKENS", "lots")
    result = cli("ask", book, "Q?")
    assert result.code == 1 and "PROMPTCACHE_TUI_MAX_TOKENS" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_live_context_show_counts_prefix_tokens(
    cli: Cli, book: str, live_env: InProcessSimulator
) -> None:
    doc = json.loads(cli("context", "show", book, "--format", "json").out)
    [bp] = doc["breakpoints"]
    assert bp["prefix_tokens_estimated"] is False
    # The simulator counts with the same rule, so the counted prefix matches the estimate
    # within a few framing tokens.
    estimate = sum(b["tokens"] for b in doc["blocks"])
    assert abs(bp["prefix_tokens"] - estimate) < 20


def test_offline_context_show_estimates(cli: Cli, book: str) -> None:
    [bp] = json.loads(cli("context", "show", book, "--format", "json").out)["breakpoints"]
    assert bp["prefix_tokens_estimated"] is True
