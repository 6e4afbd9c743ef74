"""Storage and values: a database checked before it is touched, odd files at its path,
absurd prices, spans and limits, a base URL that is not one. One line each, exit 2 for a
bad command line and 1 for a failure; nothing changed on disk."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from promptcache_tui.store.database import APPLICATION_ID
from promptcache_tui.store.migrations import MIGRATIONS, SCHEMA_VERSION
from tests.reliability.conftest import Cli, assert_one_line_error

DB_NAME = "promptcache.sqlite3"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _companions(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.startswith(DB_NAME + "-"))


def _rollback_journal_db(path: Path, *, version: int, app_id: int = 0) -> None:
    conn = sqlite3.connect(path)
    for script in MIGRATIONS:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"PRAGMA application_id = {app_id}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "version, app_id, fragment",
    [
        (SCHEMA_VERSION + 1, APPLICATION_ID, "newer promptcache-tui"),
        (SCHEMA_VERSION + 40, 0, "newer promptcache-tui"),
        (SCHEMA_VERSION, 0x12345678, "another program"),
    ],
    ids=["newer", "much-newer", "foreign-id"],
)
def test_a_newer_or_foreign_database_is_refused_before_anything_is_written(
    cli: Cli, isolated_env: Path, version: int, app_id: int, fragment: str
) -> None:
    db = isolated_env / DB_NAME
    _rollback_journal_db(db, version=version, app_id=app_id)
    before = _digest(db)
    for args in (("context", "list"), ("history",), ("context", "add", "x", "--text", "hi")):
        assert_one_line_error(cli(*args), str(db), fragment, "left untouched")
    assert _digest(db) == before
    assert _companions(isolated_env) == []  # no -wal, no -shm: not switched to WAL
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_our_current_database_carries_our_application_id(cli: Cli, isolated_env: Path) -> None:
    assert cli("context", "list").code == 0
    conn = sqlite3.connect(isolated_env / DB_NAME)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def _run(home: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promptcache_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang fails the test instead of blocking it
        env={**os.environ, "PROMPTCACHE_TUI_HOME": str(home)},
    )


@pytest.mark.parametrize("kind", ["fifo", "device", "dangling-link"])
def test_a_database_path_that_is_not_a_regular_file_is_one_line_and_no_hang(
    isolated_env: Path, kind: str
) -> None:
    db = isolated_env / DB_NAME
    if kind == "fifo":
        os.mkfifo(db)  # opening it for reading would wait for a writer forever
        fragment = "not a regular file (a FIFO)"
    elif kind == "device":
        db.symlink_to("/dev/zero")  # endless zeros
        fragment = "not a regular file (a device)"
    else:
        db.symlink_to(isolated_env / "gone" / "db")
        fragment = "which does not exist"
    done = _run(isolated_env, "context", "list")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert fragment in line and str(db) in line and "Traceback" not in done.stderr


# -- prices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, key",
    [
        ("[models.claude-sonnet-4-6]\ninput = 1e308\n", "models.claude-sonnet-4-6: input"),
        ("[models.claude-sonnet-4-6]\noutput = 10000.01\n", "models.claude-sonnet-4-6: output"),
        ("[models.claude-sonnet-4-6]\ninput = -0.01\n", "models.claude-sonnet-4-6: input"),
        ("[models.my-model]\ninput = 1.0\noutput = inf\n", "models.my-model: output"),
        ("[pricing]\ncache_read = 1e308\n", "cache_read"),
        ("[pricing]\ncache_write_1h = nan\n", "cache_write_1h"),
    ],
)
def test_absurd_prices_are_refused_naming_the_file_and_the_key(
    cli: Cli, story: str, isolated_env: Path, content: str, key: str
) -> None:
    override = isolated_env / "models.toml"
    override.write_text(content)
    result = cli("ask", story, "Where did Aria walk?", "--format", "json")
    assert_one_line_error(result, str(override), key, "must be a number from 0 to 10000")
    assert json.loads(cli("history", "--format", "json").out) == []


@pytest.mark.parametrize("price", ["10000", "9999.99", "0"])
def test_prices_up_to_the_limit_are_accepted_and_costs_stay_finite(
    cli: Cli, story: str, isolated_env: Path, price: str
) -> None:
    (isolated_env / "models.toml").write_text(
        f"[models.claude-sonnet-4-6]\ninput = {price}\noutput = {price}\n"
    )
    result = cli("ask", story, "Where did Aria walk?", "--format", "json")
    assert result.code == 0, result.err
    [row] = json.loads(cli("history", "--format", "json").out)  # valid JSON: no Inf, no NaN
    assert row["cost_usd"] == pytest.approx(json.loads(result.out)["cost_usd"])
    assert row["cost_usd"] < 1e6


# -- spans, limits and URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (("history", "--since", "99999999d"), 2, "before the year 1"),
        (("stats", "--since", "99999999d"), 2, "before the year 1"),
        (("history", "--since", "99999999999999999999w"), 2, "before the year 1"),
        (("history", "--since", "yesterday"), 2, "invalid --since"),
        (("history", "--limit", "99999999999999999999999"), 2, "--limit"),
        (("history", "--limit", "0"), 2, "--limit"),
        (("context", "add", "x", "--text", "hi", "--ttl", "2h"), 2, "--ttl"),
        (("history", "--kind", "\x1b]0;pwned\x07"), 2, "--kind"),
    ],
)
def test_bad_values_on_the_command_line_are_one_line_and_exit_2(
    cli: Cli, args: tuple[str, ...], code: int, fragment: str
) -> None:
    result = cli(*args)
    assert_one_line_error(result, fragment)
    assert result.code == code
    assert "\x1b" not in result.err


def test_the_largest_limit_and_a_long_span_work(cli: Cli, story: str) -> None:
    assert cli("ask", story, "Where did Aria walk?").code == 0
    assert len(json.loads(cli("history", "--limit", str(2**63 - 1), "--format", "json").out)) == 1
    assert len(json.loads(cli("history", "--since", "700000d", "--format", "json").out)) == 1


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://example.com", "http://", "http://host:99999", "localhost:8787"]
)
def test_a_base_url_that_is_not_a_url_is_one_line(
    cli: Cli, story: str, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-values-test-0123456789")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    result = cli("ask", story, "Where did Aria walk?")
    assert_one_line_error(result, "ANTHROPIC_BASE_URL must be an http(s) URL")
    assert result.code == 1 and result.out == ""
    # Offline, the variable is not used, so it is not in the way.
    assert cli("ask", story, "Where did Aria walk?", "--offline").code == 0
