"""The December 2026 caching rules, through the official SDK against a loopback simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator

from .hooks import API_KEY, SimHooks
from .prompts import EPHEMERAL, MODEL, doc_request, filler


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


def test_diagnostics_field_is_absent_unless_asked(base_url: str) -> None:
    from .test_wire import AUTH, raw_post

    body = {**doc_request(2000), "max_tokens": 4}
    status, _, raw = raw_post(base_url, "/v1/messages", body, AUTH)
    assert status == 200 and "diagnostics" not in json.loads(raw)
    asked = {**body, "diagnostics": {"previous_message_id": None}}
    status, _, raw = raw_post(base_url, "/v1/messages", asked, AUTH)
    assert status == 200 and json.loads(raw)["diagnostics"] is None


def test_diagnostics_say_system_changed_for_two_uncached_calls(client: anthropic.Anthropic) -> None:
    first = client.messages.create(
        **doc_request(300, cache=None), diagnostics={"previous_message_id": None}
    )
    second = client.messages.create(
        **doc_request(300, cache=None, seed=4), diagnostics={"previous_message_id": first.id}
    )
    assert second.usage.cache_read_input_tokens == 0
    reason = second.diagnostics.cache_miss_reason  # type: ignore[union-attr]
    assert (reason.type, reason.cache_missed_input_tokens) == ("system_changed", 0)  # type: ignore[union-attr]


def test_fast_mode_keys_the_system_tier(client: anthropic.Anthropic) -> None:
    tool = {
        "name": "look",
        "description": filler(600),
        "input_schema": {"type": "object"},
        "cache_control": EPHEMERAL,
    }
    request = {**doc_request(1000, model="claude-opus-5"), "tools": [tool]}
    first = client.messages.create(**request)
    tools_tokens = first.usage.cache_creation_input_tokens - 1000
    fast = client.messages.create(**request, speed="fast")
    assert fast.usage.cache_read_input_tokens == tools_tokens  # tools kept, system not


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "thinking.type: 'enabled'"),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
            "output_config.format",
        ),
        ({"tool_choice": {"type": "any"}}, "tool_choice.type: 'any'"),
    ],
)
def test_prefill_only_refusals_through_the_sdk(
    client: anthropic.Anthropic, extra: dict[str, Any], fragment: str
) -> None:
    tools = [{"name": "look", "input_schema": {"type": "object"}}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**doc_request(2000, max_tokens=0), tools=tools, **extra)
    assert caught.value.api_message == (
        f"max_tokens: 0 (prefill only) is not supported with {fragment}"
    )


def test_a_prompt_over_the_context_window_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models.toml").write_text("[models.claude-sonnet-4-6]\ncontext_window = 2000\n")
    with (
        InProcessSimulator(data, rate=0) as sim,
        anthropic.Anthropic(api_key=API_KEY, base_url=sim.base_url, max_retries=0) as sdk,
    ):
        counted = sdk.messages.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": filler(2000)}]
        ).input_tokens
        assert counted > 2000  # count_tokens counts; it does not refuse
        with pytest.raises(anthropic.BadRequestError) as caught:
            sdk.messages.create(
                model=MODEL, max_tokens=4, messages=[{"role": "user", "content": filler(2000)}]
            )
        assert caught.value.type == "invalid_request_error"
        assert caught.value.api_message == f"prompt is too long: {counted} tokens > 2000 maximum"
        ok = sdk.messages.create(
            model=MODEL, max_tokens=4, messages=[{"role": "user", "content": filler(1990)}]
        )
        assert ok.usage.input_tokens == 1990 + 4 + 3  # 1997: under the window


@pytest.mark.parametrize(
    ("status", "kind", "error"),
    [
        (402, "billing_error", anthropic.APIStatusError),
        (409, "conflict_error", anthropic.ConflictError),
        (504, "timeout_error", anthropic.InternalServerError),
    ],
)
def test_the_extra_error_types(
    client: anthropic.Anthropic, hooks: SimHooks, status: int, kind: str, error: type
) -> None:
    hooks.fault(status=status, count=1)
    with pytest.raises(error) as caught:
        client.messages.create(**doc_request(2000))
    assert (caught.value.status_code, caught.value.type) == (status, kind)  # type: ignore[attr-defined]
    assert client.messages.create(**doc_request(2000)).usage.cache_creation_input_tokens == 2000
