"""Where the app keeps its files: the data dir (flag, PROMPTCACHE_TUI_HOME, platformdirs).

Below the config layer so that the status line (observe/) finds the same data dir as every
command without reading `.env` or loading the settings. Standard library only, until the
platform's default is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from promptcache_tui.core.errors import UserError

APP_NAME = "promptcache-tui"
HOME_ENV = "PROMPTCACHE_TUI_HOME"


class DataDirError(UserError, ValueError):
    """The data dir cannot be used; the message is one line for the user."""


def default_data_dir() -> Path:
    """The platform's user data dir for the app (platformdirs)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir(data_dir: Path | str | None = None) -> Path:
    """The data dir to use (flag, then PROMPTCACHE_TUI_HOME, then platformdirs), created 0700."""
    chosen = data_dir or os.environ.get(HOME_ENV) or default_data_dir()
    path = Path(chosen).expanduser()
    if path.exists() and not path.is_dir():
        raise DataDirError(f"data dir {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise DataDirError(f"cannot create data dir {path}: {exc.strerror or exc}") from exc
    return path
