"""Four `ask` processes at once on one data dir: all succeed, all four calls are logged."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_four_processes_at_once(book: str, isolated_env: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "promptcache_tui", "ask", book, f"Question {i}?"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for i in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    conn = sqlite3.connect(isolated_env / "promptcache.sqlite3")
    rows = conn.execute("SELECT status, prompt FROM calls ORDER BY prompt").fetchall()
    conn.close()
    assert rows == [("ok", f"Question {i}?") for i in range(4)]
