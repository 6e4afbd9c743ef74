"""Fixtures for the TUI tests: a temp data dir and offline settings (`utc` is in the root).

The root conftest already removes any API key and turns simulator pacing off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promptcache_tui.config import Settings, load_settings


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
