"""Keep web pages out: the simulator answers local programs, not the browser's tabs.

A page the user visits can send requests to 127.0.0.1 (cross-site requests) or resolve its
own name to it (DNS rebinding). Browsers mark both: the first with an `Origin` header, the
second with the page's name in `Host`. So every request that carries a non-loopback
`Origin`, or (unless `--allow-remote`) a `Host` that is not a loopback name, is refused
with a 403 in the API's error shape. Programs (SDKs, curl, agents) send neither.
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from promptcache_tui.sim.errors import ApiError, new_id


def is_loopback_name(host: str) -> bool:
    """True for `localhost` (and its subdomains) and loopback addresses (127/8, ::1)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(value: str) -> str:
    """The name part of a `Host` header (`[::1]:8787` -> `::1`, `a:1` -> `a`)."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def refusal(headers: dict[str, str], *, allow_remote: bool) -> str | None:
    """Why a request with these (lower-cased) headers is refused, or None."""
    origin = headers.get("origin")
    if origin is not None:
        name = urlsplit(origin).hostname or ""
        if not is_loopback_name(name):
            return (
                f"requests from web pages are refused (Origin: {origin[:100]}); "
                "the simulator answers local programs only"
            )
    host = headers.get("host")
    if not allow_remote and host is not None and not is_loopback_name(_host_name(host)):
        return (
            f"Host {host[:100]!r} is not a loopback name; start the simulator with "
            "--allow-remote to serve other names"
        )
    return None


class LocalOnly:
    """ASGI middleware applying `refusal` to every HTTP request."""

    def __init__(self, app: ASGIApp, *, allow_remote: bool = False) -> None:
        self.app = app
        self.allow_remote = allow_remote

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reason = refusal(headers, allow_remote=self.allow_remote)
        if reason is None:
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id") or new_id("req")
        body = json.dumps(ApiError(403, reason).body(request_id)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
