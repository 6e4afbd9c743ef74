"""Database problems phrased as one line for the user, and the lock wait: shared by the
aiosqlite connection (`database.py`) and the plain sqlite3 one (`imports.py`).

Standard library only: no aiosqlite.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from promptcache_tui.core.errors import UserError

BUSY_TIMEOUT_MS = 15_000
BUSY_TIMEOUT_ENV = "PROMPTCACHE_TUI_BUSY_TIMEOUT_MS"  # how long a writer waits for a lock


def busy_timeout_ms() -> int:
    """The lock wait in ms: PROMPTCACHE_TUI_BUSY_TIMEOUT_MS if valid, else 15 s."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "")
    return int(raw) if raw.isdigit() else BUSY_TIMEOUT_MS


class StoreError(UserError, RuntimeError):
    """A database problem, phrased as one line for the user."""


class QueryInterrupted(StoreError):
    """A query was stopped by `Database.interrupt()` before it finished."""


def describe(exc: sqlite3.Error, path: Path) -> StoreError:
    """Turn a sqlite3 error into one line that names the file."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, sqlite3.OperationalError) and lowered == "interrupted":
        return QueryInterrupted(f"a query on {path} was interrupted")
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            f"database {path} is busy: another process held a write lock for over "
            f"{busy_timeout_ms() / 1000:g} s; try again"
        )
    if (
        "readonly" in lowered
        or "read-only" in lowered
        or ("unable to open" in lowered and path.exists() and not _writable(path.parent))
    ):
        return StoreError(f"database {path} is read-only: check the data dir's permissions")
    # A full disk shows as SQLITE_FULL, or as an I/O error when even the -shm file cannot grow.
    if "full" in lowered or ("disk i/o error" in lowered and _disk_full(path)):
        return StoreError(f"disk full: cannot write to {path}")
    if "not a database" in lowered or "malformed" in lowered:
        return StoreError(f"{path} is corrupt or not a promptcache-tui database ({text})")
    return StoreError(f"database error in {path}: {text}")


def _writable(folder: Path) -> bool:
    # access() reports a read-only mount even to root, which chmod alone cannot stop.
    return os.access(folder, os.W_OK)


def _disk_full(path: Path) -> bool:
    import shutil  # only on this rare path: shutil pulls in the compression modules

    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024  # the -shm file wants 32 KiB
    except OSError:
        return False
