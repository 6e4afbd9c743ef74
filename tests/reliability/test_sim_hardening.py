"""The simulator is not a target: hostile hook input, web pages, deep JSON, lost clients.

Over HTTP against an in-process simulator, and against a real `promptcache-tui sim`
process where the behaviour is the process's (its warning, its log).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.sim.server import MAX_ADVANCE_S, MAX_FAULT_COUNT, MAX_JSON_DEPTH

MODEL = "claude-sonnet-4-6"
JSON = {"content-type": "application/json"}
API = {**JSON, "x-api-key": "k", "anthropic-version": "2023-06-01"}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[InProcessSimulator]:
    with InProcessSimulator(tmp_path / "sim", rate=0) as server:
        yield server


def send(
    base: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One raw request: status and decoded JSON body."""
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def state(sim: InProcessSimulator) -> Any:
    return send(sim.base_url, "GET", "/_sim/state")[1]


def assert_refused(status: int, body: Any, code: int = 400) -> str:
    """An error in the API's shape, with no internal detail; returns its message."""
    assert status == code, body
    assert body["type"] == "error"
    assert body["request_id"].startswith("req_")
    message = body["error"]["message"]
    assert "Traceback" not in message and "Internal" not in message
    return str(message)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"seconds": NaN}',
        b'{"seconds": Infinity}',
        b'{"seconds": -Infinity}',
        b'{"seconds": 1e999}',
        b'{"seconds": "301"}',
        b'{"seconds": true}',
        b'{"seconds": null}',
        b'{"seconds": -1}',
        b'{"seconds": [301]}',
        b'{"second": 301}',
        b'{"seconds": 301, "extra": 1}',
        b"[301]",
        b"301",
        b"",
    ],
)
def test_bad_advance_bodies_are_400_and_change_nothing(sim: InProcessSimulator, raw: bytes) -> None:
    status, body = send(sim.base_url, "POST", "/_sim/advance", raw, JSON)
    assert_refused(status, body)
    assert state(sim)["offset"] == 0
    # The simulator still answers normally: nothing bad was stored.
    with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as sdk:
        sdk.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "Hi"}])


@pytest.mark.parametrize(
    ("seconds", "ok"),
    [(0, True), (MAX_ADVANCE_S - 1, True), (MAX_ADVANCE_S, True), (MAX_ADVANCE_S + 1, False)],
)
def test_advance_is_bounded(sim: InProcessSimulator, seconds: float, ok: bool) -> None:
    status, body = send(
        sim.base_url, "POST", "/_sim/advance", json.dumps({"seconds": seconds}).encode(), JSON
    )
    if ok:
        assert status == 200 and body["offset"] == seconds
    else:
        assert "seconds: Input should be a number from 0 to" in assert_refused(status, body)
        assert state(sim)["offset"] == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 418},
        {"status": "429"},
        {"status": True},
        {"status": 429, "count": 0},
        {"status": 429, "count": 1.5},
        {"status": 429, "count": MAX_FAULT_COUNT + 1},
        {"status": 429, "retry_after": -1},
        {"status": 429, "retry_after": 86_401},
        {"drop_after_events": -1},
        {"drop_after_events": 2, "error_after_events": 2},
        {"drop_after_events": 2, "status": 500},
        {"error_after_events": 2, "status": 429},
        {"status": 429, "colour": "red"},
    ],
)
def test_bad_fault_bodies_are_400_and_queue_nothing(sim: InProcessSimulator, fault: Any) -> None:
    status, body = send(sim.base_url, "POST", "/_sim/faults", json.dumps(fault).encode(), JSON)
    assert_refused(status, body)
    assert state(sim)["pending_faults"] == []


