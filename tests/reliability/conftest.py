"""The fault and abuse suite: tmpfs mounts (for any user), a process holding a write lock,
shared checks."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

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


# Mounting needs CAP_SYS_ADMIN. Root has it; any other user gets it inside a user and mount
# namespace of its own (`unshare --user --map-root-user --mount`), where the tmpfs is as real
# (ENOSPC when full, EROFS when read-only) and invisible to the rest of the machine. So for a
# normal user the tests that mount run once more, together, in such a namespace, and each one
# reports the outcome it had there.
IN_NAMESPACE = "PROMPTCACHE_TUI_TEST_IN_MOUNT_NAMESPACE"
MOUNTING = "tmpfs"  # the fixture that marks a test as one that mounts


def can_mount_here() -> bool:
    """Whether this process may mount (root, or root of its own namespace)."""
    return os.geteuid() == 0


def _namespace_command() -> list[str] | None:
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "true"],
        capture_output=True,
        timeout=20,
        check=False,
    )
    return [unshare, "--user", "--map-root-user", "--mount"] if probe.returncode == 0 else None


@dataclass
class _Outcome:
    passed: bool
    skipped: str | None
    text: str


def _run_in_namespace(session: pytest.Session, base: Path) -> dict[str, _Outcome] | str:
    """Run every test of the session that mounts in one namespaced pytest; their outcomes
    by node id, or why that cannot be done."""
    if os.environ.get(IN_NAMESPACE):
        return "cannot mount even in a user namespace"
    command = _namespace_command()
    if command is None:
        return "this user may not create a user namespace (unshare) to mount in"
    ids = [item.nodeid for item in session.items if MOUNTING in getattr(item, "fixturenames", ())]
    report = base / "namespace.xml"
    done = subprocess.run(
        [
            *command,
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={base / 'tmp'}",
            f"--junitxml={report}",
            *ids,
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, IN_NAMESPACE: "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if not report.exists():
        return f"the namespaced run wrote no report: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    outcomes: dict[str, _Outcome] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        path = classname.replace(".", "/") + ".py"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        outcomes[f"{path}::{name}"] = _Outcome(
            passed=problem is None and skipped is None,
            skipped=None if skipped is None else skipped.get("message", "skipped"),
            text="" if problem is None else (problem.text or problem.get("message", "")),
        )
    return outcomes


_namespace_results: dict[str, _Outcome] | str | None = None


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A test that mounts, run by a normal user: report what it did in the namespace."""
    global _namespace_results
    if MOUNTING not in pyfuncitem.fixturenames or can_mount_here():
        return None
    if _namespace_results is None:
        base = Path(tempfile.mkdtemp(prefix="pct-mount-ns-"))
        _namespace_results = _run_in_namespace(pyfuncitem.session, base)
    if isinstance(_namespace_results, str):
        pytest.skip(_namespace_results)
    outcome = _namespace_results.get(pyfuncitem.nodeid)
    if outcome is None:
        pytest.fail(f"the namespaced run did not report {pyfuncitem.nodeid}")
    if outcome.skipped is not None:
        pytest.skip(f"in its mount namespace: {outcome.skipped}")
    if not outcome.passed:
        pytest.fail(f"in its mount namespace:\n{outcome.text}", pytrace=False)
    return True


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount small tmpfs file systems (unmounted afterwards): as root, or as the root of a
    user namespace (see `pytest_pyfunc_call`)."""
    mounted: list[Path] = []
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("mount/umount are not installed")

    def mount(size: str = "1m") -> Path:
        assert can_mount_here()  # a normal user's test body runs in its namespace
        target = tmp_path / f"tmpfs-{len(mounted)}"
        target.mkdir()
        done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target))
        assert done.returncode == 0, f"cannot mount a tmpfs: {done.stderr.strip()}"
        mounted.append(target)
        return target

    try:
        yield mount
    finally:
        for target in reversed(mounted):
            if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(target)], capture_output=True)


def remount(target: Path, mode: str) -> None:
    """Make a tmpfs from `tmpfs` read-only ('ro') or read-write ('rw') again.

    The mount point's own flag (`bind`): a user namespace may set it where it may not
    remount the file system itself; writes then fail with EROFS for root too.
    """
    done = _mount("-o", f"remount,bind,{mode}", str(target))
    assert done.returncode == 0, f"cannot remount {target} {mode}: {done.stderr.strip()}"


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
