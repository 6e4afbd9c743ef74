"""A call the API may have charged for is never lost: real processes, real signals, the
simulator over HTTP in its own process.

Each test counts what the simulator served (its access log) against the rows logged.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import Cli
from tests.reliability.processes import CliProcess, SimProcess, call_rows, wait_until

KEY = "sk-ant-api03-interrupt-test-0123456789abcdefABCDEF"
LONG_QUESTION = "Tell me everything in detail about the village, the harbour and the nets."
DB_NAME = "promptcache.sqlite3"


@pytest.fixture
def paced_sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimProcess]:
    """A simulator answering at 40 tokens/s: a long answer takes many seconds to stream."""
    sim = SimProcess(tmp_path / "remote", rate=40)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
    try:
        yield sim
    finally:
        sim.stop()


def _in_flight_with_usage(db: Path) -> bool:
    rows = call_rows(db)
    return bool(rows) and rows[-1]["status"] == "in_flight" and rows[-1]["input_tokens"] > 0


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "sig, code",
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_mid_answer_logs_the_call_as_interrupted(
    story: str, isolated_env: Path, paced_sim: SimProcess, sig: signal.Signals, code: int
) -> None:
    db = isolated_env / DB_NAME
    ask = CliProcess("ask", story, LONG_QUESTION)
    # Mid-answer: the row has its input-side usage and answer text has reached stdout.
    wait_until(lambda: _in_flight_with_usage(db), "the in-flight row with its usage")
    wait_until(lambda: ask.out.data, "the first words of the answer")
    ask.signal(sig)
    assert ask.finish() == code
    line = _one_line(ask.err.text())
    [row] = call_rows(db)
    expected = f"interrupted by {sig.name}: call {row['id']} logged as interrupted"
    assert line == f"promptcache-tui: error: {expected}"
    assert row["status"] == "interrupted" and sig.name in row["error"]
    assert row["cache_creation_input_tokens"] > 1000  # written at message_start: billed
    assert row["cost_usd"] > 0
    assert paced_sim.served() == 1 == len(call_rows(db))
    assert KEY not in db.read_bytes().decode("latin-1")


def test_sigkill_mid_answer_is_settled_by_the_next_command_once(
    cli: Cli, story: str, isolated_env: Path, paced_sim: SimProcess
) -> None:
    db = isolated_env / DB_NAME
    ask = CliProcess("ask", story, LONG_QUESTION)
    wait_until(lambda: _in_flight_with_usage(db), "the in-flight row with its usage")
    ask.signal(signal.SIGKILL)
    assert ask.finish() == -signal.SIGKILL
    assert [r["status"] for r in call_rows(db)] == ["in_flight"]
    # The next process to open the store settles it; later ones find nothing to do.
    [logged] = json.loads(cli("history", "--format", "json").out)
    assert logged["status"] == "interrupted" and logged["cache_creation_input_tokens"] > 1000
    for _ in range(2):
        [group] = json.loads(cli("stats", "--format", "json").out)
        assert group["calls"] == 1
        assert group["cache_creation_input_tokens"] == logged["cache_creation_input_tokens"]
    assert paced_sim.served() == 1 == len(call_rows(db))


def test_a_signal_before_any_answer_still_logs_the_call(
    story: str, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow prefill: the warm-up is out, nothing has come back yet. Its row already exists.
    sim = SimProcess(tmp_path / "slow", rate=0, prefill_rate=50)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
    try:
        db = isolated_env / DB_NAME
        warm = CliProcess("warm", story)
        wait_until(lambda: [r["status"] for r in call_rows(db)] == ["in_flight"], "the row")
        warm.signal(signal.SIGTERM)
        assert warm.finish() == 143
        assert "interrupted by SIGTERM" in _one_line(warm.err.text())
        [row] = call_rows(db)
        assert (row["kind"], row["status"]) == ("warm", "interrupted")
    finally:
        sim.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_signal_at_the_last_byte_loses_nothing_and_counts_once(
    cli: Cli, story: str, isolated_env: Path, paced_sim: SimProcess, sig: signal.Signals
) -> None:
    db = isolated_env / DB_NAME
    # The whole answer, as the reference run prints it (the simulator is deterministic).
    reference = CliProcess("ask", story, "Where did Aria walk every morning?")
    assert reference.finish() == 0
    answer = reference.out.data.rstrip(b"\n")
    ask = CliProcess("ask", story, "Where did Aria walk every morning?")
    wait_until(lambda: ask.out.data.rstrip(b"\n") == answer, "the last byte of the answer")
    ask.signal(sig)
    code = ask.finish()
    cli("context", "list")  # the next process to open the store
    rows = call_rows(db)
    assert len(rows) == 2 == paced_sim.served()
    last = rows[-1]
    # Either it had settled (ok) or it is settled now; never lost, never in flight.
    assert last["status"] in ("ok", "interrupted"), last["status"]
    if code == 0:
        assert last["status"] == "ok"
    if last["status"] == "ok":
        assert last["output_tokens"] == rows[0]["output_tokens"]
    [group] = json.loads(cli("stats", "--format", "json").out)
    assert group["calls"] == 2


def test_a_closed_pipe_is_not_an_error_of_the_call(
    story: str, isolated_env: Path, paced_sim: SimProcess
) -> None:
    db = isolated_env / DB_NAME
    pipeline = f'"{sys.executable}" -m promptcache_tui ask {story} "{LONG_QUESTION}" | head -c 100'
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) == 100
    err = done.stderr.decode()
    assert "error" not in err and "Traceback" not in err and "BrokenPipe" not in err
    assert "INTERRUPTED" in _one_line(err)  # the summary says so
    [row] = call_rows(db)
    assert row["status"] == "interrupted" and "stdout was closed" in row["error"]
    assert paced_sim.served() == 1
