"""A call is priced by what its usage reports: fast mode and US inference, stored with the row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promptcache_tui.calls.service import CallService
from promptcache_tui.config import load_settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.store import Store
from tests.calls.conftest import BOOK


class AddToBody:
    """Adds fields to every /v1/messages body, as a caller's own code would send them."""

    def __init__(self, app: ASGIApp, extra: dict[str, Any]) -> None:
        self.app = app
        self.extra = extra
        self.state = getattr(app, "state", None)  # the simulator's, for its shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/messages":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = json.dumps({**json.loads(b"".join(chunks)), **self.extra}).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


@pytest.fixture
def modes_sim(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[InProcessSimulator]:
    sim = InProcessSimulator(tmp_path / "remote", rate=0)
    sim.app = AddToBody(sim.app, request.param)  # type: ignore[assignment]
    with sim:
        yield sim


@pytest.mark.parametrize(
    ("modes_sim", "base", "out"),
    [
        ({}, 5.0, 25.0),
        ({"speed": "fast"}, 10.0, 50.0),
        ({"inference_geo": "us"}, 5.5, 27.5),
        ({"speed": "fast", "inference_geo": "us"}, 11.0, 55.0),
    ],
    indirect=["modes_sim"],
)
async def test_usage_modes_choose_the_prices_stored_with_the_call(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    modes_sim: InProcessSimulator,
    base: float,
    out: float,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", modes_sim.base_url)
    settings = load_settings(tmp_path / "home")
    async with await Store.open(settings.db_path) as store:
        ctx = await store.contexts.add(
            Context(
                name="book",
                model="claude-opus-5",
                blocks=(Block("document", BOOK, "novel.txt"),),
                breakpoints=(Breakpoint(0, "5m"),),
            )
        )
        service = CallService(settings, store, load_catalog(), max_retries=0)
        try:
            record = await service.run(ctx, "Who is Aria?", kind="ask")
        finally:
            await service.close()
        assert record.status == "ok", record.error
        [row] = await store.calls.history()
        stored = await store.calls.get(row.id or 0)
    assert stored is not None
    assert (stored.prices.input, stored.prices.output) == (
        pytest.approx(base),
        pytest.approx(out),
    )
    usage = stored.usage
    expected = (
        usage.input_tokens * base
        + usage.cache_creation_5m_tokens * base * 1.25
        + usage.cache_read_input_tokens * base * 0.1
        + usage.output_tokens * out
    ) / 1e6
    assert stored.cost.cost_usd == pytest.approx(expected)
