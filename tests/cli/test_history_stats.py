"""`history` and `stats` through the real entry point: formats, filters, and that they agree."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.core import timespan
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import PUBLIC_FIELDS, CallRecord, iso_utc
from promptcache_tui.store import Store

Run = Callable[..., Any]
BASE = 1795687200.0  # 2026-11-26 10:00 UTC
DAY = 86_400
CONTEXTS = ("book", "code", "faq")
MODELS = {
    "claude-sonnet-4-6": Prices(3.0, 15.0),
    "claude-haiku-4-5": Prices(1.0, 5.0),
    "claude-sonnet-5": Prices(None, None),
}


def _calls() -> list[CallRecord]:
    """90 calls, one every four hours or so over 15 days, three models, some failed."""
    out = []
    for i in range(90):
        model = list(MODELS)[i % 3]
        failed = i % 11 == 4
        at = BASE - (i * 4 * 3600 + (i % 5) * 61)
        out.append(
            CallRecord(
                ts=iso_utc(at),
                kind=("chat", "ask", "warm")[i % 3 - 1 if i % 7 else 2],
                model=model,
                status="error" if failed else "ok",
                context=CONTEXTS[i % 3 - i % 2],
                error="rate_limit_error: slow down" if failed else None,
                usage=Usage()
                if failed
                else Usage.from_counts(
                    input_tokens=10 + i,
                    cache_creation_input_tokens=0 if i % 2 else 3000 + i,
                    cache_read_input_tokens=3000 + i if i % 2 else 0,
                    output_tokens=50 + i,
                    ephemeral_5m=0 if i % 2 else (3000 + i if i % 4 else 0),
                    ephemeral_1h=0 if i % 2 or i % 4 else 3000 + i,
                ),
                prices=MODELS[model],
                cache_miss_reason=None if i % 2 else "first write",
                prompt=f"question {i}",
                answer=f"answer {i}",
            )
        )
    return out


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()

    async def seed() -> None:
        async with await Store.open(path / "promptcache.sqlite3") as store:
            await store.calls.log_many(list(reversed(_calls())))  # oldest first, like a log

    asyncio.run(seed())
    return path


def run_json(cli: Run, *args: str) -> Any:
    result = cli(*args)
    assert result.code == 0, result.err
    return json.loads(result.out)  # one document, nothing else on stdout


def _sum_records(rows: list[dict[str, Any]]) -> dict[str, Any]:
    costs = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    prompt = sum(
        r["input_tokens"] + r["cache_creation_input_tokens"] + r["cache_read_input_tokens"]
        for r in rows
    )
    return {
        "calls": len(rows),
        "input_tokens": sum(r["input_tokens"] for r in rows),
        "cache_creation_input_tokens": sum(r["cache_creation_input_tokens"] for r in rows),
        "cache_read_input_tokens": sum(r["cache_read_input_tokens"] for r in rows),
        "output_tokens": sum(r["output_tokens"] for r in rows),
        "cost_usd": sum(costs) if costs else None,
        "uncached_cost_usd": sum(
            r["uncached_cost_usd"] for r in rows if r["uncached_cost_usd"] is not None
        )
        if costs
        else None,
        "saved_usd": sum(r["saved_usd"] for r in rows if r["saved_usd"] is not None)
        if costs
        else None,
        "hit_rate": sum(r["cache_read_input_tokens"] for r in rows) / prompt if prompt else None,
    }


def _agree(group: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    expected = _sum_records(rows)
    for key, value in expected.items():
        if isinstance(value, float):
            assert group[key] == pytest.approx(value, abs=1e-9), key
        else:
            assert group[key] == value, key


# -- history -------------------------------------------------------------------------------


def test_history_json_is_the_public_records_newest_first(cli: Run, data_dir: Path) -> None:
    rows = run_json(
        cli, "history", "--data-dir", str(data_dir), "--format", "json", "--limit", "1000"
    )
    assert len(rows) == 90
    assert all(list(r) == list(PUBLIC_FIELDS) for r in rows)
    assert [r["ts"] for r in rows] == sorted((r["ts"] for r in rows), reverse=True)
    unknown = [r for r in rows if r["model"] == "claude-sonnet-5"]
    assert unknown and all(r["cost_usd"] is None and r["saved_usd"] is None for r in unknown)
    one_hour = next(r for r in rows if r["cache_creation_1h_tokens"])
    base = MODELS[one_hour["model"]].input or 0
    assert one_hour["cost_usd"] == pytest.approx(
        (
            one_hour["input_tokens"] * base
            + one_hour["cache_creation_1h_tokens"] * base * 2
            + one_hour["output_tokens"] * (MODELS[one_hour["model"]].output or 0)
        )
        / 1e6
    )


def test_history_limit_defaults_to_fifty(cli: Run, data_dir: Path) -> None:
    assert len(run_json(cli, "history", "--data-dir", str(data_dir), "--format", "json")) == 50
    assert (
        len(
            run_json(
                cli, "--data-dir", str(data_dir), "history", "--format", "json", "--limit", "3"
            )
        )
        == 3
    )


def test_history_csv_has_the_same_columns_and_values(cli: Run, data_dir: Path) -> None:
    as_json = run_json(
        cli, "history", "--data-dir", str(data_dir), "--format", "json", "--limit", "1000"
    )
    result = cli("history", "--data-dir", str(data_dir), "--format", "csv", "--limit", "1000")
    assert result.code == 0
    reader = csv.DictReader(io.StringIO(result.out))
    assert reader.fieldnames == list(PUBLIC_FIELDS)
    rows = list(reader)
    assert len(rows) == 90
    for got, want in zip(rows, as_json, strict=True):
        for key, value in want.items():
            assert got[key] == ("" if value is None else str(value)), key


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (("--context", "faq"), lambda r: r["context"] == "faq"),
        (("--model", "claude-haiku-4-5"), lambda r: r["model"] == "claude-haiku-4-5"),
        (("--kind", "warm"), lambda r: r["kind"] == "warm"),
        (("--status", "error"), lambda r: r["status"] == "error" and r["error"]),
        (("--since", "2026-11-20"), lambda r: r["ts"] >= "2026-11-20"),
        (
            ("--since", "2026-11-20T13:30:00Z", "--context", "book"),
            lambda r: r["ts"] >= "2026-11-20T13:30:00" and r["context"] == "book",
        ),
    ],
)
def test_history_filters(
    cli: Run, data_dir: Path, args: tuple[str, ...], check: Callable[[dict[str, Any]], bool]
) -> None:
    everything = run_json(
        cli, "history", "--data-dir", str(data_dir), "--format", "json", "--limit", "1000"
    )
    rows = run_json(
        cli, "history", "--data-dir", str(data_dir), "--format", "json", "--limit", "1000", *args
    )
    assert rows and all(check(r) for r in rows)
    assert len(rows) == sum(1 for r in everything if check(r))


def test_since_a_span_counts_back_from_now(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI's "now" is the clock's: a fixed instant far from the day this was written.
    now = datetime(2031, 3, 10, 12, 0, tzinfo=UTC).timestamp()
    monkeypatch.setattr(timespan, "wall_clock", lambda: now)

    async def seed() -> None:
        async with await Store.open(tmp_path / "promptcache.sqlite3") as store:
            # Two days back: 47.99 h is inside, 48.01 h outside.
            for hours in (1, 30, 47.99, 48.01, 24 * 10):
                await store.calls.log(
                    CallRecord(ts=iso_utc(now - hours * 3600), kind="ask", model="m", context="c")
                )

    asyncio.run(seed())
    assert (
        len(
            run_json(
                cli, "history", "--data-dir", str(tmp_path), "--format", "json", "--since", "2d"
            )
        )
        == 3
    )
    stats = run_json(
        cli, "stats", "--data-dir", str(tmp_path), "--format", "json", "--since", "12h"
    )
    assert [g["calls"] for g in stats] == [1]


def test_history_table_and_empty_messages(cli: Run, data_dir: Path, tmp_path: Path) -> None:
    result = cli("history", "--data-dir", str(data_dir), "--limit", "5")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("time (UTC)") and "cost" in lines[0] and "miss" in lines[0]
    assert len(lines) == 2 + 5
    empty = tmp_path / "empty"
    assert "no calls logged" in cli("history", "--data-dir", str(empty)).out
    filtered = cli("history", "--data-dir", str(data_dir), "--context", "nope")
    assert filtered.out.strip() == "no calls logged for these filters"
    assert run_json(cli, "history", "--data-dir", str(empty), "--format", "json") == []


def test_bad_values_are_one_line_and_non_zero(cli: Run, data_dir: Path) -> None:
    for args in (
        ("history", "--since", "last tuesday"),
        ("stats", "--by", "week"),
        ("history", "--format", "xml"),
        ("history", "--limit", "0"),
    ):
        result = cli(*args, "--data-dir", str(data_dir))
        assert result.code != 0 and result.out == ""
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert "Traceback" not in result.err


# -- stats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["context", "model", "day"])
def test_stats_json_shape(cli: Run, data_dir: Path, by: str) -> None:
    groups = run_json(cli, "stats", "--data-dir", str(data_dir), "--by", by, "--format", "json")
    keys = [g[by] for g in groups]
    assert keys == (sorted(keys, reverse=True) if by == "day" else sorted(keys))
    assert sum(g["calls"] for g in groups) == 90
    for group in groups:
        assert set(group) == {
            by,
            "calls",
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
            "cost_usd",
            "uncached_cost_usd",
            "saved_usd",
            "hit_rate",
        }
    if by == "model":
        unknown = next(g for g in groups if g["model"] == "claude-sonnet-5")
        assert unknown["cost_usd"] is None and unknown["hit_rate"] is not None


def test_stats_table(cli: Run, data_dir: Path, tmp_path: Path) -> None:
    result = cli("stats", "--data-dir", str(data_dir), "--by", "model")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split()[:3] == ["model", "calls", "input"]
    assert any(line.startswith("claude-sonnet-5") and "unknown" in line for line in lines)
    assert "no calls logged yet" in cli("stats", "--data-dir", str(tmp_path / "none")).out


def test_stats_table_shortens_tokens_as_history_does_and_json_stays_exact(
    cli: Run, data_dir: Path
) -> None:
    from promptcache_tui.core.formatting import tokens

    fields = [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "output_tokens",
    ]
    groups = run_json(
        cli, "stats", "--data-dir", str(data_dir), "--by", "model", "--format", "json"
    )
    table = cli("stats", "--data-dir", str(data_dir), "--by", "model").out.splitlines()
    assert any(g["cache_read_input_tokens"] >= 10_000 for g in groups)  # some are shortened
    for group in groups:
        assert all(isinstance(group[f], int) for f in fields)  # JSON: exact counts
        [row] = [line.split() for line in table if line.split()[0] == group["model"]]
        assert row[2:6] == [tokens(group[f]) for f in fields]


# -- agreement -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        (),
        ("--since", "2026-11-20T13:30:00Z"),
        ("--model", "claude-haiku-4-5"),
        ("--status", "ok"),
        ("--kind", "chat", "--since", "2026-11-18"),
    ],
)
def test_history_per_context_agrees_with_stats_by_context(
    cli: Run, data_dir: Path, extra: tuple[str, ...]
) -> None:
    groups = run_json(
        cli, "stats", "--data-dir", str(data_dir), "--by", "context", "--format", "json", *extra
    )
    assert groups
    for group in groups:
        rows = run_json(
            cli,
            "history",
            "--data-dir",
            str(data_dir),
            "--format",
            "json",
            "--limit",
            "100000",
            "--context",
            group["context"],
            *extra,
        )
        _agree(group, rows)
    everything = run_json(
        cli, "history", "--data-dir", str(data_dir), "--format", "json", "--limit", "100000", *extra
    )
    assert sum(g["calls"] for g in groups) == len(everything)


@pytest.mark.parametrize("by", ["model", "day"])
def test_stats_by_model_and_day_agree_with_history(cli: Run, data_dir: Path, by: str) -> None:
    rows = run_json(
        cli,
        "history",
        "--data-dir",
        str(data_dir),
        "--format",
        "json",
        "--limit",
        "100000",
        "--since",
        "2026-11-15T07:00:00Z",
    )
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["model"] if by == "model" else row["ts"][:10]].append(row)
    groups = run_json(
        cli,
        "stats",
        "--data-dir",
        str(data_dir),
        "--by",
        by,
        "--format",
        "json",
        "--since",
        "2026-11-15T07:00:00Z",
    )
    assert {g[by] for g in groups} == set(grouped)
    for group in groups:
        _agree(group, grouped[group[by]])
