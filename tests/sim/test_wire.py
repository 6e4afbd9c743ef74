"""The wire format: auth, versions, message and stream shapes, models, errors, answers."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import pytest

from promptcache_tui.core.tokens import estimate_text
from promptcache_tui.sim.inprocess import InProcessSimulator

from .prompts import MODEL, doc_request, filler, text, user

BODY = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "Hi there"}]}


def raw_post(
    base_url: str, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """POST without the SDK: status, headers, body (errors included)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        base_url + path,
        data=data,
        method="POST",
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


AUTH = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


def test_missing_key_is_an_authentication_error(base_url: str) -> None:
    with (
        anthropic.Anthropic(api_key="unused", base_url=base_url, max_retries=0) as sdk,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        sdk.messages.create(
            **BODY, extra_headers={"Authorization": anthropic.Omit(), "X-Api-Key": anthropic.Omit()}
        )
    assert caught.value.status_code == 401
    assert caught.value.type == "authentication_error"
    status, headers, body = raw_post(
        base_url, "/v1/messages", BODY, {"anthropic-version": "2023-06-01"}
    )
    error = json.loads(body)
    assert status == 401
    assert error["type"] == "error"
    assert error["error"]["type"] == "authentication_error"
    assert error["request_id"].startswith("req_")
    assert headers["request-id"] == error["request_id"]


@pytest.mark.parametrize("auth", [{"x-api-key": "k"}, {"authorization": "Bearer k"}])
@pytest.mark.parametrize("version", ["2023-06-01", "2026-10-21"])
def test_either_auth_header_and_both_versions_work(
    base_url: str, auth: dict[str, str], version: str
) -> None:
    status, headers, body = raw_post(
        base_url, "/v1/messages", BODY, {**auth, "anthropic-version": version}
    )
    assert status == 200
    assert json.loads(body)["type"] == "message"
    assert headers["request-id"].startswith("req_")


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (None, "anthropic-version: header is required"),
        ("1999-01-01", "anthropic-version: unsupported version '1999-01-01'"),
    ],
)
def test_anthropic_version_is_checked(base_url: str, version: str | None, message: str) -> None:
    headers = {"x-api-key": "k"} | ({"anthropic-version": version} if version else {})
    status, _, body = raw_post(base_url, "/v1/messages", BODY, headers)
    assert status == 400
    assert json.loads(body)["error"]["message"].startswith(message)


def test_a_message_has_the_official_shape(client: anthropic.Anthropic) -> None:
    message = client.messages.create(**BODY)
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", MODEL)
    assert message.content[0].type == "text"
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.usage.output_tokens == estimate_text(message.content[0].text)
    assert message.diagnostics is None


def test_stream_event_sequence(client: anthropic.Anthropic) -> None:
    with client.messages.create(**BODY, stream=True) as stream:
        events = [event.type for event in stream]
    deltas = events.count("content_block_delta")
    assert deltas >= 1
    # The SDK swallows `ping` (the raw frames below show it).
    assert events == (
        ["message_start", "content_block_start"]
        + ["content_block_delta"] * deltas
        + ["content_block_stop", "message_delta", "message_stop"]
    )


def test_sse_frames_name_their_type(base_url: str) -> None:
    status, headers, body = raw_post(base_url, "/v1/messages", {**BODY, "stream": True}, AUTH)
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    frames = body.decode().strip().split("\n\n")
    names = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ")
        assert json.loads(data_line.removeprefix("data: "))["type"] == event_line[7:]
        names.append(event_line[7:])
    deltas = names.count("content_block_delta")
    assert names == (
        ["message_start", "content_block_start", "ping"]
        + ["content_block_delta"] * deltas
        + ["content_block_stop", "message_delta", "message_stop"]
    )
    start = json.loads(frames[0].split("\n")[1][6:])
    assert start["message"]["usage"]["cache_read_input_tokens"] == 0
    assert start["message"]["stop_reason"] is None


def test_stream_and_json_give_the_same_answer(client: anthropic.Anthropic) -> None:
    request = doc_request(2000, question="Which words sit next to quartz and raven?")
    plain = client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == plain.content[0].text == final.content[0].text
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.stop_reason == plain.stop_reason == "end_turn"


async def test_async_client_json_and_stream(aclient: anthropic.AsyncAnthropic) -> None:
    plain = await aclient.messages.create(**BODY)
    stream = await aclient.messages.create(**BODY, stream=True)
    kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert plain.content[0].text


def test_answer_quotes_the_related_context(client: anthropic.Anthropic) -> None:
    context = (
        "The lighthouse keeper logs every ship at dawn. "
        "Prompt caching stores a prefix for five minutes by default. "
        "Bread rises faster in a warm kitchen."
    )
    got = client.messages.create(
        model=MODEL,
        max_tokens=200,
        system=context,
        messages=[user("How long does prompt caching store a prefix?")],
    )
    answer = got.content[0].text
    assert "Prompt caching stores a prefix for five minutes by default." in answer
    assert "lighthouse" not in answer
    again = client.messages.create(
        model=MODEL,
        max_tokens=200,
        system=context,
        messages=[user("How long does prompt caching store a prefix?")],
    )
    assert again.content[0].text == answer  # deterministic


def test_max_tokens_cuts_the_answer(client: anthropic.Anthropic) -> None:
    request = doc_request(2000, max_tokens=7)
    message = client.messages.create(**request)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 7
    assert estimate_text(message.content[0].text) == 7
    with client.messages.stream(**request) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == message.content[0].text
    assert final.usage.output_tokens == 7


def test_stop_sequences_end_the_answer(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        **doc_request(2000, max_tokens=200), stop_sequences=["passages"]
    )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "passages"
    assert "passages" not in message.content[0].text


