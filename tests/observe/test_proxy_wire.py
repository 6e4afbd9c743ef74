"""The proxy on the wire: what it forwards, what it refuses, and how it fails."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from promptcache_tui.observe.proxy import MAX_BODY_BYTES
from promptcache_tui.observe.server import ProxyServer
from promptcache_tui.store import StoreError

from .conftest import SECRET, calls, wait_until
from .upstream import (
    Gate,
    ScriptedUpstream,
    Seen,
    message_end,
    message_start,
    reply,
    text_events,
)

USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 3000,
    "cache_read_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    "output_tokens": 1,
}
BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 10,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}
# Spacing and key order no serializer would produce: only a byte-for-byte copy keeps them.
ODD_JSON = (
    b'{ "id":"msg_odd" ,"type":"message","role":"assistant","model":"claude-sonnet-4-6",'
    b'"content":[],"stop_reason":"end_turn","stop_sequence":null,'
    b'"usage":{"output_tokens":2,"input_tokens":7}  }'
)


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def upstream(gate: Gate) -> Iterator[ScriptedUpstream]:
    """Streams message_start at once, then the rest once the test opens the gate."""

    async def handler(seen: Seen, send: Any) -> None:
        if seen.path != "/v1/messages":
            await reply(send, 200, ODD_JSON, [(b"x-upstream", b"yes")])
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"request-id", b"req_scripted"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": message_start(USAGE), "more_body": True})
        await gate.wait()
        for chunk in [*text_events("Hello"), *message_end(5)]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    with ScriptedUpstream(handler) as server:
        gate.loop = server.loop
        yield server


@pytest.fixture
def proxy_to(home: Path, reports: list[str], upstream: ScriptedUpstream) -> Iterator[ProxyServer]:
    with ProxyServer(home, upstream.base_url, report=reports.append) as server:
        yield server


def test_requests_are_forwarded_unchanged(
    proxy_to: ProxyServer, upstream: ScriptedUpstream, gate: Gate
) -> None:
    gate.open()
    body = json.dumps(BODY, indent=3).encode()  # odd formatting survives as sent
    with httpx2.Client() as client:
        response = client.post(
            proxy_to.base_url + "/v1/messages?beta=true",
            content=body,
            headers={
                "x-api-key": SECRET,
                "anthropic-version": "2023-06-01",
                "anthropic-beta": "prompt-caching-scope-2026-01-05,effort-2025-11-24",
                "content-type": "application/json",
                "user-agent": "claude-cli/2.1.197 (external, cli)",
                "x-claude-code-session-id": "abc",
                "accept-encoding": "gzip, deflate, br, zstd",
            },
        )
    assert response.status_code == 200
    (seen,) = upstream.seen
    assert (seen.method, seen.path, seen.query) == ("POST", "/v1/messages", "beta=true")
    assert seen.body == body
    assert seen.header("x-api-key") == SECRET  # the key goes upstream, and only there
    assert seen.header("anthropic-beta") == "prompt-caching-scope-2026-01-05,effort-2025-11-24"
    assert seen.header("user-agent") == "claude-cli/2.1.197 (external, cli)"
    assert seen.header("x-claude-code-session-id") == "abc"
    # The only change: encodings the usage tap cannot read are not offered.
    assert seen.header("accept-encoding") == "gzip, deflate"


def test_other_api_paths_pass_through_byte_for_byte(
    proxy_to: ProxyServer, upstream: ScriptedUpstream, home: Path
) -> None:
    with httpx2.Client() as client:
        response = client.get(
            proxy_to.base_url + "/v1/models?limit=3",
            headers={"x-api-key": SECRET, "accept-encoding": "br"},
        )
    assert response.content == ODD_JSON
    assert response.headers["x-upstream"] == "yes"
    # The upstream's own server and date headers, once: the proxy adds none of its own.
    assert response.headers.get_list("server") == ["uvicorn"]
    assert len(response.headers.get_list("date")) == 1
    (seen,) = upstream.seen
    assert (seen.path, seen.query) == ("/v1/models", "limit=3")
    assert seen.header("accept-encoding") == "br"  # unrecorded paths: untouched
    proxy_to.drain()
    assert calls(home) == []  # only messages calls are logged


def test_a_stream_is_relayed_as_it_arrives_and_the_call_is_in_flight_first(
    proxy_to: ProxyServer, gate: Gate, home: Path
) -> None:
    with (
        httpx2.Client(timeout=30) as client,
        client.stream(
            "POST",
            proxy_to.base_url + "/v1/messages",
            json=BODY,
            headers={"x-api-key": SECRET, "user-agent": "my-agent/0.3"},
        ) as response,
    ):
        chunks = response.iter_raw()
        first = next(chunks)
        # The upstream is still waiting on the gate: the first event came through alone.
        assert first == message_start(USAGE)
        row = wait_until(lambda: calls(home), "the in-flight row")[0]
        assert row["status"] == "in_flight" and row["client"] == "my-agent/0.3"
        gate.open()
        rest = b"".join(chunks)
    assert rest == b"".join([*text_events("Hello"), *message_end(5)])
    proxy_to.drain()
    (row,) = calls(home)
    assert row["status"] == "ok"
    assert row["cache_creation_5m_tokens"] == 1000 and row["cache_creation_1h_tokens"] == 2000
    assert row["output_tokens"] == 5 and row["request_id"] == "req_scripted"
    assert row["ttft_ms"] is not None


def test_a_client_that_hangs_up_leaves_an_interrupted_call(
    proxy_to: ProxyServer, gate: Gate, home: Path
) -> None:
    with (
        httpx2.Client(timeout=30) as client,
        client.stream(
            "POST", proxy_to.base_url + "/v1/messages", json=BODY, headers={"x-api-key": SECRET}
        ) as response,
    ):
        next(response.iter_raw())
    # The client closed the connection with the answer half read.
    row = wait_until(
        lambda: [r for r in calls(home) if r["status"] == "interrupted"], "the interrupted row"
    )[0]
    assert "client disconnected" in row["error"]
    assert row["cache_creation_input_tokens"] == 3000  # message_start's usage is kept
    gate.open()


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"host": "evil.example"},
        {"host": "192.168.1.20:8788"},
    ],
)
def test_browsers_and_foreign_hosts_are_refused(
    proxy_to: ProxyServer, upstream: ScriptedUpstream, headers: dict[str, str]
) -> None:
    with httpx2.Client() as client:
        response = client.post(
            proxy_to.base_url + "/v1/messages", json=BODY, headers={"x-api-key": SECRET, **headers}
        )
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    assert upstream.seen == []


@pytest.mark.parametrize("path", ["/", "/_sim/state", "/v2/messages", "/v1"])
def test_only_api_paths_are_forwarded(
    proxy_to: ProxyServer, upstream: ScriptedUpstream, path: str
) -> None:
    with httpx2.Client() as client:
        response = client.get(proxy_to.base_url + path, headers={"x-api-key": SECRET})
    assert response.status_code == 404
    assert response.json()["type"] == "error"
    assert upstream.seen == []


def test_loopback_hosts_are_served_and_remote_ones_when_allowed(
    home: Path, upstream: ScriptedUpstream, gate: Gate
) -> None:
    gate.open()
    with ProxyServer(home, upstream.base_url, allow_remote=True) as proxy, httpx2.Client() as c:
        response = c.get(proxy.base_url + "/v1/models", headers={"host": "gateway.internal"})
        assert response.status_code == 200
        refused = c.get(proxy.base_url + "/v1/models", headers={"origin": "https://x.example"})
        assert refused.status_code == 403  # browsers stay refused even then
    with ProxyServer(home, upstream.base_url) as proxy, httpx2.Client() as c:
        for host in ("localhost", f"127.0.0.1:{proxy.port}", "[::1]:8788"):
            assert c.get(proxy.base_url + "/v1/models", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(("extra", "status"), [(-1, 200), (0, 200), (1, 413)])
def test_the_body_limit_at_under_and_over(
    home: Path, upstream: ScriptedUpstream, extra: int, status: int
) -> None:
    limit = 4096
    with ProxyServer(home, upstream.base_url) as proxy:
        assert proxy.listen()
        proxy_app_limit(proxy, limit)
        with httpx2.Client() as client:
            response = client.put(proxy.base_url + "/v1/files", content=b"x" * (limit + extra))
    assert response.status_code == status
    if status == 413:
        assert response.json()["error"]["type"] == "request_too_large"


def proxy_app_limit(proxy: ProxyServer, limit: int) -> None:
    """Lower the running proxy's body limit (32 MB is slow to send in every test)."""
    assert proxy.app is not None
    proxy.app.max_body_bytes = limit


