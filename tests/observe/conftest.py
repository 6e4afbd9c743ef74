"""Fixtures for observe mode: a simulator upstream, the proxy in front of it, the log."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.observe.server import ProxyServer
from promptcache_tui.sim.inprocess import InProcessSimulator

SECRET = "sk-ant-api03-OBSERVED-do-not-store-0123456789"


@pytest.fixture
def home() -> Path:
    """The test's data dir (the autouse fixture points PROMPTCACHE_TUI_HOME at it)."""
    return Path(os.environ["PROMPTCACHE_TUI_HOME"])


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[InProcessSimulator]:
    """The simulator as the proxy's upstream, with its own state (a stand-in for the API)."""
    with InProcessSimulator(tmp_path / "upstream-sim", rate=0) as server:
        yield server


@pytest.fixture
def reports() -> list[str]:
    """What the proxy reported on stderr."""
    return []


@pytest.fixture
def proxy(home: Path, sim: InProcessSimulator, reports: list[str]) -> Iterator[ProxyServer]:
    """The recording proxy on a loopback port, forwarding to `sim`, logging into `home`."""
    with ProxyServer(home, sim.base_url, report=reports.append) as server:
        yield server


def calls(home: Path, where: str = "") -> list[dict[str, Any]]:
    """Rows of the `calls` table, oldest first."""
    return query(home, f"SELECT * FROM calls {where} ORDER BY id")


def query(home: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows of any query on the data dir's database."""
    conn = sqlite3.connect(home / "promptcache.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def wait_until(predicate: Callable[[], Any], what: str = "a condition") -> Any:
    """Poll `predicate` until it returns something truthy (a failsafe deadline, not a test)."""
    deadline = time.monotonic() + 30
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