def test_models_list_has_the_official_shape(client: anthropic.Anthropic) -> None:
    page = client.models.list(limit=3)
    assert len(page.data) == 3
    assert page.has_more is True
    assert page.first_id == page.data[0].id
    assert page.last_id == page.data[-1].id
    everything = [m.id for m in client.models.list()]  # auto-pagination follows after_id
    assert MODEL in everything
    assert "claude-3-opus-20240229" not in everything  # retired
    assert len(everything) == len(set(everything))
    model = client.models.retrieve(MODEL)
    assert (model.type, model.id, model.display_name) == ("model", MODEL, "Claude Sonnet 4.6")


@pytest.mark.parametrize("model", ["gpt-4o", "claude-3-opus-20240229"])
def test_unknown_or_retired_model_is_not_found(client: anthropic.Anthropic, model: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(**{**BODY, "model": model})
    assert caught.value.type == "not_found_error"
    assert caught.value.api_message == f"model: {model}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": MODEL, "messages": [user("Hi")]}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 5}, "messages: Field required"),
        (
            {"model": MODEL, "max_tokens": 5, "messages": [{"role": "bot", "content": "x"}]},
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            {"model": MODEL, "max_tokens": -1, "messages": [user("Hi")]},
            "max_tokens: Input should be greater than or equal to 0",
        ),
    ],
)
def test_invalid_requests_are_bad_requests(base_url: str, body: Any, message: str) -> None:
    status, _, raw = raw_post(base_url, "/v1/messages", body, AUTH)
    assert status == 400
    error = json.loads(raw)["error"]
    assert error == {"type": "invalid_request_error", "message": message}


def test_malformed_json_and_unknown_routes_answer_in_the_error_shape(base_url: str) -> None:
    status, _, raw = raw_post(base_url, "/v1/messages", b"{not json", AUTH)
    assert status == 400
    assert json.loads(raw)["error"]["type"] == "invalid_request_error"
    status, _, raw = raw_post(base_url, "/v1/nothing-here", {}, AUTH)
    assert status == 404
    assert json.loads(raw)["error"]["type"] == "not_found_error"


def test_count_tokens_never_touches_the_cache(client: anthropic.Anthropic) -> None:
    request = doc_request(2000)
    counted = client.messages.count_tokens(
        model=MODEL, system=request["system"], messages=request["messages"]
    )
    assert counted.input_tokens == 2000 + 3 + 9
    assert client.messages.create(**request).usage.cache_read_input_tokens == 0


class VirtualPace:
    """The simulator's pace on a virtual clock: a sleep moves the clock, nothing waits.

    What is checked is the simulator's own schedule (when each event is due), not how long
    a loaded machine took to deliver it.
    """

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += max(seconds, 0.0)
        await asyncio.sleep(0)


PACED = {
    "model": MODEL,
    "max_tokens": 20,
    "system": [text(filler(100))],
    "messages": [user("What is the amber?")],
}


def test_streaming_is_paced(tmp_path: Path) -> None:
    pace = VirtualPace()
    with (
        InProcessSimulator(tmp_path, rate=200) as server,
        anthropic.Anthropic(api_key="k", base_url=server.base_url, max_retries=0) as sdk,
    ):
        server.app.state.sim.pace = pace
        with sdk.messages.stream(**PACED) as stream:
            deltas = list(stream.text_stream)
            final = stream.get_final_message()
    assert final.usage.output_tokens == 20
    tokens = [estimate_text(delta) for delta in deltas]
    assert sum(tokens) == 20 and len(deltas) > 3
    # First the prefill: every prompt token is uncached, at the default 25,000 tokens/s.
    prompt = final.usage.input_tokens + final.usage.cache_creation_input_tokens
    assert pace.sleeps[0] == pytest.approx(prompt / 25_000)
    # Then each delta is due when the tokens before it have gone out at 200/s, counted from
    # the first: the sleeps between them are those tokens' share, the last one at 19/200 s.
    assert pace.sleeps[1:] == pytest.approx([t / 200 for t in tokens[:-1] if t])
    assert pace.time - pace.sleeps[0] == pytest.approx((20 - tokens[-1]) / 200)


def test_a_json_answer_waits_for_its_output_at_the_rate(tmp_path: Path) -> None:
    pace = VirtualPace()
    with (
        InProcessSimulator(tmp_path, rate=200, prefill_rate=1000) as server,
        anthropic.Anthropic(api_key="k", base_url=server.base_url, max_retries=0) as sdk,
    ):
        server.app.state.sim.pace = pace
        message = sdk.messages.create(**PACED)
    prompt = message.usage.input_tokens + message.usage.cache_creation_input_tokens
    assert pace.sleeps == pytest.approx([prompt / 1000, 20 / 200])


def test_no_pacing_at_rate_zero(tmp_path: Path) -> None:
    pace = VirtualPace()
    with (
        InProcessSimulator(tmp_path, rate=0) as server,
        anthropic.Anthropic(api_key="k", base_url=server.base_url, max_retries=0) as sdk,
    ):
        server.app.state.sim.pace = pace
        with sdk.messages.stream(**PACED) as stream:
            assert stream.get_final_message().usage.output_tokens == 20
    assert pace.sleeps == [0.0]  # no prefill time either (PROMPTCACHE_TUI_SIM_PREFILL_RATE)


def test_rate_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTCACHE_TUI_SIM_RATE", "0")
    with InProcessSimulator(tmp_path) as server:
        assert server.app.state.sim.rate == 0
    monkeypatch.setenv("PROMPTCACHE_TUI_SIM_RATE", "fast")
    with pytest.raises(ValueError, match="PROMPTCACHE_TUI_SIM_RATE"):
        InProcessSimulator(tmp_path)
