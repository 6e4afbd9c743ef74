"""Test hooks: faults, dropped streams, retries, shared state and concurrent clients."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import anthropic
import httpx2
import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator

from .hooks import API_KEY, SimHooks
from .prompts import MODEL, doc_request

SMALL = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
# What a cut connection looks like to SDK users, depending on where it is cut.
BROKEN = (anthropic.APIConnectionError, httpx2.RemoteProtocolError, httpx2.ReadError)


@pytest.mark.parametrize(
    ("status", "error_class", "kind"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_status_faults_map_to_sdk_exceptions(
    client: anthropic.Anthropic,
    hooks: SimHooks,
    status: int,
    error_class: type[anthropic.APIStatusError],
    kind: str,
) -> None:
    hooks.fault(status=status, count=2)
    for _ in range(2):
        with pytest.raises(error_class) as caught:
            client.messages.create(**SMALL)
        assert caught.value.status_code == status
        assert caught.value.type == kind
        assert isinstance(caught.value, anthropic.APIStatusError)
    assert client.messages.create(**SMALL).type == "message"  # the third one passes


def test_rate_limit_carries_retry_after(client: anthropic.Anthropic, hooks: SimHooks) -> None:
    hooks.fault(status=429)
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.count_tokens(model=MODEL, messages=SMALL["messages"])
    assert caught.value.response.headers["retry-after"] == "0"
    hooks.fault(status=429, retry_after=7)
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.models.list()
    assert caught.value.response.headers["retry-after"] == "7"


def test_the_sdk_retries_through_faults(base_url: str, hooks: SimHooks) -> None:
    hooks.fault(status=429, count=1, retry_after=0.01)
    hooks.fault(status=529, count=1, retry_after=0.01)  # else the SDK backs off ~0.5 s
    with anthropic.Anthropic(api_key=API_KEY, base_url=base_url, max_retries=2) as sdk:
        assert sdk.messages.create(**SMALL).type == "message"
    assert hooks.state()["pending_faults"] == []


def test_faults_can_be_listed_and_cleared(hooks: SimHooks) -> None:
    hooks.fault(status=500, count=3)
    hooks.fault(drop_after_events=2)
    listed = hooks.call("GET", "/_sim/faults")["pending"]
    assert [(f.get("status"), f["count"]) for f in listed] == [(500, 3), (None, 1)]
    assert hooks.call("DELETE", "/_sim/faults")["pending"] == []


def test_bad_fault_requests_are_refused(hooks: SimHooks) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as caught:
        hooks.fault(status=418)
    assert caught.value.code == 400


def test_a_dropped_stream_is_a_broken_transfer(
    client: anthropic.Anthropic, hooks: SimHooks
) -> None:
    hooks.fault(drop_after_events=4)
    seen: list[str] = []
    with pytest.raises(BROKEN), client.messages.create(**SMALL, stream=True) as stream:
        for event in stream:
            seen.append(event.type)
    # Four events went out (message_start, content_block_start, ping, one delta); the SDK
    # hides the ping, then the connection breaks: never a clean, empty answer.
    assert seen == ["message_start", "content_block_start", "content_block_delta"]


def test_a_dropped_stream_breaks_the_stream_helper_too(
    client: anthropic.Anthropic, hooks: SimHooks
) -> None:
    hooks.fault(drop_after_events=1, count=1)
    with pytest.raises(BROKEN), client.messages.stream(**SMALL) as stream:
        stream.get_final_message()
    # The fault is used up: the next stream completes.
    with client.messages.stream(**SMALL) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"


async def test_a_dropped_stream_breaks_the_async_client(
    aclient: anthropic.AsyncAnthropic, hooks: SimHooks
) -> None:
    hooks.fault(drop_after_events=3)
    with pytest.raises(BROKEN):
        async with aclient.messages.stream(**SMALL) as stream:
            await stream.get_final_message()


def test_a_dropped_json_response_is_a_connection_error(
    client: anthropic.Anthropic, hooks: SimHooks
) -> None:
    hooks.fault(drop_after_events=0)
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(**SMALL)


def test_a_dropped_stream_still_wrote_the_cache(
    client: anthropic.Anthropic, hooks: SimHooks
) -> None:
    hooks.fault(drop_after_events=2)
    with pytest.raises(BROKEN), client.messages.stream(**doc_request(2000)) as stream:
        stream.get_final_message()
    # The response had started, so its entry is readable.
    assert client.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 2000


def test_processes_sharing_a_data_dir_share_cache_clock_and_faults(data_dir: Path) -> None:
    with InProcessSimulator(data_dir, rate=0) as one, InProcessSimulator(data_dir, rate=0) as two:
        a = anthropic.Anthropic(api_key=API_KEY, base_url=one.base_url, max_retries=0)
        b = anthropic.Anthropic(api_key=API_KEY, base_url=two.base_url, max_retries=0)
        assert a.messages.create(**doc_request(2000)).usage.cache_creation_input_tokens == 2000
        assert b.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 2000
        SimHooks(one.base_url).advance(301)
        assert b.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 0
        SimHooks(two.base_url).fault(status=529)
        with pytest.raises(anthropic.OverloadedError):
            a.messages.create(**SMALL)
        a.close()
        b.close()
    # A restart keeps the state.
    with (
        InProcessSimulator(data_dir, rate=0) as again,
        anthropic.Anthropic(api_key=API_KEY, base_url=again.base_url, max_retries=0) as c,
    ):
        assert c.messages.create(**doc_request(2000)).usage.cache_read_input_tokens == 2000


def test_state_file_is_private(data_dir: Path, sim_server: InProcessSimulator) -> None:
    state_file = data_dir / "simulator.sqlite3"
    assert state_file.stat().st_mode & 0o777 == 0o600


def test_four_threads_with_sync_clients(base_url: str) -> None:
    results: dict[int, list[int]] = {}

    def work(n: int) -> None:
        with anthropic.Anthropic(api_key=API_KEY, base_url=base_url, max_retries=0) as sdk:
            request = doc_request(2000, seed=n)  # one document per client
            results[n] = [
                sdk.messages.create(**request).usage.cache_read_input_tokens,
                sdk.messages.create(**request).usage.cache_read_input_tokens,
            ]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {n: [0, 2000] for n in range(4)}


async def test_four_async_clients_stream_at_once(base_url: str) -> None:
    async def work(n: int) -> tuple[int, int]:
        async with anthropic.AsyncAnthropic(
            api_key=API_KEY, base_url=base_url, max_retries=0
        ) as sdk:
            request = doc_request(2000, seed=10 + n)
            async with sdk.messages.stream(**request) as stream:
                first = await stream.get_final_message()
            async with sdk.messages.stream(**request) as stream:
                second = await stream.get_final_message()
            return (first.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens)

    assert await asyncio.gather(*(work(n) for n in range(4))) == [(2000, 2000)] * 4


async def test_parallel_identical_requests_all_pay_for_the_write(tmp_path: Path) -> None:
    # A visible prefill time keeps the four requests in flight together: none of them has
    # started its response when the others look the prefix up.
    with InProcessSimulator(tmp_path, rate=0, prefill_rate=10_000) as server:
        async with anthropic.AsyncAnthropic(
            api_key=API_KEY, base_url=server.base_url, max_retries=0
        ) as sdk:
            firsts = await asyncio.gather(
                *(sdk.messages.create(**doc_request(2000)) for _ in range(4))
            )
            assert [m.usage.cache_creation_input_tokens for m in firsts] == [2000] * 4
            after = await sdk.messages.create(**doc_request(2000))
            assert after.usage.cache_read_input_tokens == 2000
