"""What the TUI keeps in the data dir besides the database: the chosen theme, screenshots.

The theme is one small JSON file (`ui.json`), not a table: it is the TUI's own preference,
read before the first frame, and a missing or damaged file just means the default theme.
Files are written 0600, like everything the app writes.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

PREFERENCES_FILE = "ui.json"
SCREENSHOTS_DIR = "screenshots"


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` (mode 0600) through a temporary file, replacing it whole."""
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def load_theme(data_dir: Path) -> str | None:
    """The theme saved last, or None (no file, or one that cannot be read)."""
    try:
        data = json.loads((data_dir / PREFERENCES_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if isinstance(theme, str) and theme else None


def save_theme(data_dir: Path, theme: str) -> None:
    """Remember the chosen theme (other preferences in the file are kept)."""
    path = data_dir / PREFERENCES_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data["theme"] = theme
    _write_private(path, json.dumps(data, indent=2) + "\n")


def save_screenshot(svg: str, data_dir: Path, filename: str | None, now: float) -> Path:
    """Write an SVG screenshot into the data dir's `screenshots` folder; its path."""
    folder = data_dir / SCREENSHOTS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    if filename:
        name = Path(filename).name  # a name, never a path elsewhere
    else:
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(now))
        name = f"promptcache-tui-{stamp}.svg"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "screenshot.svg"
    path = folder / name
    _write_private(path, svg)
    return path
