"""The recording proxy: an ASGI app that forwards `/v1/...` to one upstream and taps usage.

A request is forwarded as it came (method, path, query string, headers, body) to the
configured upstream only; the answer goes back chunk by chunk as it arrives, with the
upstream's status and headers. Hop-by-hop headers are the only ones dropped, and one header
is narrowed on recorded calls: `accept-encoding` loses the encodings the tap cannot read
(`br`, `zstd`), so the answer comes back in one it can.

`POST /v1/messages` calls are reported to a `Recorder` (start, then end); nothing here waits
on the disk. Safety: requests with a browser `Origin` (or `Sec-Fetch-Site` other than
`none`) are refused, and so are `Host` headers that are not loopback unless remote use was
allowed; only paths under `/v1/` are forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets as random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import httpx2

from promptcache_tui.core.clock import Clock, wall_clock
from promptcache_tui.core.hosts import is_loopback
from promptcache_tui.observe.exchange import Exchange, Recorder
from promptcache_tui.observe.tap import DECODABLE, UsageTap

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_UPSTREAM = "https://api.anthropic.com"
MAX_BODY_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 600.0  # what the SDKs allow a long answer (Claude Code: x-stainless-timeout)
RECORDED = ("/v1/messages",)
START_REPORT_DELAY_S = 0.05  # a call is reported in flight by then, first token or not
# Headers that belong to one connection, not to the request (RFC 9110 7.6.1), plus the two
# the HTTP client recomputes for the upstream connection.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
_log = logging.getLogger("promptcache_tui.proxy")
_log.addHandler(logging.NullHandler())


class UpstreamBroke(Exception):
    """The upstream's answer ended early: the client's response is cut the same way."""


class _QuietBreaks(logging.Filter):
    """Keeps uvicorn from printing a traceback for an answer cut short on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, UpstreamBroke)


def install_log_filter() -> None:
    """Silence uvicorn's traceback for a relayed broken stream (it is already reported)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietBreaks) for f in logger.filters):
        logger.addFilter(_QuietBreaks())


def host_of(value: str) -> str:
    """The host part of a Host header (`[::1]:8788` -> `::1`, `localhost:1` -> `localhost`)."""
    value = value.strip()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def error_body(kind: str, message: str, request_id: str) -> bytes:
    """An error in the API's shape, so SDKs raise (and retry) as they would upstream."""
    return json.dumps(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id},
        separators=(",", ":"),
    ).encode()


def _request_id() -> str:
    return "req_proxy_" + random.token_hex(12)


def _narrow_accept_encoding(value: bytes) -> bytes:
    """Keep only the encodings the tap can read (`gzip, deflate, br` -> `gzip, deflate`)."""
    kept = []
    for part in value.decode("latin-1").split(","):
        name = part.split(";", 1)[0].strip().lower()
        if name in DECODABLE or name == "*":
            kept.append(part.strip() if name != "*" else "identity")
    return ", ".join(kept).encode("latin-1") if kept else b"identity"


def _credentials(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, ...]:
    found: list[str] = []
    for name, value in headers:
        if name == b"x-api-key":
            found.append(value.decode("latin-1").strip())
        elif name == b"authorization":
            text = value.decode("latin-1").strip()
            found.append(text.split(None, 1)[1] if " " in text else text)
    return tuple(v for v in found if v)


