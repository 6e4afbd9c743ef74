"""A folder nobody can write to, root included, for tests of read-only data dirs."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=20)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` read-only while the block runs.

    A normal user is stopped by the folder's mode (0500). Root ignores modes, so for root the
    folder is bind-mounted on itself read-only: writes fail with EROFS, as on a read-only
    file system.
    """
    if os.geteuid() != 0:
        mode = folder.stat().st_mode & 0o777
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(mode)
        return
    bound = _mount("--bind", str(folder), str(folder))
    if bound.returncode != 0:
        pytest.skip(f"root without the right to mount here: {bound.stderr.strip()}")
    try:
        done = _mount("-o", "remount,bind,ro", str(folder))
        assert done.returncode == 0, done.stderr
        yield
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
