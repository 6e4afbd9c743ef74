"""A scripted upstream for proxy tests: it records what reached it and answers as told.

Served by uvicorn in a thread on a loopback port, like the simulator. Answers are scripted
per test: a fixed body, a stream whose chunks wait on events the test sets, or nothing at
all (to make the proxy time out).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Scope = dict[str, Any]
Handler = Callable[["Seen", Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[None]]


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (lower-case name)."""
        return next((v for k, v in self.headers if k == name), None)


@dataclass
class Gate:
    """An event the test sets from its own thread to let the upstream go on."""

    loop: asyncio.AbstractEventLoop | None = None
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def open(self) -> None:
        """Let the waiting answer continue."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.event.set)

    async def wait(self) -> None:
        """Wait until the test opens the gate."""
        await self.event.wait()


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event, framed as the API frames it."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def message_start(usage: dict[str, Any], message_id: str = "msg_scripted") -> bytes:
    """The opening event of a streamed answer, with its input-side usage."""
    return sse(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-6",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
        },
    )


def text_events(text: str) -> list[bytes]:
    """A text block's start, one delta, and its stop."""
    return [
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]


def message_end(output_tokens: int) -> list[bytes]:
    """message_delta (stop reason, cumulative output) and message_stop."""
    return [
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]


class ScriptedUpstream:
    """An ASGI app answering with `handler`, recording every request in `seen`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen = Seen(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode(),
            headers=[(k.decode(), v.decode()) for k, v in scope["headers"]],
            body=body,
        )
        self.seen.append(seen)
        await self.handler(seen, send)

    @property
    def base_url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def gate(self) -> Gate:
        """A gate bound to this upstream's event loop (create it after `start`)."""
        gate = Gate(loop=self.loop)
        return gate

    def start(self) -> ScriptedUpstream:
        """Serve in a daemon thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self, log_config=None, log_level="error", lifespan="off")
        server = uvicorn.Server(config)
        self._server = server

        def run() -> None:
            async def main() -> None:
                self.loop = asyncio.get_running_loop()
                await server.serve(sockets=[sock])

            asyncio.run(main())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the scripted upstream did not start"
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def reply(
    send: Any,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json",
) -> None:
    """A whole response at once."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})
