"""Teach the SDK its streaming types before the first real call.

The anthropic SDK builds its pydantic validators for stream events the first time it parses
one: about 70 ms of schema building, on the event loop, in the middle of the first answer.
Parsing one canned stream through the real SDK, over an in-memory transport (no network,
no key), in a thread at start-up, pays that cost where nobody waits for it.
"""

from __future__ import annotations

import json
from typing import Any

_EVENTS: tuple[dict[str, Any], ...] = (
    {
        "type": "message_start",
        "message": {
            "id": "msg_prime",
            "type": "message",
            "role": "assistant",
            "model": "prime",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 1,
                "output_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            },
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    },
    {"type": "message_stop"},
)
CANNED_STREAM = "".join(
    f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in _EVENTS
).encode()


def prime_sdk() -> str:
    """Stream one canned answer through the SDK's own parser; return its text ("ok")."""
    import httpx2
    from anthropic import Anthropic

    def respond(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=CANNED_STREAM
        )

    with httpx2.Client(transport=httpx2.MockTransport(respond)) as http:
        client = Anthropic(
            api_key="prime", base_url="http://prime.invalid", http_client=http, max_retries=0
        )
        with client.messages.stream(
            model="prime", max_tokens=1, messages=[{"role": "user", "content": "ok"}]
        ) as stream:
            for _ in stream:
                pass
            message = stream.get_final_message()
    block = message.content[0]
    return block.text if block.type == "text" else ""
