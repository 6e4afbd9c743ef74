"""`promptcache-tui sim`: loopback guard and a real served process sharing state."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest
from click.testing import CliRunner

from promptcache_tui.cli.sim_cmd import sim
from promptcache_tui.core.hosts import is_loopback
from promptcache_tui.sim.inprocess import InProcessSimulator

from .prompts import doc_request


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("localhost.", True),  # the fully qualified form, as the proxy's check reads it
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_remote_host_needs_allow_remote(tmp_path: Path) -> None:
    result = CliRunner().invoke(sim, ["--host", "0.0.0.0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--allow-remote" in lines[0]
    assert "Traceback" not in result.output


def test_a_bad_rate_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        sim, ["--data-dir", str(tmp_path), "--port", "0"], env={"PROMPTCACHE_TUI_SIM_RATE": "fast"}
    )
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: PROMPTCACHE_TUI_SIM_RATE")


def test_a_corrupt_state_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "simulator.sqlite3").write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(sim, ["--data-dir", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert "not a usable simulator state file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_through_the_main_command(tmp_path: Path) -> None:
    code = "from promptcache_tui.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--data-dir", str(tmp_path), "sim", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "--allow-remote" in done.stderr


def test_served_process_shares_the_cache_with_an_in_process_one(tmp_path: Path) -> None:
    env = {**os.environ, "PROMPTCACHE_TUI_SIM_RATE": "0"}
    code = "from promptcache_tui.cli.sim_cmd import sim; sim()"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", code, "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found, line
        # The socket listens before the line is printed: no need to wait for uvicorn.
        with anthropic.Anthropic(api_key="k", base_url=found.group(0), max_retries=0) as sdk:
            written = sdk.messages.create(**doc_request(2000))
            assert written.usage.cache_creation_input_tokens == 2000
        with (
            InProcessSimulator(tmp_path, rate=0) as local,
            anthropic.Anthropic(api_key="k", base_url=local.base_url, max_retries=0) as sdk,
        ):
            assert sdk.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 2000
    finally:
        proc.terminate()
        proc.wait(timeout=10)
