"""API faults from the simulator's hook: a clear message, a logged error, a non-zero exit."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator
from tests.calls.conftest import logged_calls, sim_hook
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.mark.parametrize(
    "status, fragment",
    [
        (429, "rate limited (429)"),
        (500, "API error 500"),
        (529, "overloaded (529"),
    ],
)
def test_status_faults_after_retries(
    cli: Cli,
    book: str,
    isolated_env: Path,
    live_env: InProcessSimulator,
    status: int,
    fragment: str,
) -> None:
    # Three failures: the first try and the SDK's two retries.
    sim_hook(live_env, "/_sim/faults", {"status": status, "count": 3, "retry_after": 0})
    result = cli("ask", book, "What was the story about?")
    assert result.code == 1
    assert fragment in result.err and "Traceback" not in result.err
    [row] = logged_calls(isolated_env)
    assert row["status"] == "error" and fragment in row["error"]
    assert row["kind"] == "ask" and row["prompt"] == "What was the story about?"
    # The app is still usable: the next call goes through.
    assert cli("ask", book, "Again?").code == 0


def test_one_transient_fault_is_retried_by_the_sdk(
    cli: Cli, book: str, isolated_env: Path, live_env: InProcessSimulator
) -> None:
    sim_hook(live_env, "/_sim/faults", {"status": 529, "count": 1})
    result = cli("ask", book, "Q?")
    assert result.code == 0, result.err
    assert [r["status"] for r in logged_calls(isolated_env)] == ["ok"]


def test_dropped_stream_keeps_the_usage_already_reported(
    cli: Cli, book: str, isolated_env: Path, live_env: InProcessSimulator
) -> None:
    sim_hook(live_env, "/_sim/faults", {"drop_after_events": 5, "count": 1})
    result = cli("ask", book, "What was the story about?")
    assert result.code == 1
    # The stream had started: the connection broke mid-answer (never "cannot reach").
    assert result.err == (
        f"promptcache-tui: error: the connection to {live_env.base_url} broke mid-answer "
        "(RemoteProtocolError); the answer is incomplete\n"
    )
    [row] = logged_calls(isolated_env)
    assert row["status"] == "error" and "broke mid-answer" in row["error"]
    # message_start had already reported the prompt side.
    assert row["cache_creation_input_tokens"] + row["input_tokens"] > 1000


def test_connection_refused(
    cli: Cli, book: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    result = cli("ask", book, "Q?")
    assert result.code == 1 and "cannot reach http://127.0.0.1" in result.err
    # One line on stderr only: no zero-usage summary, nothing on stdout.
    assert result.out == "" and len(result.err.strip().splitlines()) == 1, result
    [row] = logged_calls(isolated_env)
    assert row["status"] == "error" and row["live"] == 1
