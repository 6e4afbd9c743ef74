"""The log never says warm, or names a miss, where the API would say otherwise."""

from __future__ import annotations

from pathlib import Path

from promptcache_tui.calls.service import CallService, feed_ledger
from promptcache_tui.config import load_settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.overview import breakpoint_views
from promptcache_tui.core.ttl import TTLLedger
from promptcache_tui.store import Store
from tests.calls.conftest import BOOK


async def test_a_breakpoint_added_inside_a_cached_prefix_is_not_shown_warm(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "home", offline=True)
    catalog = load_catalog()
    async with await Store.open(settings.db_path) as store:
        ctx = await store.contexts.add(
            Context(
                name="book",
                blocks=(Block("document", BOOK, "a.txt"), Block("document", BOOK[::-1], "b.txt")),
                breakpoints=(Breakpoint(1, "5m"),),
            )
        )
        service = CallService(settings, store, catalog, sim_rate=0)
        ledger = TTLLedger(service.now)
        try:
            first = await service.run(ctx, "Who is Aria?", kind="ask")
            feed_ledger(ledger, first)
            # A breakpoint on the first document, inside the prefix the second one cached.
            marked = await store.contexts.save(
                ctx.with_changes(breakpoints=(Breakpoint(0, "5m"), Breakpoint(1, "5m")))
            )
            second = await service.run(marked, "Who is Aria?", kind="ask")
            feed_ledger(ledger, second)
            assert second.usage.cache_read_input_tokens > 0
            assert second.usage.cache_creation_input_tokens == 0  # the API wrote nothing new
            assert [b.cached for b in second.breakpoints] == [False, True]
            views = breakpoint_views(marked, catalog, ledger)
            assert [v.entry.state for v in views] == ["cold", "warm"]
            # And the API agrees: with the second document changed, nothing is read.
            changed = await store.contexts.save(
                marked.with_changes(
                    blocks=(marked.blocks[0], Block("document", BOOK[::-1] + "!", "b.txt"))
                )
            )
            third = await service.run(changed, "Who is Aria?", kind="ask")
            assert third.usage.cache_read_input_tokens == 0
        finally:
            await service.close()


async def test_a_second_ask_that_hit_has_no_miss_reason(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "home", offline=True)
    async with await Store.open(settings.db_path) as store:
        ctx = await store.contexts.add(
            Context(
                name="book",
                blocks=(Block("document", BOOK, "a.txt"),),
                breakpoints=(Breakpoint(0),),
            )
        )
        service = CallService(settings, store, load_catalog(), sim_rate=0)
        try:
            first = await service.run(ctx, "Who is Aria?", kind="ask")
            second = await service.run(ctx, "Where does she live?", kind="ask")
        finally:
            await service.close()
    assert first.cache_miss_reason == "first write"
    # The API reports messages_changed (the question replaced the last one) with nothing
    # missed: the call read the whole context, so it is no miss.
    assert second.usage.cache_read_input_tokens > 0
    assert (second.cache_miss_reason, second.cache_missed_input_tokens) == (None, None)
