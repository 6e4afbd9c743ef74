"""Fixtures for the TUI tests: a temp data dir, offline settings, local time in UTC.

The root conftest already removes any API key and turns simulator pacing off.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptcache_tui.config import Settings, load_settings


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


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The app's data dir for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Offline settings on the temp data dir."""
    return load_settings(data_dir, offline=True)
