"""One request through the proxy, as the proxy saw it and the recorder logs it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from promptcache_tui.observe.tap import TapResult

# `claude-cli/2.1.197 (external, cli)` -> `claude-cli/2.1.197`;
# `Anthropic/Python 2.15.0` -> `Anthropic/Python 2.15.0` (the SDKs put the version apart).
_PRODUCT = re.compile(r"^\s*([^\s/()]+(?:/[^\s()]+)?)(?:\s+(v?\d[\w.+-]*))?")
MAX_CLIENT_CHARS = 80


def client_product(user_agent: str | None) -> str | None:
    """The caller's product from its User-Agent (`claude-cli/2.1.197`), or None."""
    if not user_agent:
        return None
    found = _PRODUCT.match(user_agent)
    if not found:
        return None
    product, version = found.group(1), found.group(2)
    if version and not re.search(r"/\S*\d", product):
        product = f"{product} {version}"
    # Only printable ASCII: this is a name shown in tables and stored as a group key.
    cleaned = "".join(ch for ch in product if 32 < ord(ch) < 127 or ch == " ")
    return cleaned[:MAX_CLIENT_CHARS] or None


@dataclass(slots=True)
class Exchange:
    """A recorded request and what became of it.

    `secrets` holds the client's credentials only so that anything logged can be scrubbed
    of them; it is never stored or printed.
    """

    method: str
    path: str
    query: str
    user_agent: str | None
    body: bytes
    started_at: float  # epoch seconds (the recorder's clock) when the request came in
    perf_start: float  # perf_counter at the same moment
    secrets: tuple[str, ...] = field(default=(), repr=False)
    status: int | None = None
    request_id: str | None = None
    tap: TapResult | None = None
    outcome: str = "in_flight"  # then ok | error | interrupted
    error: str | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None
    reported: bool = False  # the recorder was told it is streaming

    @property
    def client(self) -> str | None:
        """The caller's User-Agent product."""
        return client_product(self.user_agent)


class Recorder(Protocol):
    """Where the proxy reports exchanges. Both calls must return at once (no I/O)."""

    async def room(self) -> None:
        """Returns when the recorder can take another call (at once, unless far behind)."""

    def started(self, exchange: Exchange) -> None:
        """A request came in and is being forwarded (count it; nothing to write yet)."""

    def streaming(self, exchange: Exchange) -> None:
        """Its first token is on its way to the client (or it took long): log it in flight."""

    def finished(self, exchange: Exchange) -> None:
        """The response ended (fully, with an error, or cut short)."""
