"""The call service directly: timeouts, chat turns and the ledger it feeds."""

from __future__ import annotations

import gc
from pathlib import Path

from promptcache_tui.calls.service import CallService, feed_ledger
from promptcache_tui.config import load_settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.overview import breakpoint_views
from promptcache_tui.core.request import Turn
from promptcache_tui.core.ttl import TTLLedger
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.store import Store
from tests.calls.conftest import BOOK

NOW = 1_795_687_200.0  # 2026-11-26 10:00 UTC


async def _context(store: Store) -> Context:
    return await store.contexts.add(
        Context(
            name="book",
            blocks=(Block("system", "Analyse the story."), Block("document", BOOK, "novel.txt")),
            breakpoints=(Breakpoint(1, "5m"),),
        )
    )


async def test_timeout_is_logged_as_an_error(tmp_path: Path, monkeypatch) -> None:
    # A slow prefill (20 tokens/s) makes the first byte arrive long after the timeout.
    with InProcessSimulator(tmp_path / "slow", rate=0, prefill_rate=20) as slow:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", slow.base_url)
        settings = load_settings(tmp_path / "home")
        async with await Store.open(settings.db_path) as store:
            ctx = await _context(store)
            service = CallService(settings, store, load_catalog(), max_retries=0, timeout=0.5)
            try:
                record = await service.run(ctx, "Q?", kind="ask")
            finally:
                await service.close()
            assert record.status == "error" and "timed out" in (record.error or "")
            [row] = await store.calls.history()
            assert row.status == "error"


async def test_chat_turns_cache_the_conversation_and_feed_the_ledger(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "home", offline=True)
    async with await Store.open(settings.db_path) as store:
        ctx = await _context(store)
        conv = await store.conversations.create(ctx.id or 0)
        # The ledger's clock stands still: the countdown is exact however slow the machine.
        service = CallService(settings, store, load_catalog(), sim_rate=0, clock=lambda: NOW)
        ledger = TTLLedger(service.now)
        chunks: list[str] = []
        try:
            first = await service.run(
                ctx, "Who is Aria?", kind="chat", conversation_id=conv, on_text=chunks.append
            )
            await store.conversations.append(
                conv, [Turn("user", "Who is Aria?"), Turn("assistant", first.answer or "")]
            )
            feed_ledger(ledger, first)
            turns = await store.conversations.turns(conv)
            second = await service.run(
                ctx, "Where does she live?", kind="chat", history=turns, conversation_id=conv
            )
        finally:
            await service.close()
        assert "".join(chunks) == first.answer
        assert first.kind == second.kind == "chat"
        # The second turn reads the context and the first turn, and writes its own tail.
        assert second.usage.cache_read_input_tokens > first.usage.cache_creation_input_tokens - 50
        assert second.usage.cache_creation_input_tokens > 0
        [view] = breakpoint_views(ctx, load_catalog(), ledger)
        assert view.entry.state == "warm" and view.entry.countdown() == "5:00"


def _requests_alive() -> int:
    import httpx2

    return sum(1 for o in gc.get_objects() if isinstance(o, httpx2.Request))


async def test_a_streamed_call_frees_its_request_without_the_cyclic_collector(
    tmp_path: Path,
) -> None:
    # The request holds the whole conversation as sent; the TUI keeps the cyclic collector's
    # full passes rare, so a request left in a reference cycle stayed for many answers.
    settings = load_settings(tmp_path / "home", offline=True)
    async with await Store.open(settings.db_path) as store:
        ctx = await _context(store)
        service = CallService(settings, store, load_catalog(), sim_rate=0, clock=lambda: NOW)
        try:
            await service.run(ctx, "Who is Aria?", kind="chat")  # the SDK loaded, warmed up
            gc.collect()
            gc.disable()
            try:
                before = _requests_alive()
                records = [
                    await service.run(ctx, f"Question {i}: who is Aria?", kind="chat")
                    for i in range(3)
                ]
                after = _requests_alive()
            finally:
                gc.enable()
        finally:
            await service.close()
        assert [r.status for r in records] == ["ok"] * 3 and all(r.answer for r in records)
        assert after == before
