"""The fault and abuse suite: tmpfs mounts, a process holding a write lock, shared checks."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

# Long enough to clear every catalogued cache minimum with the estimator.
STORY = (
    "Aria lived in a small coastal village between towering cliffs and the endless ocean. "
    "Every morning she walked to the harbour, where the fishermen mended their nets. "
) * 60

_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
conn.close()
"""


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """A non-zero exit, one line on stderr holding every fragment, no traceback."""
    assert result.code != 0, (result.out, result.err)
    assert "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def rows(db: Path, sql: str) -> list[tuple]:
    """Run one query on a database file with the plain sqlite3 module."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@contextlib.contextmanager
def write_lock(db: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holds `db`'s write lock (BEGIN IMMEDIATE) for `seconds`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(db), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked", proc.stderr and proc.stderr.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=20)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount small tmpfs file systems (unmounted afterwards); skip where mounting is denied."""
    mounted: list[Path] = []
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("mount/umount are not installed")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")

    def mount(size: str = "1m") -> Path:
        target = tmp_path / f"tmpfs-{len(mounted)}"
        target.mkdir()
        done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(target)
        return target

    try:
        yield mount
    finally:
        for target in reversed(mounted):
            if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(target)], capture_output=True)


def remount(target: Path, mode: str) -> None:
    """Remount a tmpfs from `tmpfs` read-only ('ro') or read-write ('rw')."""
    done = _mount("-o", f"remount,{mode}", str(target))
    if done.returncode != 0:
        pytest.skip(f"cannot remount {target} {mode}: {done.stderr.strip()}")


@pytest.fixture
def restore_environ() -> Iterator[None]:
    """Put os.environ back as it was: a `.env` loaded in-process sets real variables."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def story(cli: Cli, tmp_path: Path) -> str:
    """A context named 'story' with one 5m breakpoint after a ~2k-token document."""
    path = tmp_path / "story.txt"
    path.write_text(STORY, encoding="utf-8")
    result = cli("context", "add", "story", "--file", str(path))
    assert result.code == 0, result.err
    return "story"
