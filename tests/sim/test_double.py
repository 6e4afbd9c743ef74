"""The simulator as a test double for real programs: tools, thinking, structured outputs.

Every test drives the official SDK against the simulator over loopback HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
import pydantic
import pytest

from promptcache_tui.core.tokens import estimate_text
from promptcache_tui.sim.request import without_earlier_thinking

from .hooks import SimHooks
from .prompts import MODEL, filler, text, user

WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 1},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}
CLOCK = {
    "name": "get_time",
    "description": "Tell the time in a time zone.",
    "input_schema": {
        "type": "object",
        "properties": {"zone": {"type": "string", "pattern": "^[A-Z][a-z]+/[A-Z][a-z]+$"}},
        "required": ["zone"],
    },
}
QUESTION = [user("What is the weather in Paris this week?")]


def _tool_call(client: anthropic.Anthropic, **extra: Any) -> anthropic.types.Message:
    return client.messages.create(
        model=MODEL, max_tokens=300, tools=[CLOCK, WEATHER], messages=QUESTION, **extra
    )


@pytest.mark.parametrize(
    "choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}], ids=["any", "tool"]
)
def test_a_forced_tool_choice_answers_a_valid_tool_use(
    client: anthropic.Anthropic, choice: dict[str, Any]
) -> None:
    message = _tool_call(client, tool_choice=choice)
    assert message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["tool_use"]
    call = message.content[0]
    assert call.id.startswith("toolu_")
    assert call.name == "get_weather"  # named, or sharing the question's words
    jsonschema.validate(call.input, WEATHER["input_schema"])
    assert message.usage.output_tokens > 0


def test_the_same_request_gets_the_same_tool_input(client: anthropic.Anthropic) -> None:
    first = _tool_call(client, tool_choice={"type": "tool", "name": "get_time"})
    second = _tool_call(client, tool_choice={"type": "tool", "name": "get_time"})
    assert first.content[0].input == second.content[0].input
    jsonschema.validate(first.content[0].input, CLOCK["input_schema"])
    assert first.content[0].id != second.content[0].id  # ids stay unique, as on the API


def test_a_tool_result_turn_gets_a_text_answer(client: anthropic.Anthropic) -> None:
    call = _tool_call(client, tool_choice={"type": "any"}).content[0]
    answer = client.messages.create(
        model=MODEL,
        max_tokens=300,
        tools=[CLOCK, WEATHER],
        tool_choice={"type": "any"},
        messages=[
            *QUESTION,
            {"role": "assistant", "content": [call]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": call.id,
                        "content": "Sunny all week in Paris, 21 degrees.",
                    }
                ],
            },
        ],
    )
    assert answer.stop_reason == "end_turn"
    assert [b.type for b in answer.content] == ["text"]
    assert "Sunny all week in Paris" in answer.content[0].text


def test_auto_tool_choice_answers_text(client: anthropic.Anthropic) -> None:
    for extra in ({}, {"tool_choice": {"type": "auto"}}):
        message = _tool_call(client, **extra)
        assert message.stop_reason == "end_turn"
        assert [b.type for b in message.content] == ["text"]


def test_a_streamed_tool_use_arrives_as_input_json_deltas(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL,
        max_tokens=300,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=QUESTION,
    ) as stream:
        deltas = [e.delta.type for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert deltas and set(deltas) == {"input_json_delta"}
    assert final.stop_reason == "tool_use"
    jsonschema.validate(final.content[0].input, WEATHER["input_schema"])


def test_thinking_streams_thinking_then_signature_then_text(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        system=[text(filler(200))],
        messages=[user("What is the quartz?")],
    ) as stream:
        order = [(e.index, e.delta.type) for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    kinds = [kind for _, kind in order]
    first_text = kinds.index("text_delta")
    assert set(kinds[: first_text - 1]) == {"thinking_delta"}
    assert kinds[first_text - 1] == "signature_delta"  # the signature closes the thinking
    assert [b.type for b in final.content] == ["thinking", "text"]
    thinking = final.content[0]
    assert thinking.thinking and thinking.signature
    assert final.usage.output_tokens > len(final.content[1].text.split())


def test_adaptive_thinking_and_an_omitted_display(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=500,
        thinking={"type": "adaptive", "display": "omitted"},
        messages=[user("Hello there")],
    )
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == ""
    assert message.content[0].signature


def test_thinking_counts_toward_max_tokens(client: anthropic.Anthropic) -> None:
    def ask(max_tokens: int) -> anthropic.types.Message:
        return client.messages.create(
            model=MODEL,
            max_tokens=max_tokens,
            thinking={"type": "adaptive"},
            messages=[user("Hello there")],
        )

    full = ask(1000)
    thought = estimate_text(full.content[0].thinking)
    answer = estimate_text(full.content[1].text)
    assert full.usage.output_tokens == thought + answer
    for extra, kinds in ((2, ["thinking", "text"]), (0, ["thinking"])):
        cut = ask(thought + extra)
        assert (cut.usage.output_tokens, cut.stop_reason) == (thought + extra, "max_tokens")
        assert [b.type for b in cut.content] == kinds


class Person(pydantic.BaseModel):
    """A structured output."""

    name: str
    age: int
    tags: list[str]


def test_structured_output_parses(client: anthropic.Anthropic) -> None:
    parsed = client.messages.parse(
        model=MODEL, max_tokens=500, output_format=Person, messages=[user("Invent a person.")]
    )
    assert isinstance(parsed.parsed_output, Person)
    again = client.messages.parse(
        model=MODEL, max_tokens=500, output_format=Person, messages=[user("Invent a person.")]
    )
    assert again.parsed_output == parsed.parsed_output  # deterministic


def test_output_config_format_answers_json_that_validates(client: anthropic.Anthropic) -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date"},
            "count": {"type": "integer", "minimum": 3, "maximum": 5},
            "kind": {"enum": ["a", "b"]},
        },
        "required": ["when", "count", "kind"],
        "additionalProperties": False,
    }
    message = client.messages.create(
        model=MODEL,
        max_tokens=300,
        output_config={"format": {"type": "json_schema", "schema": schema}},
        messages=[user("Plan it.")],
    )
    jsonschema.validate(json.loads(message.content[0].text), schema)


def _bad(base: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {**base, **change}


OK = {"model": MODEL, "max_tokens": 50, "messages": [user("Hi")]}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_bad(OK, temperature=1.01), "temperature: range: 0..1"),
        (_bad(OK, temperature=-0.01), "temperature: range: 0..1"),
        (_bad(OK, top_p=1.5), "top_p: range: 0..1"),
        (_bad(OK, top_k=-1), "top_k: Input should be greater than or equal to 0"),
        (_bad(OK, top_k=1.5), "top_k: Input should be a valid integer"),
        (_bad(OK, frobnicate=True), "frobnicate: Extra inputs are not permitted"),
        (
            _bad(OK, messages=[{"role": "assistant", "content": "Hi"}]),
            'messages: first message must use the "user" role',
        ),
        (
            _bad(OK, messages=[user(text(""), "Hi")]),
            "messages: text content blocks must be non-empty",
        ),
        (
            _bad(OK, system=[{"type": "text", "text": ""}]),
            "system: text content blocks must be non-empty",
        ),
        (
            _bad(OK, messages=[{"role": "user", "content": ""}]),
            "messages.0: all messages must have non-empty content except for the optional "
            "final assistant message",
        ),
        (
            _bad(OK, messages=[{"role": "user", "content": [RESULT]}]),
            "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
            "toolu_1. Each `tool_result` block must have a corresponding `tool_use` block in "
            "the previous message.",
        ),
        (
            _bad(
                OK,
                tools=[WEATHER],
                messages=[user("Hi"), {"role": "assistant", "content": [TOOL_USE]}, user("And?")],
            ),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately "
            "after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` "
            "block in the next message.",
        ),
        (
            _bad(OK, messages=[{"role": "user", "content": [{"type": "frobnicate"}]}]),
            "messages.0.content.0: Input tag 'frobnicate' found using 'type' does not match "
            "any of the expected tags: 'text', 'image', 'document',",
        ),
        (
            _bad(OK, messages=[user({"type": "text", "text": "Hi", "colour": "red"})]),
            "messages.0.content.0.text.colour: Extra inputs are not permitted",
        ),
        (
            _bad(OK, thinking={"type": "enabled", "budget_tokens": 1023}, max_tokens=4000),
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            _bad(OK, thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=1024),
            "`max_tokens` must be greater than `thinking.budget_tokens`.",
        ),
        (
            _bad(OK, thinking={"type": "sometimes"}),
            "thinking: Input tag 'sometimes' found using 'type' does not match any of the "
            "expected tags: 'adaptive', 'between_tools', 'disabled', 'enabled'",
        ),
        (
            _bad(OK, thinking={"type": "adaptive"}, temperature=0.5),
            "`temperature` may only be set to 1 when thinking is enabled.",
        ),
        (
            _bad(OK, thinking={"type": "adaptive"}, tools=[WEATHER], tool_choice={"type": "any"}),
            "Thinking may not be enabled when tool_choice forces tool use.",
        ),
        (
            _bad(OK, tool_choice={"type": "any"}),
            "tool_choice: tool_choice may only be specified while providing tools",
        ),
        (
            _bad(OK, tools=[WEATHER], tool_choice={"type": "tool", "name": "nope"}),
            "tool_choice.tool.name: Tool 'nope' not found in the request's tools",
        ),
        (
            _bad(OK, tools=[WEATHER, WEATHER]),
            "tools: Tool names must be unique.",
        ),
        (
            _bad(OK, tools=[{**WEATHER, "input_schema": {"type": "object", "minLength": "x"}}]),
            "tools.0.custom.input_schema: JSON schema is invalid.",
        ),
        (
            _bad(OK, tools=[{**WEATHER, "input_schema": {"properties": {}}}]),
            "tools.0.custom.input_schema.type: Input should be 'object'",
        ),
        (
            _bad(
                OK,
                tools=[
                    {
                        **WEATHER,
                        "input_schema": {
                            "type": "object",
                            "properties": {"a": {"$ref": "https://example.com/a.json"}},
                        },
                    }
                ],
            ),
            "tools.0.custom.input_schema: $ref 'https://example.com/a.json' must point inside",
        ),
        (
            _bad(
                OK,
                output_config={
                    "format": {"type": "json_schema", "schema": {"$ref": "file:///etc/passwd"}}
                },
            ),
            "output_config.format.json_schema.schema: $ref 'file:///etc/passwd' must point "
            "inside the schema",
        ),
    ],
)
def test_invalid_requests_get_the_api_error(
    client: anthropic.Anthropic, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**_sdk(body), extra_body=body)
    error = caught.value.body
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(message)
    assert error["request_id"].startswith("req_")


def _sdk(body: dict[str, Any]) -> dict[str, Any]:
    # The required arguments go through the SDK; the rest as extra_body, exactly as given.
    return {k: body[k] for k in ("model", "max_tokens", "messages")}


@pytest.mark.parametrize(("value", "ok"), [(0, True), (1, True), (0.999, True), (1.0001, False)])
def test_temperature_limits(client: anthropic.Anthropic, value: float, ok: bool) -> None:
    call = lambda: client.messages.create(**OK, extra_body={"temperature": value})  # noqa: E731
    if ok:
        assert call().type == "message"
    else:
        with pytest.raises(anthropic.BadRequestError):
            call()


def test_a_stream_error_event_after_k_events(client: anthropic.Anthropic, hooks: SimHooks) -> None:
    pending = hooks.fault(error_after_events=3)["pending"]
    assert pending == [{"id": pending[0]["id"], "count": 1, "status": 529, "error_after_events": 3}]
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught, client.messages.stream(**OK) as stream:
        seen.extend(event.type for event in stream)
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert seen[:2] == ["message_start", "content_block_start"]
    assert client.messages.create(**OK).type == "message"  # the fault is used up


def test_a_stream_error_fault_fails_a_json_request_at_once(
    client: anthropic.Anthropic, hooks: SimHooks
) -> None:
    hooks.fault(error_after_events=2, status=500)
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(**OK)
    hooks.fault(error_after_events=2)
    assert client.messages.count_tokens(model=MODEL, messages=OK["messages"]).input_tokens > 0
    assert hooks.call("GET", "/_sim/faults")["pending"][0]["count"] == 1  # still waiting


def test_earlier_thinking_leaves_the_prompt_of_a_new_turn() -> None:
    thought = {"type": "thinking", "thinking": "Let me see.", "signature": "sig"}
    call = {**TOOL_USE}
    loop = {
        "messages": [
            user("Hi"),
            {"role": "assistant", "content": [thought, call]},
            {"role": "user", "content": [RESULT]},
        ]
    }
    assert without_earlier_thinking(loop) == loop  # a tool loop keeps its turn's thinking
    new_turn = {
        "messages": [
            *loop["messages"],
            {"role": "assistant", "content": [thought, text("Sunny.")]},
            user("Thanks. And tomorrow?"),
        ]
    }
    stripped = without_earlier_thinking(new_turn)["messages"]
    assert stripped[1]["content"] == [call]
    assert stripped[3]["content"] == [text("Sunny.")]
    assert stripped[4] == new_turn["messages"][4]


FIXTURE = Path(__file__).parent / "fixtures" / "claude_code_request.json"


def _replay(client: anthropic.Anthropic, body: dict[str, Any], **extra: Any) -> Any:
    rest = {k: v for k, v in body.items() if k not in ("model", "max_tokens", "messages", "stream")}
    with client.messages.stream(**_sdk(body), extra_body=rest, **extra) as stream:
        return stream.get_final_message()


def test_claude_code_default_model_request_is_answered_and_cached(
    client: anthropic.Anthropic,
) -> None:
    captured = json.loads(FIXTURE.read_text(encoding="utf-8"))
    body = captured["body"]
    assert body["model"] == "claude-opus-4-8"
    assert body["messages"][-1]["role"] == "system"  # the shape that used to be a 400
    beta = {"anthropic-beta": captured["headers"]["anthropic-beta"]}
    first = _replay(client, body, extra_headers=beta)
    assert [b.type for b in first.content] == ["thinking", "text"]  # adaptive thinking
    assert first.usage.cache_creation_input_tokens > 0  # its cached system blocks
    again = _replay(client, body, extra_headers=beta)
    assert again.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_system_messages_only_on_the_models_that_take_them(client: anthropic.Anthropic) -> None:
    messages = [user("Hi"), {"role": "system", "content": "Be brief."}]
    ok = client.messages.create(model="claude-opus-4-8", max_tokens=20, messages=messages)
    assert ok.type == "message"
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="claude-sonnet-4-6", max_tokens=20, messages=messages)
    assert caught.value.body["error"]["message"] == (
        "messages.1.role: role 'system' is not supported on claude-sonnet-4-6"
    )


def test_thinking_types_follow_the_catalog(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=20,
            thinking={"type": "adaptive"},
            messages=[user("Hi")],
        )
    assert caught.value.body["error"]["message"] == (
        "thinking: Input tag 'adaptive' found using 'type' does not match any of the expected "
        "tags: 'disabled', 'enabled'"
    )
