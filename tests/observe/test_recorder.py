"""The recorder on its own: calls reported faster than the log keeps up are all logged."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.observe.exchange import Exchange
from promptcache_tui.observe.recorder import ProxyRecorder
from promptcache_tui.observe.tap import UsageTap
from promptcache_tui.store import Store

from .conftest import calls, query
from .shapes import claude_code_request
from .upstream import message_end, message_start, text_events

T0 = 1_796_000_000.0


def finished_exchange(params: dict[str, Any], ts: float, usage: dict[str, Any]) -> Exchange:
    """A call that has already ended, as the proxy reports it."""
    exchange = Exchange(
        method="POST",
        path="/v1/messages",
        query="",
        user_agent="claude-cli/2.1.197 (external, cli)",
        body=json.dumps(params).encode(),
        started_at=ts,
        perf_start=0.0,
        secrets=("sk-ant-api03-recorder-test-key",),
    )
    tap = UsageTap("text/event-stream")
    for chunk in [message_start(usage), *text_events("ok"), *message_end(9)]:
        tap.feed(chunk)
    tap.close()
    exchange.tap = tap.result
    exchange.status = 200
    exchange.outcome = "ok"
    exchange.duration_ms = 12.0
    return exchange


def test_a_backlog_is_logged_in_batches_with_prompts_and_misses(home: Path) -> None:
    write = {"input_tokens": 3, "cache_creation_input_tokens": 30_000, "output_tokens": 1}
    read = {
        "input_tokens": 3,
        "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 30_000,
        "output_tokens": 1,
    }
    exchanges = [
        finished_exchange(claude_code_request(suffix="aaa", turns=1), T0, write),
        finished_exchange(claude_code_request(suffix="aaa", turns=2), T0 + 5, read),
        finished_exchange(claude_code_request(suffix="bbb", turns=1), T0 + 9, write),
    ]

    async def run() -> int:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            recorder = ProxyRecorder(store, load_catalog(home))
            for exchange in exchanges:  # reported before the worker gets to any of them
                recorder.started(exchange)
                recorder.streaming(exchange)
                recorder.finished(exchange)
            await recorder.drain()
            await recorder.close()
            return recorder.unlogged

    assert asyncio.run(run()) == 0
    rows = calls(home)
    assert [r["status"] for r in rows] == ["ok", "ok", "ok"]
    assert [r["cache_read_input_tokens"] for r in rows] == [0, 30_000, 0]
    assert all(r["prompt_leaf"] is not None for r in rows)
    (miss,) = query(home, "SELECT * FROM call_misses WHERE code = 'content_changed'")
    assert miss["call_id"] == rows[2]["id"]
    assert miss["previous_call_id"] == rows[1]["id"]  # compared with a call of the same batch
    assert miss["block_label"] == "system block 1"


def test_new_calls_wait_while_the_log_is_far_behind(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promptcache_tui.observe import recorder as module

    monkeypatch.setattr(module, "MAX_BACKLOG", 2)
    usage = {"input_tokens": 3, "cache_creation_input_tokens": 30_000, "output_tokens": 1}

    async def run() -> list[bool]:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            recorder = ProxyRecorder(store, load_catalog(home))
            open_calls = []
            for i in range(2):
                exchange = finished_exchange(claude_code_request(turns=1), T0 + i, usage)
                exchange.outcome = "in_flight"  # still streaming
                recorder.started(exchange)
                recorder.streaming(exchange)
                open_calls.append(exchange)
            waiting = asyncio.ensure_future(recorder.room())
            await asyncio.sleep(0)
            states = [waiting.done()]
            for exchange in open_calls:
                exchange.outcome = "ok"
                recorder.finished(exchange)
            await recorder.drain()
            await asyncio.wait_for(waiting, 10)
            states.append(waiting.done())
            await recorder.close()
            return states

    assert asyncio.run(run()) == [False, True]
    assert len(calls(home)) == 2
