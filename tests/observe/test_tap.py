"""The usage tap: what a response body says about its usage, however it is cut up."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from promptcache_tui.observe.tap import MAX_EVENT_BYTES, UsageTap

from .upstream import message_end, message_start, sse, text_events

USAGE = {
    "input_tokens": 5,
    "cache_creation_input_tokens": 300,
    "cache_read_input_tokens": 7000,
    "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
    "output_tokens": 1,
}
STREAM = b"".join([message_start(USAGE, "msg_1"), *text_events("Hi there"), *message_end(42)])


def tapped(body: bytes, sizes: int, content_type: str = "text/event-stream", **kw: str) -> UsageTap:
    tap = UsageTap(content_type, kw.get("encoding"), clock=lambda: 1.0)
    for start in range(0, len(body), sizes):
        tap.feed(body[start : start + sizes])
    tap.close()
    return tap


@pytest.mark.parametrize("size", [1, 7, 64, len(STREAM)])
def test_a_stream_cut_anywhere_gives_the_same_usage(size: int) -> None:
    result = tapped(STREAM, size).result
    usage = result.to_usage()
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (5, 7000, 42)
    assert (usage.cache_creation_5m_tokens, usage.cache_creation_1h_tokens) == (100, 200)
    assert result.message_id == "msg_1" and result.stop_reason == "end_turn"
    assert result.complete and result.first_delta_at == 1.0


def test_crlf_framing_and_missing_event_lines() -> None:
    crlf = STREAM.replace(b"\n", b"\r\n")
    assert tapped(crlf, 5).result.to_usage().output_tokens == 42
    bare = b"".join(line + b"\n" for line in STREAM.split(b"\n") if not line.startswith(b"event:"))
    result = tapped(bare, 9).result
    assert result.to_usage().cache_read_input_tokens == 7000 and result.complete


def test_an_error_event_mid_stream() -> None:
    body = message_start(USAGE) + sse(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    result = tapped(body, 11).result
    assert result.error_type == "overloaded_error" and result.error_message == "Overloaded"
    assert not result.complete and result.to_usage().cache_read_input_tokens == 7000


def test_json_bodies_plain_and_compressed() -> None:
    message = {"id": "msg_2", "type": "message", "usage": USAGE, "stop_reason": "max_tokens"}
    raw = json.dumps(message).encode()
    for encoding, body in (
        (None, raw),
        ("gzip", gzip.compress(raw)),
        ("deflate", zlib.compress(raw)),
        ("deflate", _raw_deflate(raw)),
    ):
        kw = {"encoding": encoding} if encoding else {}
        result = tapped(body, 13, "application/json", **kw).result
        assert result.message_id == "msg_2" and result.stop_reason == "max_tokens", encoding
        assert result.to_usage().cache_creation_1h_tokens == 200


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


def test_an_error_body_and_what_cannot_be_read() -> None:
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    result = tapped(json.dumps(error).encode(), 4, "application/json").result
    assert result.error_type == "rate_limit_error" and not result.has_usage
    assert tapped(b"{not json", 3, "application/json").result.unreadable
    assert tapped(STREAM, 50, encoding="br").result.unreadable == "content-encoding br"


def test_a_runaway_line_is_dropped_and_reading_goes_on() -> None:
    huge = b"data: " + b"x" * (MAX_EVENT_BYTES + 10) + b"\n\n"
    result = tapped(huge + STREAM, 1 << 20).result
    assert result.to_usage().output_tokens == 42
