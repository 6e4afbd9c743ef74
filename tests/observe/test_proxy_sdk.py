"""The official SDK through the proxy to the simulator: what is logged is what the client got."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anthropic
import pytest

from promptcache_tui.core.cost import Prices, Usage, call_cost
from promptcache_tui.core.observed import observe_request
from promptcache_tui.observe.server import ProxyServer
from promptcache_tui.sim.inprocess import InProcessSimulator

from .conftest import SECRET, calls, query

DOCUMENT = "The harbour of Aria keeps its boats in rows. " * 300


def params(question: str = "Where are the boats?", ttl: str = "5m") -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "system": [
            {"type": "text", "text": "You answer from the document."},
            {
                "type": "text",
                "text": DOCUMENT,
                "cache_control": {"type": "ephemeral", "ttl": ttl},
            },
        ],
        "messages": [{"role": "user", "content": question}],
    }


def usage_of(row: dict[str, Any]) -> tuple[int, ...]:
    return (
        row["input_tokens"],
        row["cache_creation_input_tokens"],
        row["cache_creation_5m_tokens"],
        row["cache_creation_1h_tokens"],
        row["cache_read_input_tokens"],
        row["output_tokens"],
    )


def sdk_usage(usage: Any) -> tuple[int, ...]:
    split = usage.cache_creation
    return (
        usage.input_tokens,
        usage.cache_creation_input_tokens,
        split.ephemeral_5m_input_tokens,
        split.ephemeral_1h_input_tokens,
        usage.cache_read_input_tokens,
        usage.output_tokens,
    )


def test_sync_calls_are_logged_with_the_usage_the_client_received(
    proxy: ProxyServer, home: Path
) -> None:
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url)
    first = client.messages.with_raw_response.create(**params(ttl="1h"))
    second = client.messages.create(**params("Which rows?", ttl="1h"))
    proxy.drain()
    rows = calls(home)
    assert [r["kind"] for r in rows] == ["proxy", "proxy"]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert usage_of(rows[0]) == sdk_usage(first.parse().usage)
    assert usage_of(rows[1]) == sdk_usage(second.usage)
    assert rows[0]["cache_creation_1h_tokens"] > 0 and rows[1]["cache_read_input_tokens"] > 0
    assert rows[0]["request_id"] == first.headers["request-id"]
    assert rows[1]["message_id"] == second.id
    assert rows[0]["client"] == f"Anthropic/Python {anthropic.__version__}"
    # The same pricing as our own calls, with the prices stored on the row.
    prices = Prices(rows[1]["price_input"], rows[1]["price_output"])
    expected = call_cost(Usage(*usage_of(rows[1])), prices)
    assert rows[1]["cost_usd"] == pytest.approx(expected.cost_usd)
    assert rows[1]["ttft_ms"] is None and rows[1]["duration_ms"] > 0  # not streamed
    assert rows[0]["prompt"] == "Where are the boats?"


def test_a_stream_is_logged_with_its_usage_ttft_and_breakpoints(
    proxy: ProxyServer, home: Path
) -> None:
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url)
    with client.messages.stream(**params()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    proxy.drain()
    (row,) = calls(home)
    assert text
    assert usage_of(row) == sdk_usage(final.usage)
    assert row["stop_reason"] == final.stop_reason
    assert row["ttft_ms"] is not None and 0 < row["ttft_ms"] <= row["duration_ms"]
    marks = query(home, "SELECT * FROM call_breakpoints WHERE call_id = ?", (row["id"],))
    rendered = observe_request(params())
    assert [(m["prefix_hash"], m["ttl"], m["cached"]) for m in marks] == [
        (b.prefix_hash, b.ttl, 1) for b in rendered.breakpoints
    ]


def test_async_streams_sixteen_at_once(proxy: ProxyServer, home: Path) -> None:
    async def run() -> list[Any]:
        client = anthropic.AsyncAnthropic(api_key=SECRET, base_url=proxy.base_url)

        async def one(i: int) -> Any:
            async with client.messages.stream(**params(f"Question {i}?")) as stream:
                async for _ in stream:
                    pass
                return await stream.get_final_message()

        try:
            return await asyncio.gather(*(one(i) for i in range(16)))
        finally:
            await client.close()

    finals = asyncio.run(run())
    proxy.drain()
    rows = calls(home)
    assert len(rows) == 16 and {r["status"] for r in rows} == {"ok"}
    assert sorted(usage_of(r) for r in rows) == sorted(sdk_usage(m.usage) for m in finals)
    assert {r["message_id"] for r in rows} == {m.id for m in finals}


def test_the_sdk_retries_through_the_proxy(
    proxy: ProxyServer, sim: InProcessSimulator, home: Path
) -> None:
    from tests.calls.conftest import sim_hook

    sim_hook(sim, "/_sim/faults", {"status": 529, "count": 1})
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url, max_retries=2)
    answer = client.messages.create(**params())
    proxy.drain()
    rows = calls(home)
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert "529 overloaded_error" in rows[0]["error"]
    assert usage_of(rows[1]) == sdk_usage(answer.usage)


def test_a_stream_cut_by_the_upstream_is_cut_for_the_client_and_logged_interrupted(
    proxy: ProxyServer, sim: InProcessSimulator, home: Path
) -> None:
    from tests.calls.conftest import sim_hook

    sim_hook(sim, "/_sim/faults", {"drop_after_events": 3, "count": 1})
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url, max_retries=0)
    with pytest.raises(Exception) as raised, client.messages.stream(**params()) as stream:
        for _ in stream:
            pass
    assert (
        "RemoteProtocolError" in type(raised.value).__name__
        or "incomplete" in str(raised.value).lower()
    )
    proxy.drain()
    (row,) = calls(home)
    assert row["status"] == "interrupted"
    # message_start had come: the cache write it reported is kept (and was billed).
    assert row["cache_creation_input_tokens"] > 0
    assert "broke off" in row["error"]


def test_upstream_sim_runs_the_simulator_in_process(home: Path) -> None:
    with ProxyServer(home, "sim", report=print) as proxy:
        client = anthropic.Anthropic(api_key="any-key-1234", base_url=proxy.base_url)
        client.messages.create(**params())
        again = client.messages.create(**params("Again?"))
        proxy.drain()
    rows = calls(home)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert rows[1]["cache_read_input_tokens"] == again.usage.cache_read_input_tokens > 0
    assert rows[0]["live"] == 0  # answered by the simulator, not the API
