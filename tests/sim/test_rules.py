"""The December 2026 caching rules, through the official SDK against a loopback simulator."""

from __future__ import annotations

import anthropic

from .prompts import doc_request


def test_usage_reports_speed_and_inference_geo(client: anthropic.Anthropic) -> None:
    plain = client.messages.create(**doc_request(2000))
    assert (plain.usage.speed, plain.usage.inference_geo) == ("standard", "global")
    assert plain.usage.service_tier == "standard"
    fast = client.messages.create(
        **doc_request(2000, model="claude-opus-5"), speed="fast", inference_geo="us"
    )
    assert (fast.usage.speed, fast.usage.inference_geo) == ("fast", "us")
    with client.messages.stream(**doc_request(2000), inference_geo="us") as stream:
        start = next(e for e in stream if e.type == "message_start")
        assert start.message.usage.inference_geo == "us"
