"""Every test runs isolated: its own data dir, no API key, no .env, an unpaced simulator."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh PROMPTCACHE_TUI_HOME and working dir; no Anthropic variables leak in."""
    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("cwd")
    monkeypatch.setenv("PROMPTCACHE_TUI_HOME", str(home))
    monkeypatch.setenv("PROMPTCACHE_TUI_SIM_RATE", "0")
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(work)
    saved = dict(os.environ)
    yield home
    # An in-process `.env` load writes os.environ directly: undo it for the next test.
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC (the usage panel shows local times)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@dataclass
class CliResult:
    """What one CLI run printed and returned."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `promptcache-tui ARGS...` in-process through the real entry point."""
    from promptcache_tui.cli.main import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
