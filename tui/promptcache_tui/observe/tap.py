"""Read the usage of a Messages API response on the side, as its bytes go by.

The proxy hands every chunk to the client first and to a `UsageTap` second. The tap
understands both shapes of a `/v1/messages` answer: a JSON body (parsed once, at the end) and
a stream of server-sent events, of which it parses only the few that carry usage
(`message_start`, `message_delta`, `error`); the many `content_block_delta` events are only
timed (the first one is the time to first token), never decoded.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from promptcache_tui.core.cost import Usage

# More than any Messages answer (128k output tokens is well under 2 MB of JSON): past it the
# body is still forwarded, only no longer kept for reading.
MAX_JSON_BYTES = 16 * 1024 * 1024
# An SSE line longer than this is not one the tap needs (usage events are a few hundred bytes).
MAX_EVENT_BYTES = 4 * 1024 * 1024
DECODABLE = ("gzip", "x-gzip", "deflate", "identity")
_WANTED = frozenset({"message_start", "message_delta", "message_stop", "error"})
_TYPE = re.compile(rb'"type"\s*:\s*"([a-z_]+)"')


@dataclass(slots=True)
class TapResult:
    """What a response said about itself, as far as it got."""

    message_id: str | None = None
    model: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    split: dict[str, int | None] = field(default_factory=lambda: {"5m": None, "1h": None})
    stop_reason: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    miss_reason: str | None = None  # the API's own diagnosis, when the client asked for it
    missed_tokens: int | None = None
    first_delta_at: float | None = None  # clock time of the first content_block_delta
    complete: bool = False  # message_stop seen, or a whole JSON body read
    streamed: bool = False
    unreadable: str | None = None  # why the body could not be read (an encoding, bad JSON)

    def to_usage(self) -> Usage:
        """The usage reported so far (zeros where nothing was reported)."""
        return Usage.from_counts(
            input_tokens=self.usage.get("input_tokens", 0),
            cache_creation_input_tokens=self.usage.get("cache_creation_input_tokens", 0),
            cache_read_input_tokens=self.usage.get("cache_read_input_tokens", 0),
            output_tokens=self.usage.get("output_tokens", 0),
            ephemeral_5m=self.split["5m"],
            ephemeral_1h=self.split["1h"],
        )

    @property
    def has_usage(self) -> bool:
        """True once any usage figure was seen."""
        return bool(self.usage)

    def take_usage(self, usage: Any) -> None:
        """Merge a usage object (message_delta's counts are cumulative: the latest wins)."""
        if not isinstance(usage, Mapping):
            return
        for name in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        ):
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                self.usage[name] = value
        creation = usage.get("cache_creation")
        if isinstance(creation, Mapping):
            for ttl in ("5m", "1h"):
                value = creation.get(f"ephemeral_{ttl}_input_tokens")
                self.split[ttl] = value if isinstance(value, int) else 0

    def take_message(self, message: Any) -> None:
        """Id, model, usage, stop reason and diagnosis of a message object."""
        if not isinstance(message, Mapping):
            return
        if isinstance(message.get("id"), str):
            self.message_id = message["id"]
        if isinstance(message.get("model"), str):
            self.model = message["model"]
        if isinstance(message.get("stop_reason"), str):
            self.stop_reason = message["stop_reason"]
        self.take_usage(message.get("usage"))
        diagnostics = message.get("diagnostics")
        reason = diagnostics.get("cache_miss_reason") if isinstance(diagnostics, Mapping) else None
        if isinstance(reason, Mapping) and isinstance(reason.get("type"), str):
            self.miss_reason = reason["type"]
            missed = reason.get("cache_missed_input_tokens")
            self.missed_tokens = missed if isinstance(missed, int) else None

    def take_error(self, body: Any) -> None:
        """An API error object: `{"type": "error", "error": {"type", "message"}}`."""
        error = body.get("error") if isinstance(body, Mapping) else None
        if isinstance(error, Mapping):
            kind, message = error.get("type"), error.get("message")
            self.error_type = kind if isinstance(kind, str) else "error"
            self.error_message = message if isinstance(message, str) else None


class _Decoder:
    """Undo a gzip or deflate content-encoding, chunk by chunk."""

    def __init__(self, encoding: str) -> None:
        # wbits 47 reads a gzip or a zlib header; "deflate" is sometimes sent raw (-15).
        self._raw_fallback = encoding == "deflate"
        self._inflate = zlib.decompressobj(47)

    def __call__(self, chunk: bytes) -> bytes:
        try:
            return self._inflate.decompress(chunk)
        except zlib.error:
            if not self._raw_fallback:
                raise
            self._raw_fallback = False
            self._inflate = zlib.decompressobj(-15)
            return self._inflate.decompress(chunk)


