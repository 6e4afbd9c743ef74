"""`promptcache-tui sim --workers N`: several processes on one port, one shared state."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import anthropic
import pytest

from tests.observe.conftest import wait_until

MODEL = "claude-sonnet-4-6"
DOCUMENT = "The harbour keeps the boats safe through the winter storms. " * 300


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux: /proc/<pid>/task/*/children)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def start(data_dir: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PROMPTCACHE_TUI_SIM_RATE": "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "promptcache_tui",
            "sim",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    found = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
    assert found, proc.stderr and proc.stderr.read()
    return proc, f"http://127.0.0.1:{found.group(1)}"


def fresh(base_url: str) -> anthropic.Anthropic:
    """A client of its own, so each call opens a new connection (no keep-alive reuse)."""
    return anthropic.Anthropic(
        api_key="any-key",
        base_url=base_url,
        max_retries=0,
        default_headers={"Connection": "close"},
    )


def ask(client: anthropic.Anthropic, question: str) -> tuple[int, int]:
    reply = client.messages.create(
        model=MODEL,
        max_tokens=20,
        system=[{"type": "text", "text": DOCUMENT, "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": question}],
    )
    return reply.usage.cache_creation_input_tokens, reply.usage.cache_read_input_tokens


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_workers_share_the_port_and_the_cache_and_stop_together(tmp_path: Path) -> None:
    proc, base_url = start(tmp_path, "--workers", "2")
    try:
        wait_until(lambda: len(children(proc.pid)) >= 2, "two worker processes")
        workers = children(proc.pid)
        usages = [ask(fresh(base_url), f"Question {i}?") for i in range(8)]
        written = usages[0][0]
        assert written > 0 and usages[0][1] == 0
        # Every later call reads what the first wrote: each comes on a new connection, which
        # either worker may accept, and none of them misses.
        assert usages[1:] == [(0, written)] * 7
        # The simulated clock is shared too: 301 s later the entry has expired everywhere.
        hook = urllib.request.Request(
            base_url + "/_sim/advance",
            data=json.dumps({"seconds": 301}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(hook, timeout=10).close()
        later = [ask(fresh(base_url), f"Later {i}?") for i in range(3)]
        assert later == [(written, 0), (0, written), (0, written)]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # None left behind (each is gone once the parent's exit lets init reap it).
    wait_until(lambda: not any(alive(pid) for pid in workers), "the workers to exit")


@pytest.mark.parametrize("workers, ok", [("0", False), ("1", True), ("65", False)])
def test_workers_take_one_to_sixty_four(tmp_path: Path, workers: str, ok: bool) -> None:
    if not ok:
        result = subprocess.run(
            [sys.executable, "-m", "promptcache_tui", "sim", "--workers", workers],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2
        assert "--workers" in result.stderr and "Traceback" not in result.stderr
        return
    proc, base_url = start(tmp_path, "--workers", workers)
    try:
        client = anthropic.Anthropic(api_key="any-key", base_url=base_url, max_retries=0)
        assert ask(client, "One?")[0] > 0
        assert children(proc.pid) == set()  # one process: it serves itself
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
