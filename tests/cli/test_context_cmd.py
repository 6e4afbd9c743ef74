"""`context add|list|show|rm`: what a user sees, what is stored, and every error path."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

NOVEL = (
    "It was a bright cold day in the village, and the clocks were striking. "
    "Aria walked down to the harbour to watch the boats come in. "
) * 120

Cli = Callable[..., CliResult]


@pytest.fixture
def novel(tmp_path: Path) -> Path:
    path = tmp_path / "novel.txt"
    path.write_text(NOVEL, encoding="utf-8")
    return path


def contexts_in(home: Path) -> list[str]:
    conn = sqlite3.connect(home / "promptcache.sqlite3")
    try:
        return [r[0] for r in conn.execute("SELECT name FROM contexts ORDER BY name")]
    finally:
        conn.close()


def test_add_then_show_json(cli: Cli, novel: Path, isolated_env: Path) -> None:
    added = cli("context", "add", "book", "--file", str(novel), "--ttl", "1h")
    assert added.code == 0, added.err
    shown = cli("context", "show", "book", "--format", "json")
    assert shown.code == 0, shown.err
    doc = json.loads(shown.out)
    assert doc["name"] == "book" and doc["model"] == "claude-sonnet-4-6"
    assert [b["kind"] for b in doc["blocks"]] == ["document"]
    assert doc["blocks"][0]["name"] == "novel.txt"
    assert doc["blocks"][0]["tokens_estimated"] is True
    [bp] = doc["breakpoints"]
    assert bp["ttl"] == "1h" and bp["block"] == 1
    assert bp["prefix_tokens"] > 1024 and bp["prefix_tokens_estimated"] is True
    assert bp["state"] == "cold" and bp["expires_at"] is None
    assert bp["warnings"] == []
    db = isolated_env / "promptcache.sqlite3"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_data_dir_flag_before_or_after_the_subcommand(
    cli: Cli, novel: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    assert cli("--data-dir", str(elsewhere), "context", "add", "a", "--file", str(novel)).code == 0
    assert cli("context", "add", "b", "--file", str(novel), "--data-dir", str(elsewhere)).code == 0
    assert contexts_in(elsewhere) == ["a", "b"]


def test_list_formats(cli: Cli, novel: Path) -> None:
    cli("context", "add", "book", "--file", str(novel), "--system", "Be brief.")
    table = cli("context", "list")
    assert "book" in table.out and "claude-sonnet-4-6" in table.out
    rows = json.loads(cli("context", "list", "--format", "json").out)
    assert rows[0]["name"] == "book" and rows[0]["blocks"] == 2 and rows[0]["breakpoints"] == 1


def test_empty_list_says_how_to_start(cli: Cli) -> None:
    result = cli("context", "list")
    assert result.code == 0 and "context add" in result.out
    assert json.loads(cli("context", "list", "--format", "json").out) == []


def test_show_table_marks_estimates(cli: Cli, novel: Path) -> None:
    cli("context", "add", "book", "--file", str(novel))
    out = cli("context", "show", "book").out
    assert "novel.txt" in out and "cold" in out and "estimate" in out


def test_small_context_warns_below_minimum(cli: Cli) -> None:
    cli("context", "add", "tiny", "--text", "A short note.")
    [bp] = json.loads(cli("context", "show", "tiny", "--format", "json").out)["breakpoints"]
    [warning] = bp["warnings"]
    assert warning["code"] == "below_minimum" and "1024" in warning["message"]


def test_rm_removes(cli: Cli, novel: Path, isolated_env: Path) -> None:
    cli("context", "add", "book", "--file", str(novel))
    assert cli("context", "rm", "book").code == 0
    assert contexts_in(isolated_env) == []


def assert_one_line_error(result: CliResult, fragment: str) -> None:
    assert result.code != 0
    assert fragment in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"caf\xe9 au lait", "not UTF-8"),
        (b"   \n\n", "is empty"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_created(
    cli: Cli, tmp_path: Path, isolated_env: Path, content: bytes, fragment: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = cli("context", "add", "book", "--file", str(bad))
    assert_one_line_error(result, fragment)
    assert not (isolated_env / "promptcache.sqlite3").exists() or contexts_in(isolated_env) == []


def test_missing_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    assert_one_line_error(
        cli("context", "add", "book", "--file", str(tmp_path / "nope.txt")), "file not found"
    )


def test_one_bad_file_among_good_creates_nothing(
    cli: Cli, novel: Path, tmp_path: Path, isolated_env: Path
) -> None:
    result = cli(
        "context", "add", "book", "--file", str(novel), "--file", str(tmp_path / "missing.txt")
    )
    assert_one_line_error(result, "file not found")
    assert not (isolated_env / "promptcache.sqlite3").exists() or contexts_in(isolated_env) == []


def test_oversized_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)  # sparse: no need to write 21 MB
    assert_one_line_error(cli("context", "add", "big", "--file", str(big)), "too large")


def test_directory_is_refused(cli: Cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("context", "add", "d", "--file", str(tmp_path)), "directory")


@pytest.mark.parametrize("name", [".hidden", "has space", "x" * 65, "semi;colon", "ünï", ""])
def test_invalid_names_are_refused(cli: Cli, novel: Path, name: str) -> None:
    assert_one_line_error(cli("context", "add", name, "--file", str(novel)), "name")


def test_duplicate_is_refused(cli: Cli, novel: Path) -> None:
    cli("context", "add", "book", "--file", str(novel))
    assert_one_line_error(cli("context", "add", "Book", "--file", str(novel)), "already exists")


def test_nothing_to_cache(cli: Cli) -> None:
    assert_one_line_error(cli("context", "add", "book"), "nothing to cache")


def test_bad_ttl_value(cli: Cli, novel: Path) -> None:
    assert_one_line_error(cli("context", "add", "book", "--file", str(novel), "--ttl", "2h"), "2h")


@pytest.mark.parametrize("args", [("context", "show", "ghost"), ("context", "rm", "ghost")])
def test_unknown_context(cli: Cli, args: tuple[str, ...]) -> None:
    assert_one_line_error(cli(*args), "no context named 'ghost'")


def test_unknown_model_warns_but_creates(cli: Cli, novel: Path) -> None:
    result = cli("context", "add", "book", "--file", str(novel), "--model", "claude-future-9")
    assert result.code == 0 and "not in the model catalog" in result.err
    [bp] = json.loads(cli("context", "show", "book", "--format", "json").out)["breakpoints"]
    assert [w["code"] for w in bp["warnings"]] == ["unknown_model"]


def test_corrupt_database_is_reported_with_its_path(cli: Cli, isolated_env: Path) -> None:
    db = isolated_env / "promptcache.sqlite3"
    db.write_bytes(b"garbage" * 100)
    result = cli("context", "list")
    assert_one_line_error(result, str(db))
    assert db.read_bytes() == b"garbage" * 100


def test_show_counts_a_call_made_under_a_models_alias(cli: Cli, tmp_path: Path) -> None:
    # An alias shares its model's cache: a warm-up sent as the dated id warms the context.
    doc = tmp_path / "long.txt"
    doc.write_text(NOVEL * 3, encoding="utf-8")  # over Haiku 4.5's 4,096-token minimum
    added = cli("context", "add", "haiku", "--file", str(doc), "--model", "claude-haiku-4-5")
    assert added.code == 0, added.err
    before = json.loads(cli("context", "show", "haiku", "--format", "json").out)
    assert [bp["state"] for bp in before["breakpoints"]] == ["cold"]
    warmed = cli("warm", "haiku", "--model", "claude-haiku-4-5-20251001")
    assert warmed.code == 0, warmed.err
    after = json.loads(cli("context", "show", "haiku", "--format", "json").out)
    [bp] = after["breakpoints"]
    assert bp["state"] == "warm"
    assert 0 < bp["seconds_left"] <= 300