def test_fault_count_limit(sim: InProcessSimulator) -> None:
    for count, code in ((MAX_FAULT_COUNT, 200), (MAX_FAULT_COUNT - 1, 200)):
        body = json.dumps({"status": 500, "count": count}).encode()
        assert send(sim.base_url, "POST", "/_sim/faults", body, JSON)[0] == code


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sim/advance", b'{"seconds": 301}'),
        ("/_sim/faults", b'{"status": 500}'),
        ("/_sim/reset", b"{}"),
        ("/v1/messages", json.dumps({"model": MODEL, "max_tokens": 5, "messages": []}).encode()),
    ],
)
def test_non_json_bodies_are_refused(
    sim: InProcessSimulator, content_type: str | None, path: str, body: bytes
) -> None:
    send(sim.base_url, "POST", "/_sim/advance", b'{"seconds": 5}', JSON)
    headers = {k: v for k, v in API.items() if k != "content-type"}
    if content_type:
        headers["content-type"] = content_type
    status, answer = send(sim.base_url, "POST", path, body, headers)
    assert "content-type: must be application/json" in assert_refused(status, answer)
    after = state(sim)
    assert (after["offset"], after["pending_faults"]) == (5, [])  # nothing reset, nothing queued


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://evil.example:8787", "null", "http://127.0.0.1.evil.example"],
)
@pytest.mark.parametrize("path", ["/_sim/reset", "/_sim/state", "/v1/models"])
def test_requests_from_web_pages_are_refused(
    sim: InProcessSimulator, origin: str, path: str
) -> None:
    send(sim.base_url, "POST", "/_sim/advance", b'{"seconds": 5}', JSON)
    method, body = ("POST", b"{}") if path == "/_sim/reset" else ("GET", None)
    status, answer = send(sim.base_url, method, path, body, {**API, "origin": origin})
    assert "requests from web pages are refused" in assert_refused(status, answer, 403)
    assert answer["error"]["type"] == "permission_error"
    assert state(sim)["offset"] == 5


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "http://127.0.0.1:8787", "http://[::1]:9"]
)
def test_loopback_origins_are_served(sim: InProcessSimulator, origin: str) -> None:
    assert send(sim.base_url, "GET", "/_sim/state", None, {"origin": origin})[0] == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8787", "192.168.1.20:8787", "localhost.evil.example"]
)
def test_non_loopback_hosts_are_refused(sim: InProcessSimulator, host: str) -> None:
    status, answer = send(sim.base_url, "POST", "/_sim/reset", b"{}", {**JSON, "host": host})
    assert "is not a loopback name" in assert_refused(status, answer, 403)


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8787", "127.0.0.1:1", "127.5.6.7", "[::1]:8787"]
)
def test_loopback_hosts_are_served(sim: InProcessSimulator, host: str) -> None:
    assert send(sim.base_url, "GET", "/_sim/state", None, {"host": host})[0] == 200


def test_allow_remote_serves_any_host_but_no_web_page(tmp_path: Path) -> None:
    from promptcache_tui.sim import server as sim_server

    app = sim_server.create_app(tmp_path, rate=0, allow_remote=True)
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://sim.lan:8787") as http:
        assert http.get("/_sim/state").status_code == 200
        assert (
            http.get("/_sim/state", headers={"origin": "https://evil.example"}).status_code == 403
        )
    app.state.sim.close()


def _nested(depth: int) -> bytes:
    return b'{"seconds": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        (MAX_JSON_DEPTH, "seconds: Input should be a number"),
        (MAX_JSON_DEPTH + 1, f"nested more than {MAX_JSON_DEPTH} levels deep"),
        (1_000, f"nested more than {MAX_JSON_DEPTH} levels deep"),
        (100_000, f"nested more than {MAX_JSON_DEPTH} levels deep"),
    ],
)
def test_deep_json_is_a_400(sim: InProcessSimulator, depth: int, message: str) -> None:
    status, body = send(sim.base_url, "POST", "/_sim/advance", _nested(depth), JSON)
    assert message in assert_refused(status, body)
    deep = (
        b'{"model": "m", "max_tokens": 1, "messages": [], "metadata": '
        + b"[" * 1000
        + b"]" * 1000
        + b"}"
    )
    status, body = send(sim.base_url, "POST", "/v1/messages", deep, API)
    assert "nested more than" in assert_refused(status, body)


# -- a real `promptcache-tui sim` process ---------------------------------------------


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PROMPTCACHE_TUI_SIM_RATE": "400"}
    code = "from promptcache_tui.cli.main import main; main()"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-c",
            code,
            "sim",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    found = re.search(r"http://[^\s]+:(\d+)", proc.stdout.readline())
    assert found, proc.stderr and proc.stderr.read()
    return proc, found.group(1)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=15)
    return err


def test_allow_remote_prints_that_any_key_is_accepted(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, "--allow-remote")
    err = _stop(proc)
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "accepts any API key" in warnings[0]


def test_a_client_leaving_mid_stream_is_no_traceback(tmp_path: Path) -> None:
    proc, port = _start(tmp_path)
    try:
        document = "The harbour keeps the boats safe through the winter storms. " * 300
        body = json.dumps(
            {
                "model": MODEL,
                "max_tokens": 4000,
                "stream": True,
                "system": document,
                "messages": [{"role": "user", "content": "Tell me everything about the harbour"}],
            }
        ).encode()
        head = (
            f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-api-key: k\r\n"
            "anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        for abrupt in (False, True):
            with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as conn:
                conn.sendall(head + body)
                received = b""
                while b"content_block_delta" not in received:  # the answer is streaming
                    chunk = conn.recv(4096)
                    assert chunk, received
                    received += chunk
                if abrupt:  # a reset rather than a clean close
                    conn.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
        # The server notices the lost client and still answers the next one.
        with anthropic.Anthropic(
            api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0
        ) as sdk:
            deadline = time.monotonic() + 10
            while True:
                try:
                    sdk.messages.create(
                        model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "Hi"}]
                    )
                    break
                except anthropic.APIConnectionError:
                    assert time.monotonic() < deadline
    finally:
        err = _stop(proc)
    assert "Traceback" not in err, err
    assert "ERROR" not in err, err
