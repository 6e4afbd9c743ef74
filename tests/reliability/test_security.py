"""Security: the API key stays out of every file, screen and log; the databases are 0600.

Already covered elsewhere: the key never reaches the data dir or the CLI's output, exports
included (tests/calls/test_ask.py::test_the_api_key_is_never_written); a non-loopback
simulator needs --allow-remote (tests/sim/test_cli.py); the data dir is created 0700
(tests/cli/test_config.py); the main database file is 0600 (tests/store/test_database.py).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from promptcache_tui.config import Settings
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.store import Store
from promptcache_tui.ui.screens.history import ExportDialog, HistoryScreen
from promptcache_tui.ui.widgets.history_table import HistoryTable
from tests.reliability.conftest import Cli
from tests.ui.harness import chat, make_app, run_hook, seed_demo, wait_selected, wait_until

SECRET = "sk-ant-api03-reliability-SECRET-0123456789"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def remote_sim(tmp_path: Path) -> Iterator[InProcessSimulator]:
    """A loopback simulator standing in for the real API (it accepts any key)."""
    with InProcessSimulator(tmp_path / "remote-sim", rate=0) as server:
        yield server


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every file under `root` whose bytes contain `needle`."""
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_the_key_is_nowhere_after_a_live_tui_session(
    tmp_path: Path, remote_sim: InProcessSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the SDK's and httpx's debug logs included
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(data_dir=data, api_key=SECRET, base_url=remote_sim.base_url)
    await seed_demo(settings)
    app = make_app(settings)
    export = tmp_path / "export.json"
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot)
        assert "LIVE" in app.sub_title
        await chat(pilot, "Who is Dinah?")  # ok
        await run_hook(app, "/_sim/faults", {"status": 500, "count": 3, "retry_after": 0.01})
        await chat(pilot, "Who is the Hatter?")  # an error, with its notice
        on_disk_while_open = files_holding(data, SECRET.encode())
        screenshot_main = app.export_screenshot()
        # Notices stay on the screen they were raised on: read the main screen's now.
        notices = " ".join(str(n.message) for n in app._notifications)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
        history = app.screen
        await wait_until(
            pilot, lambda: len(history.query_one(HistoryTable).ids) == 2, what="both calls listed"
        )
        history.query_one(HistoryTable).focus()
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog), what="the dialog")
        app.screen.query_one("#export-path", Input).value = str(export)
        await pilot.press("enter")
        await wait_until(pilot, lambda: export.exists(), what="the export")
        screenshot_history = app.export_screenshot()
        notices += " ".join(str(n.message) for n in app._notifications)
    assert on_disk_while_open == []  # the -wal and -shm files included
    assert files_holding(data, SECRET.encode()) == []
    assert [r["status"] for r in json.loads(export.read_text())] == ["error", "ok"]
    assert SECRET not in export.read_text()
    assert SECRET not in screenshot_main and SECRET not in screenshot_history
    assert "500" in notices and SECRET not in notices
    assert remote_sim.base_url in caplog.text  # the HTTP layer did log its requests
    assert SECRET not in caplog.text


def test_the_repository_screenshots_hold_no_key() -> None:
    shots = sorted((REPO / "screenshots").glob("*.svg"))
    assert shots, "screenshots/*.svg are missing"
    for shot in shots:
        text = shot.read_text(encoding="utf-8")
        assert "sk-ant" not in text and "x-api-key" not in text.lower(), shot


def test_the_cli_logs_no_key_at_debug_level(
    cli: Cli,
    story: str,
    remote_sim: InProcessSimulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", remote_sim.base_url)
    result = cli("ask", story, "Where did Aria walk?")
    assert result.code == 0, result.err
    assert remote_sim.base_url in caplog.text  # the HTTP layer did log its requests
    assert SECRET not in caplog.text and SECRET not in result.out + result.err


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_databases_and_their_wal_and_shm_files_are_0600_whatever_the_umask(
    tmp_path: Path,
) -> None:
    old = os.umask(0)  # the most permissive umask: modes come from the code alone
    try:
        db = tmp_path / "promptcache.sqlite3"
        async with await Store.open(db) as store:
            await store.contexts.list()
            companions = [Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(p.exists() for p in companions)
            assert {p.name: _mode(p) for p in [db, *companions]} == {
                p.name: 0o600 for p in [db, *companions]
            }
        with InProcessSimulator(tmp_path / "sim", rate=0) as sim:
            state = sim.data_dir / "simulator.sqlite3"
            files = [state, Path(f"{state}-wal"), Path(f"{state}-shm")]
            present = [p for p in files if p.exists()]
            assert state in present
            assert {p.name: _mode(p) for p in present} == {p.name: 0o600 for p in present}
    finally:
        os.umask(old)