def test_the_default_limit_is_the_apis_32_mb(proxy_to: ProxyServer) -> None:
    assert MAX_BODY_BYTES == 32 * 1024 * 1024
    # A body declared one byte over is refused before it is read (a raw socket: HTTP
    # clients will not announce a length they do not send).
    with socket.create_connection(("127.0.0.1", proxy_to.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        )
        answer = b""
        while b"}" not in answer:  # the whole (small) JSON error body, however it is split
            part = sock.recv(4096)
            if not part:
                break
            answer += part
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"request_too_large" in answer


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_an_unreachable_upstream_is_an_api_error_for_the_client_and_in_the_log(
    home: Path, reports: list[str]
) -> None:
    upstream = f"http://127.0.0.1:{_closed_port()}"
    with ProxyServer(home, upstream, report=reports.append) as proxy:
        client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url, max_retries=1)
        with pytest.raises(anthropic.InternalServerError) as raised:
            client.messages.create(**{**BODY, "stream": False})
        proxy.drain()
    assert raised.value.status_code == 502
    assert "cannot reach the upstream" in raised.value.message
    rows = calls(home)
    assert [r["status"] for r in rows] == ["error", "error"]  # the SDK's retry went through too
    assert "cannot reach the upstream" in rows[0]["error"]


def test_an_upstream_that_does_not_answer_times_out(home: Path) -> None:
    async def silent(seen: Seen, send: Any) -> None:
        await never.wait()

    never = Gate()
    with (
        ScriptedUpstream(silent) as upstream,
        ProxyServer(home, upstream.base_url, read_timeout=0.2) as proxy,
    ):
        never.loop = upstream.loop
        client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as raised:
            client.messages.create(**{**BODY, "stream": False})
        proxy.drain()
        never.open()
    assert raised.value.status_code == 504
    assert raised.value.body["error"]["type"] == "timeout_error"
    (row,) = calls(home)
    assert row["status"] == "error" and "timed out" in row["error"]


