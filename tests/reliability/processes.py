"""Real processes for the interrupt tests: `promptcache-tui sim` over HTTP and CLI commands.

Everything waits on conditions (a line served, a row written, bytes on a pipe), never on
a fixed sleep; each wait has a generous deadline so a broken build fails instead of hanging.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

DEADLINE_S = 60.0
_SERVED = re.compile(r'"POST /v1/messages HTTP/1\.1" 200')


def wait_until(predicate: Callable[[], object], what: str, deadline: float = DEADLINE_S) -> None:
    """Poll `predicate` until it is true; fail naming `what` after `deadline` seconds."""
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class _Pump(threading.Thread):
    """Collects what a pipe carries, as it arrives."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.data = b""
        self.lock = threading.Lock()

    def run(self) -> None:
        read = self.stream.read1 if hasattr(self.stream, "read1") else self.stream.read  # type: ignore[attr-defined]
        while True:
            chunk = read(4096)
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    def text(self) -> str:
        with self.lock:
            return self.data.decode("utf-8", "replace")


class SimProcess:
    """`promptcache-tui sim` in its own process, paced; counts the calls it served."""

    def __init__(self, data_dir: Path, *, rate: float, prefill_rate: float | None = None) -> None:
        env = dict(os.environ)
        env.pop("PROMPTCACHE_TUI_SIM_RATE", None)
        if prefill_rate is not None:
            env["PROMPTCACHE_TUI_SIM_PREFILL_RATE"] = str(prefill_rate)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "promptcache_tui",
                "sim",
                "--port",
                "0",
                "--rate",
                str(rate),
                "--data-dir",
                str(data_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.out = _Pump(self.proc.stdout)
        self.err = _Pump(self.proc.stderr)
        self.out.start()
        self.err.start()
        wait_until(lambda: "http://127.0.0.1:" in self.out.text(), "the simulator to start")
        match = re.search(r"http://127\.0\.0\.1:(\d+)", self.out.text())
        assert match is not None
        self.base_url = f"http://127.0.0.1:{match.group(1)}"

    def served(self) -> int:
        """How many /v1/messages responses it started with status 200 (each one billed)."""
        return len(_SERVED.findall(self.out.text()))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class CliProcess:
    """One `promptcache-tui ...` command in its own process, its output collected."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "promptcache_tui", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.out = _Pump(self.proc.stdout)
        self.err = _Pump(self.proc.stderr)
        self.out.start()
        self.err.start()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = DEADLINE_S) -> int:
        """Wait for the process and its pipes; its exit code (negative: killed by a signal)."""
        code = self.proc.wait(timeout=timeout)
        self.out.join(timeout)
        self.err.join(timeout)
        return code


def call_rows(db: Path) -> list[sqlite3.Row]:
    """The `calls` rows of a database, oldest first (nothing if it does not exist yet)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute("SELECT * FROM calls ORDER BY id"))
    except sqlite3.OperationalError:
        return []  # not migrated yet
    finally:
        conn.close()
