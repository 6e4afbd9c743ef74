"""Fixtures for the call tests: a context on disk, a loopback simulator, subprocess runs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator
from tests.conftest import CliResult

# Long enough to clear every catalogued cache minimum with the estimator.
BOOK = (
    "Aria lived in a small coastal village between towering cliffs and the endless ocean. "
    "Every morning she walked to the harbour, where the fishermen mended their nets and "
    "told stories about the Moonstone hidden in the caves below the lighthouse. "
) * 60
SECRET = "sk-ant-test-DO-NOT-LEAK-0123456789abcdef"


@pytest.fixture
def book(cli: Callable[..., CliResult], tmp_path: Path) -> str:
    """A context named 'book' with one 5m breakpoint after a ~4k-token document."""
    path = tmp_path / "novel.txt"
    path.write_text(BOOK, encoding="utf-8")
    result = cli(
        "context",
        "add",
        "book",
        "--file",
        str(path),
        "--system",
        "You are an AI assistant tasked with analyzing story books.",
    )
    assert result.code == 0, result.err
    return "book"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[InProcessSimulator]:
    """A simulator on a loopback port with its own state dir (a stand-in for a remote API)."""
    with InProcessSimulator(tmp_path / "remote-sim", rate=0) as server:
        yield server


@pytest.fixture
def live_env(sim: InProcessSimulator, monkeypatch: pytest.MonkeyPatch) -> InProcessSimulator:
    """LIVE mode: a key is set and ANTHROPIC_BASE_URL points at the loopback simulator."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
    return sim


@dataclass
class Proc:
    """A finished subprocess."""

    code: int
    out: str
    err: str


@pytest.fixture
def run_process() -> Callable[..., Proc]:
    """Run `promptcache-tui ...` as a separate process (inherits the test's environment)."""

    def run(*args: str, timeout: float = 60) -> Proc:
        done = subprocess.run(
            [sys.executable, "-m", "promptcache_tui", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ),
        )
        return Proc(done.returncode, done.stdout, done.stderr)

    return run


def sim_hook(sim: InProcessSimulator, path: str, body: dict) -> dict:
    """POST a test hook (/_sim/advance, /_sim/faults) over loopback HTTP."""
    import json
    import urllib.request

    request = urllib.request.Request(
        sim.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def logged_calls(home: Path) -> list[sqlite3.Row]:
    """Every row of the `calls` table in the data dir `home`, oldest first."""
    conn = sqlite3.connect(home / "promptcache.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute("SELECT * FROM calls ORDER BY id"))
    finally:
        conn.close()
