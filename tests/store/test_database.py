"""Opening, securing and migrating the database."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from promptcache_tui.store import Store, StoreError
from promptcache_tui.store.migrations import MIGRATIONS, SCHEMA_VERSION


async def test_new_database_is_private_wal_and_current(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        assert await store.db.scalar("PRAGMA journal_mode") == "wal"
        assert await store.db.scalar("PRAGMA user_version") == SCHEMA_VERSION
        assert int(await store.db.scalar("PRAGMA busy_timeout")) >= 5000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_history_indexes_exist(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        names = {
            r[0]
            for r in await store.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert {"calls_by_ts", "calls_by_context_ts", "calls_by_model_ts"} <= names


def _old_database(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO contexts (name, model, created_at, updated_at)"
        " VALUES ('old', 'claude-sonnet-4-6', '2026-01-01', '2026-01-01')"
    )
    conn.execute(
        "INSERT INTO blocks (context_id, position, kind, text) VALUES (1, 0, 'document',"
        " 'kept text')"
    )
    conn.execute(
        "INSERT INTO calls (ts, context, kind, model, status, input_tokens,"
        " cache_read_input_tokens, mult_write_5m, mult_write_1h, mult_read)"
        " VALUES ('2026-01-01T00:00:00.000000+00:00', 'old', 'ask', 'claude-sonnet-4-6', 'ok',"
        " 16, 1217, 1.25, 2.0, 0.1)"
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
async def test_upgrade_from_every_older_schema_keeps_rows(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.sqlite3"
    _old_database(path, version)
    async with await Store.open(path) as store:
        assert await store.db.scalar("PRAGMA user_version") == SCHEMA_VERSION
        ctx = await store.contexts.require("old")
        assert ctx.blocks[0].text == "kept text"
        assert ctx.keep_warm is False
        calls = await store.calls.history()
        assert [(c.context, c.usage.cache_read_input_tokens) for c in calls] == [("old", 1217)]


async def test_a_non_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is my shopping list, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a SQLite database"):
        await Store.open(path)
    assert path.read_bytes() == before


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer promptcache-tui"):
        await Store.open(path)
