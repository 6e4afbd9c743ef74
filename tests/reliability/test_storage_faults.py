"""Storage faults: a held write lock, corrupt and foreign files, a full disk, a read-only dir.

Each one is one line on stderr naming the file, a non-zero exit, and nothing half-written.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    STORY,
    Cli,
    assert_one_line_error,
    remount,
    rows,
    write_lock,
)

DB_NAME = "promptcache.sqlite3"


def digest(path: Path) -> str:
    """The file's SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- another process holds the write lock ----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("context", "add", "notes", "--text", "hello there"),
        ("context", "rm", "story"),
        ("ask", "story", "Where did Aria walk?"),
    ],
)
def test_a_lock_held_past_the_timeout_is_one_line_naming_the_file(
    cli: Cli, story: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv("PROMPTCACHE_TUI_BUSY_TIMEOUT_MS", "300")
    db = isolated_env / DB_NAME
    with write_lock(db, 30):
        result = cli(*args)
    # That it waits first is the next test's (a lock let go in time is waited for).
    assert_one_line_error(result, str(db), "busy", "0.3 s")
    assert rows(db, "SELECT name FROM contexts") == [("story",)]
    assert rows(db, "SELECT count(*) FROM calls") == [(0,)]


@pytest.mark.parametrize(
    "args, check",
    [
        (
            ("context", "add", "notes", "--text", "hello there"),
            "SELECT count(*) FROM contexts WHERE name = 'notes'",
        ),
        (
            ("ask", "story", "Where did Aria walk?"),
            "SELECT count(*) FROM calls WHERE status = 'ok'",
        ),
    ],
)
def test_a_lock_released_within_the_timeout_is_waited_for(
    cli: Cli,
    story: str,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    check: str,
) -> None:
    monkeypatch.setenv("PROMPTCACHE_TUI_BUSY_TIMEOUT_MS", "10000")
    db = isolated_env / DB_NAME
    with write_lock(db, 0.6) as holder:
        # The lock is held when the command starts: it succeeds only by waiting for it.
        result = cli(*args)
        assert holder.wait(timeout=10) == 0  # the holder committed: it was not pre-empted
    assert result.code == 0, result.err
    assert rows(db, check) == [(1,)]


# -- corrupt, foreign and damaged files -------------------------------------------------------


def _damaged_copies(source: Path) -> dict[str, bytes]:
    data = source.read_bytes()
    scribbled = bytearray(data)
    scribbled[100:4096] = b"\x00" * (4096 - 100)  # the schema page, after the header
    return {
        "truncated": data[: len(data) // 2],
        "header only": data[:100],
        "schema page zeroed": bytes(scribbled),
    }


@pytest.mark.parametrize("damage", ["truncated", "header only", "schema page zeroed"])
@pytest.mark.parametrize("args", [("context", "list"), ("history",), ("ask", "story", "Where?")])
def test_a_damaged_sqlite_file_is_reported_and_left_untouched(
    cli: Cli, story: str, isolated_env: Path, damage: str, args: tuple[str, ...]
) -> None:
    # tests/cli covers a non-SQLite file; this one starts with the SQLite magic.
    db = isolated_env / DB_NAME
    db.write_bytes(_damaged_copies(db)[damage])
    before = digest(db)
    assert_one_line_error(cli(*args), str(db), "corrupt")
    assert digest(db) == before
    assert sorted(p.name for p in isolated_env.iterdir() if p.name.startswith(DB_NAME)) == [DB_NAME]


def test_another_programs_sqlite_database_is_refused_and_left_untouched(
    cli: Cli, isolated_env: Path
) -> None:
    db = isolated_env / DB_NAME
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('my own data')")
    conn.commit()
    conn.close()
    before = digest(db)
    for args in (("context", "list"), ("context", "add", "x", "--text", "hello")):
        assert_one_line_error(cli(*args), str(db), "another program")
    assert digest(db) == before  # no WAL switch, no tables of ours added
    assert rows(db, "SELECT name FROM sqlite_master") == [("notes",)]


def test_a_corrupt_simulator_state_file_is_one_line(
    cli: Cli, story: str, isolated_env: Path
) -> None:
    state = isolated_env / "simulator.sqlite3"
    state.write_bytes(b"not a database at all" * 50)
    for args in (("ask", story, "Where?"), ("warm", story)):
        assert_one_line_error(cli(*args), str(state), "not a usable simulator state file")
    assert state.read_bytes() == b"not a database at all" * 50


# -- a full disk ---------------------------------------------------------------------------


def _with_story(cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `home` the data dir and add the context 'story' to it."""
    monkeypatch.setenv("PROMPTCACHE_TUI_HOME", str(home))
    doc = tmp_path / "story.txt"
    doc.write_text(STORY)
    assert cli("context", "add", "story", "--file", str(doc)).code == 0
    return home


def _integrity(db: Path) -> str:
    return rows(db, "PRAGMA integrity_check")[0][0]


def test_disk_full_while_adding_a_big_file_writes_nothing(
    cli: Cli, tmpfs: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmpfs("1m")
    monkeypatch.setenv("PROMPTCACHE_TUI_HOME", str(home))
    assert cli("context", "add", "small", "--text", "a short note").code == 0
    big = tmp_path / "big.txt"
    big.write_text("Aria walked down to the harbour to watch the boats. " * 40_000)  # ~2 MB
    result = cli("context", "add", "big", "--file", str(big))
    db = home / DB_NAME
    assert_one_line_error(result, "disk full", str(db))
    assert rows(db, "SELECT name FROM contexts") == [("small",)]
    assert rows(db, "SELECT count(*) FROM blocks") == [(1,)]
    assert _integrity(db) == "ok"
    assert cli("context", "list").code == 0  # still usable


def test_disk_full_while_logging_a_call_leaves_no_partial_rows(
    cli: Cli, tmpfs: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _with_story(cli, tmpfs("1m"), tmp_path, monkeypatch)
    # In-process, a prompt may exceed the kernel's 128 KiB argument limit: the call row,
    # which stores the prompt, cannot fit in what is left of the 1 MiB disk.
    prompt = "Where did Aria walk? " + "and what else happened there " * 40_000
    result = cli("ask", "story", prompt, "--format", "json")
    db = home / DB_NAME
    assert_one_line_error(result, "disk full", str(db))
    assert result.out == ""  # no half JSON document
    for table in ("calls", "call_breakpoints", "conversations"):
        assert rows(db, f"SELECT count(*) FROM {table}") == [(0,)], table
    assert _integrity(db) == "ok"
    assert cli("ask", "story", "Where did Aria walk?").code == 0  # a small call still fits


def test_a_completely_full_disk_says_disk_full(
    cli: Cli, tmpfs: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmpfs("1m")
    monkeypatch.setenv("PROMPTCACHE_TUI_HOME", str(home))
    assert cli("context", "add", "small", "--text", "a short note").code == 0
    filler = home / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError):
            while True:  # until ENOSPC: not even SQLite's 32 KiB -shm file fits now
                os.write(fd, b"x" * 4096)
    finally:
        os.close(fd)
    db = home / DB_NAME
    assert_one_line_error(cli("context", "list"), "disk full", str(db))
    filler.unlink()
    assert cli("context", "list").code == 0
    assert _integrity(db) == "ok"


# -- a read-only data dir (root ignores chmod, so the file system itself is read-only) -------


def test_a_read_only_data_dir_reads_but_refuses_writes_in_one_line(
    cli: Cli, tmpfs: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _with_story(cli, tmpfs("4m"), tmp_path, monkeypatch)
    assert cli("ask", "story", "Where did Aria walk?").code == 0
    db = home / DB_NAME
    before = digest(db)
    assert not (home / f"{DB_NAME}-shm").exists()  # closed cleanly: no -shm to share
    remount(home, "ro")
    try:
        listed = cli("context", "list")
        assert listed.code == 0 and "story" in listed.out, listed.err
        history = cli("history", "--format", "json")
        assert history.code == 0 and '"status": "ok"' in history.out, history.err
        shown = cli("context", "show", "story")
        assert shown.code == 0, shown.err
        assert cli("stats").code == 0
        assert_one_line_error(cli("context", "add", "x", "--text", "hello"), str(db), "read-only")
        assert_one_line_error(cli("context", "rm", "story"), str(db), "read-only")
        # Offline, `ask` also needs the simulator's state file, which cannot be written.
        assert_one_line_error(cli("ask", "story", "Where?"), "simulator.sqlite3")
    finally:
        remount(home, "rw")
    assert digest(db) == before


def test_read_only_after_a_crash_reads_but_refuses_writes(
    cli: Cli, tmpfs: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _with_story(cli, tmpfs("4m"), tmp_path, monkeypatch)
    db = home / DB_NAME
    # A process that dies with the database open leaves its -wal and -shm files behind;
    # with them SQLite can still read the database on a read-only file system.
    crash = (
        "import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
        " c.execute('UPDATE contexts SET updated_at = updated_at'); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", crash, str(db)], check=True, timeout=20)
    assert (home / f"{DB_NAME}-shm").exists()
    remount(home, "ro")
    try:
        listed = cli("context", "list")
        assert listed.code == 0 and "story" in listed.out, listed.err
        assert_one_line_error(cli("context", "add", "x", "--text", "hello"), str(db), "read-only")
        # Offline, `ask` also needs the simulator's state file, which cannot be created.
        assert_one_line_error(
            cli("ask", "story", "Where?"), "simulator.sqlite3", "Read-only file system"
        )
    finally:
        remount(home, "rw")


def test_an_empty_read_only_data_dir_cannot_create_the_database(
    cli: Cli, tmpfs: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmpfs("1m")
    monkeypatch.setenv("PROMPTCACHE_TUI_HOME", str(home))
    remount(home, "ro")
    try:
        assert_one_line_error(
            cli("context", "add", "x", "--text", "hello"),
            f"cannot create database {home / DB_NAME}",
            "Read-only",
        )
    finally:
        remount(home, "rw")
    assert os.listdir(home) == []