class ProxyApp:
    """The proxy as an ASGI application (serve it with uvicorn, or mount it in tests)."""

    def __init__(
        self,
        upstream: str,
        *,
        recorder: Recorder | None = None,
        allow_remote: bool = False,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Clock = wall_clock,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.recorder = recorder
        self.allow_remote = allow_remote
        self.max_body_bytes = max_body_bytes
        self._clock = clock
        self._timeout = httpx2.Timeout(read_timeout, connect=connect_timeout)
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None

    def client(self) -> httpx2.AsyncClient:
        """The upstream HTTP client, created on first use (one connection pool)."""
        if self._client is None:
            self._client = httpx2.AsyncClient(
                timeout=self._timeout,
                # No pool limit the clients would not have had going direct.
                limits=httpx2.Limits(max_connections=None, max_keepalive_connections=64),
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        """Close the upstream connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: not part of the API; the server closes them
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, kind, message = refusal
            await self._reply(send, status, kind, message)
            return
        declared = next((v for k, v in headers if k == b"content-length"), None)
        if (
            declared is not None
            and declared.strip().isdigit()
            and (int(declared) > self.max_body_bytes)
        ):
            await self._too_large(send)
            return
        body = await self._read_body(receive)
        if body is None:
            await self._too_large(send)
            return
        recorded = scope["method"] == "POST" and scope["path"] in RECORDED
        exchange = None
        timer: asyncio.TimerHandle | None = None
        if recorded and self.recorder is not None:
            arrived, perf_arrived = self._clock(), time.perf_counter()
            await self.recorder.room()  # waits only when the log is far behind
            exchange = Exchange(
                method=scope["method"],
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                user_agent=_header(headers, b"user-agent"),
                body=body,
                started_at=arrived,
                perf_start=perf_arrived,
                secrets=_credentials(headers),
            )
            self.recorder.started(exchange)
            # The row in flight is written once the first token is on its way to the
            # client (or 50 ms in, for a long prefill): the log's work then never
            # delays a first token.
            timer = asyncio.get_running_loop().call_later(
                START_REPORT_DELAY_S, self._report_start, exchange
            )
        try:
            await self._relay(scope, receive, send, headers, body, exchange, recorded)
        finally:
            if exchange is not None and self.recorder is not None:
                if timer is not None:
                    timer.cancel()
                if exchange.outcome == "in_flight":
                    exchange.outcome = "interrupted"
                    exchange.error = exchange.error or "the proxy stopped before the answer ended"
                self._report_start(exchange)
                self.recorder.finished(exchange)

    def _report_start(self, exchange: Exchange) -> None:
        if not exchange.reported and self.recorder is not None:
            exchange.reported = True
            self.recorder.streaming(exchange)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _refusal(
        self, scope: Scope, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, str, str] | None:
        origin = _header(headers, b"origin")
        site = _header(headers, b"sec-fetch-site")
        if origin is not None or (site is not None and site.lower() != "none"):
            return (
                403,
                "permission_error",
                "promptcache-tui proxy: requests from web pages are refused (a browser sent "
                "this request; call the proxy from a program instead)",
            )
        host = _header(headers, b"host")
        if not self.allow_remote and (host is None or not is_loopback(host_of(host))):
            return (
                403,
                "permission_error",
                "promptcache-tui proxy: only loopback Host names are served "
                "(start it with --allow-remote to serve others)",
            )
        if not scope["path"].startswith("/v1/"):
            return (
                404,
                "not_found_error",
                "promptcache-tui proxy: only /v1/... API paths are forwarded",
            )
        return None

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole request body, or None past the size limit."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    async def _too_large(self, send: Send) -> None:
        await self._reply(
            send,
            413,
            "request_too_large",
            f"Request exceeds the maximum size of {self.max_body_bytes} bytes.",
        )

    async def _reply(self, send: Send, status: int, kind: str, message: str) -> None:
        request_id = _request_id()
        body = error_body(kind, message, request_id)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _upstream_request(
        self, scope: Scope, headers: list[tuple[bytes, bytes]], body: bytes, recorded: bool
    ) -> httpx2.Request:
        forwarded: list[tuple[bytes, bytes]] = []
        for name, value in headers:
            if name in _HOP_BY_HOP:
                continue
            if name == b"accept-encoding" and recorded:
                value = _narrow_accept_encoding(value)
            forwarded.append((name, value))
        target = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        url = self.upstream + target.decode("latin-1")
        if query:
            url += "?" + query.decode("latin-1")
        # A bare Request is sent as built: no client default headers are added to it.
        return httpx2.Request(scope["method"], url, headers=forwarded, content=body)

    async def _relay(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        exchange: Exchange | None,
        recorded: bool,
    ) -> None:
        forward = asyncio.ensure_future(
            self._forward(scope, send, headers, body, exchange, recorded)
        )
        hangup = asyncio.ensure_future(_disconnected(receive))
        try:
            done, _ = await asyncio.wait({forward, hangup}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            forward.cancel()
            hangup.cancel()
            raise
        if forward in done:
            hangup.cancel()
            forward.result()
            return
        # The client went away first: stop reading the upstream's answer.
        forward.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await forward
        if exchange is not None and exchange.outcome == "in_flight":
            exchange.outcome = "interrupted"
            exchange.error = "the client disconnected before the answer ended"
            _finish_timing(exchange)

    async def _forward(
        self,
        scope: Scope,
        send: Send,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        exchange: Exchange | None,
        recorded: bool,
    ) -> None:
        request = self._upstream_request(scope, headers, body, recorded)
        try:
            response = await self.client().send(request, stream=True)
        except httpx2.TimeoutException:
            message = f"promptcache-tui proxy: the upstream {self.upstream} timed out"
            await self._fail(send, exchange, 504, "timeout_error", message)
            return
        except httpx2.HTTPError as exc:
            message = f"promptcache-tui proxy: cannot reach the upstream {self.upstream}: {exc}"
            await self._fail(send, exchange, 502, "api_error", message)
            return
        tap = None
        if exchange is not None:
            exchange.status = response.status_code
            exchange.request_id = response.headers.get("request-id")
            tap = UsageTap(
                response.headers.get("content-type"), response.headers.get("content-encoding")
            )
            exchange.tap = tap.result
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    # Raw bytes go back, so the upstream's content-length stays right.
                    "headers": [
                        (k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP
                    ],
                }
            )
            async for chunk in _bursts(response):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if tap is not None:
                    tap.feed(chunk)
                    if exchange is not None and tap.result.first_delta_at is not None:
                        self._report_start(exchange)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx2.HTTPError as exc:
            if exchange is not None:
                exchange.outcome = "interrupted"
                exchange.error = (
                    f"the upstream's answer broke off ({type(exc).__name__}); "
                    "the client got it cut short"
                )
                _close_tap(exchange, tap)
            raise UpstreamBroke(str(exc)) from exc
        finally:
            await response.aclose()
        if exchange is not None:
            _close_tap(exchange, tap)
            _settle(exchange)

    async def _fail(
        self, send: Send, exchange: Exchange | None, status: int, kind: str, message: str
    ) -> None:
        _log.warning("%s", message)
        if exchange is not None:
            exchange.status = status
            exchange.outcome = "error"
            exchange.error = message
            _finish_timing(exchange)
        await self._reply(send, status, kind, message)


async def _bursts(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The response's raw chunks as they arrive, those that arrived together joined.

    A read from the network often holds several SSE events; sending each on its own costs a
    system call apiece. A reader task takes chunks as fast as they come, and each burst
    already received goes out as one write: nothing ever waits to be joined.
    """
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()

    async def read() -> None:
        try:
            async for chunk in response.aiter_raw():
                queue.put_nowait(chunk)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put_nowait(exc)
            return
        queue.put_nowait(None)

    reader = asyncio.ensure_future(read())
    try:
        while True:
            item = await queue.get()
            parts: list[bytes] = []
            while True:
                if item is None or isinstance(item, BaseException):
                    if parts:
                        yield b"".join(parts)
                    if isinstance(item, BaseException):
                        raise item
                    return
                parts.append(item)
                if queue.empty():
                    break
                item = queue.get_nowait()
            yield b"".join(parts)
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


async def _disconnected(receive: Receive) -> None:
    """Returns when the client hangs up (or the response is complete)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def _finish_timing(exchange: Exchange) -> None:
    if exchange.duration_ms is None:
        exchange.duration_ms = (time.perf_counter() - exchange.perf_start) * 1000
    tap = exchange.tap
    if tap is not None and tap.first_delta_at is not None and exchange.ttft_ms is None:
        exchange.ttft_ms = (tap.first_delta_at - exchange.perf_start) * 1000


def _close_tap(exchange: Exchange, tap: UsageTap | None) -> None:
    if tap is not None:
        tap.close()
    _finish_timing(exchange)


def _settle(exchange: Exchange) -> None:
    """ok, error or interrupted, from the status and what the body said."""
    result = exchange.tap
    status = exchange.status or 0
    if status >= 400 or (result is not None and result.error_type):
        exchange.outcome = "error"
        kind = result.error_type if result and result.error_type else "error"
        message = result.error_message if result and result.error_message else ""
        where = str(status) if status >= 400 else "mid-stream"
        exchange.error = f"API error {where} {kind}: {message}".rstrip(": ")
        return
    if result is not None and result.streamed and not result.complete:
        exchange.outcome = "interrupted"
        exchange.error = "the stream ended before message_stop"
        return
    exchange.outcome = "ok"