def test_a_key_the_upstream_echoes_is_redacted_everywhere(home: Path, reports: list[str]) -> None:
    async def echo(seen: Seen, send: Any) -> None:
        sent = seen.header("x-api-key") or seen.header("authorization")
        message = f"invalid credentials: {sent}"  # a careless gateway echoes them
        body = {"type": "error", "error": {"type": "authentication_error", "message": message}}
        await reply(send, 401, json.dumps(body).encode())

    key = "my-gateway-token-00000000000000"  # not shaped like an Anthropic key
    with ScriptedUpstream(echo) as upstream, ProxyServer(home, upstream.base_url) as proxy:
        client = anthropic.Anthropic(api_key=key, base_url=proxy.base_url, max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as raised:
            client.messages.create(**{**BODY, "stream": False})
        proxy.drain()
    assert key in raised.value.message  # the client gets the upstream's answer as it was
    (row,) = calls(home)
    assert row["status"] == "error" and "[redacted]" in row["error"] and key not in row["error"]
    for path in home.iterdir():
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path.name
    assert all(key not in line for line in reports)


def test_a_logging_failure_never_fails_the_call(
    proxy_to: ProxyServer, gate: Gate, home: Path, reports: list[str], monkeypatch: Any
) -> None:
    gate.open()
    assert proxy_to.recorder is not None
    store = proxy_to.recorder.store

    @contextlib.asynccontextmanager
    async def full() -> Any:
        raise StoreError(f"disk full: cannot write to {home / 'promptcache.sqlite3'}")
        yield  # (a generator: the context manager fails on entry)

    monkeypatch.setattr(store.db, "transaction", full)  # every write fails
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy_to.base_url, max_retries=0)
    with client.messages.stream(**{k: v for k, v in BODY.items() if k != "stream"}) as stream:
        assert "".join(stream.text_stream) == "Hello"
    proxy_to.drain()
    assert calls(home) == []
    (line,) = reports
    assert "forwarded but not logged (disk full" in line
    assert "cache write 3000 (5m 1000, 1h 2000)" in line and "output 5" in line
    assert SECRET not in line


def test_a_body_of_exactly_32_mb_is_forwarded(
    proxy_to: ProxyServer, upstream: ScriptedUpstream
) -> None:
    body = b"x" * MAX_BODY_BYTES
    with httpx2.Client(timeout=120) as client:
        response = client.put(proxy_to.base_url + "/v1/files", content=body)
    assert response.status_code == 200
    assert len(upstream.seen[0].body) == MAX_BODY_BYTES