class UsageTap:
    """Fed every chunk of one response; `result` says what it carried.

    `feed` never raises: a body the tap cannot read is forwarded all the same, and the
    reason is kept in `result.unreadable`.
    """

    def __init__(
        self,
        content_type: str | None,
        content_encoding: str | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.result = TapResult()
        self._clock = clock
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        self._sse = kind == "text/event-stream"
        self.result.streamed = self._sse
        encoding = (content_encoding or "identity").strip().lower()
        self._decode: Callable[[bytes], bytes] | None = None
        if encoding not in DECODABLE:
            self.result.unreadable = f"content-encoding {encoding}"
        elif encoding != "identity":
            self._decode = _Decoder(encoding)
        self._body = bytearray()  # JSON: the body so far; SSE: the unfinished line
        self._event: str | None = None
        self._data: list[bytes] = []
        self._skipping = False  # inside an event the tap does not need
        self._closed = False

    def feed(self, chunk: bytes) -> None:
        """One chunk of the response body, as it went to the client."""
        if self.result.unreadable or not chunk:
            return
        try:
            data = self._decode(chunk) if self._decode else chunk
        except zlib.error:
            self.result.unreadable = "a corrupt compressed body"
            return
        if not self._sse:
            if len(self._body) + len(data) > MAX_JSON_BYTES:
                self.result.unreadable = "a body over 16 MB"
                self._body.clear()
                return
            self._body += data
            return
        self._feed_sse(data)

    def close(self) -> TapResult:
        """The body is over: read a JSON body, flush a final unterminated event."""
        if self._closed:
            return self.result
        self._closed = True
        if self.result.unreadable:
            return self.result
        if self._sse:
            if self._body:
                self._line(bytes(self._body))
                self._body.clear()
            self._dispatch()
            return self.result
        if not self._body:
            return self.result
        try:
            body = json.loads(bytes(self._body))
        except ValueError:
            self.result.unreadable = "a body that is not JSON"
            return self.result
        finally:
            self._body.clear()
        if isinstance(body, Mapping) and body.get("type") == "error":
            self.result.take_error(body)
        elif isinstance(body, Mapping):
            self.result.take_message(body)
            self.result.complete = True
        return self.result

    def _feed_sse(self, data: bytes) -> None:
        buffer = self._body
        buffer += data
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buffer[start:end])
            start = end + 1
            self._line(line[:-1] if line.endswith(b"\r") else line)
        del buffer[:start]
        if len(buffer) > MAX_EVENT_BYTES:
            # A runaway line: drop it (it is still forwarded), keep reading after it.
            buffer.clear()
            self._skipping = True

    def _line(self, line: bytes) -> None:
        if not line:
            self._dispatch()
            return
        if line.startswith(b"event:"):
            name = line[6:].strip().decode("ascii", "replace")
            self._event = name
            self._skipping = name not in _WANTED
            if name == "content_block_delta" and self.result.first_delta_at is None:
                self.result.first_delta_at = self._clock()
            return
        if self._skipping or not line.startswith(b"data:"):
            return  # comments (": ping"), ids, retry fields, unwanted payloads
        self._data.append(line[6:] if line[5:6] == b" " else line[5:])  # one space is framing

    def _dispatch(self) -> None:
        event, data = self._event, self._data
        self._event, self._data, self._skipping = None, [], False
        if not data:
            return
        payload = b"\n".join(data)
        if event is None:
            # A server that omits `event:` lines: the JSON's own type names the event.
            found = _TYPE.search(payload[:64])
            event = found.group(1).decode() if found else None
            if event == "content_block_delta" and self.result.first_delta_at is None:
                self.result.first_delta_at = self._clock()
            if event not in _WANTED:
                return
        try:
            body = json.loads(payload)
        except ValueError:
            return
        if not isinstance(body, Mapping):
            return
        if event == "message_start":
            self.result.take_message(body.get("message"))
        elif event == "message_delta":
            self.result.take_usage(body.get("usage"))
            delta = body.get("delta")
            if isinstance(delta, Mapping) and isinstance(delta.get("stop_reason"), str):
                self.result.stop_reason = delta["stop_reason"]
        elif event == "message_stop":
            self.result.complete = True
        elif event == "error":
            self.result.take_error(body)
