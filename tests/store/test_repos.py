"""Contexts, conversations and the call log in SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, LoggedBreakpoint
from promptcache_tui.core.request import Turn
from promptcache_tui.store import CallFilter, Store, StoreError

CTX = Context(
    name="book",
    blocks=(Block("system", "sys"), Block("document", "text", "a.txt")),
    breakpoints=(Breakpoint(1, "1h"),),
)


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    opened = await Store.open(tmp_path / "db.sqlite3")
    yield opened
    await opened.close()


async def test_context_round_trip(store: Store) -> None:
    saved = await store.contexts.add(CTX)
    loaded = await store.contexts.require("BOOK")  # names are case-insensitive
    assert loaded.id == saved.id
    assert loaded.blocks == CTX.blocks and loaded.breakpoints == CTX.breakpoints


async def test_duplicate_name_is_refused(store: Store) -> None:
    await store.contexts.add(CTX)
    with pytest.raises(StoreError, match="already exists"):
        await store.contexts.add(CTX)


async def test_rename_carries_history(store: Store) -> None:
    saved = await store.contexts.add(CTX)
    await store.calls.log(
        CallRecord(
            ts="2026-11-26T10:00:00.000000+00:00",
            kind="ask",
            model="m",
            context="book",
            context_id=saved.id,
        )
    )
    await store.contexts.save(saved.with_changes(name="novel"))
    assert [c.context for c in await store.calls.history()] == ["novel"]


async def test_delete_keeps_calls(store: Store) -> None:
    saved = await store.contexts.add(CTX)
    conv = await store.conversations.create(saved.id or 0)
    await store.conversations.append(conv, [Turn("user", "q"), Turn("assistant", "a")])
    await store.calls.log(
        CallRecord(
            ts="2026-11-26T10:00:00.000000+00:00",
            kind="chat",
            model="m",
            context="book",
            context_id=saved.id,
            conversation_id=conv,
        )
    )
    assert await store.contexts.delete("book")
    assert await store.contexts.get("book") is None
    assert await store.conversations.turns(conv) == []
    assert len(await store.calls.history()) == 1


async def test_call_log_keeps_every_usage_field_and_prices(store: Store) -> None:
    record = CallRecord(
        ts="2026-11-26T10:00:00.000000+00:00",
        kind="ask",
        model="claude-sonnet-4-6",
        context="book",
        usage=Usage.from_counts(
            input_tokens=13,
            cache_creation_input_tokens=1217,
            output_tokens=226,
            ephemeral_5m=0,
            ephemeral_1h=1217,
        ),
        prices=Prices(3.0, 15.0),
        prompt="What was the story about?",
        answer="A girl.",
        breakpoints=(LoggedBreakpoint(0, "1h", "abc", 1220, True, 1),),
    )
    call_id = await store.calls.log(record)
    row = await store.db.fetchone("SELECT * FROM calls WHERE id = ?", (call_id,))
    assert row["cache_creation_1h_tokens"] == 1217
    assert row["cache_creation_5m_tokens"] == 0
    assert row["price_input"] == 3.0 and row["mult_write_1h"] == 2.0
    assert row["cost_usd"] == pytest.approx((13 * 3 + 1217 * 6 + 226 * 15) / 1e6)
    loaded = await store.calls.get(call_id)
    assert loaded is not None and loaded.breakpoints == record.breakpoints
    assert loaded.prompt == "What was the story about?"
    events = await store.calls.cache_events(["abc"])
    assert [(e.prefix_hash, e.ttl) for e in events] == [("abc", "1h")]


async def test_history_filters_and_stats_agree(store: Store) -> None:
    for i, (ctx, model) in enumerate([("a", "m1"), ("a", "m2"), ("b", "m1")]):
        await store.calls.log(
            CallRecord(
                ts=f"2026-11-2{i}T10:00:00.000000+00:00",
                kind="ask",
                model=model,
                context=ctx,
                usage=Usage(input_tokens=10, cache_read_input_tokens=30),
                prices=Prices(3.0, 15.0),
            )
        )
    assert len(await store.calls.history(CallFilter(context="a"))) == 2
    assert len(await store.calls.history(CallFilter(model="m1"))) == 2
    newest = await store.calls.history(limit=1)
    assert newest[0].ts.startswith("2026-11-22")
    groups = {g["context"]: g for g in await store.calls.stats("context")}
    assert groups["a"]["calls"] == 2 and groups["a"]["hit_rate"] == pytest.approx(0.75)
    days = await store.calls.stats("day")
    assert [g["day"] for g in days] == ["2026-11-22", "2026-11-21", "2026-11-20"]


async def test_overlapping_writes_on_one_connection_take_turns(store: Store) -> None:
    import asyncio

    saved = await store.contexts.add(CTX)
    assert saved.id is not None
    records = [
        CallRecord(
            ts=f"2026-11-26T10:00:0{i}.000000+00:00",
            kind="ask",
            model="m",
            context="book",
            context_id=saved.id,
        )
        for i in range(5)
    ]
    await asyncio.gather(
        store.contexts.touch(saved.id),
        store.conversations.create(saved.id),
        *(store.calls.log(r) for r in records),
    )
    assert await store.calls.count() == 5


async def _prepared(store: Store, text: str) -> int:
    """Statements prepared on the store's connection whose SQL holds `text` (SQLite's list)."""
    try:
        rows = await store.db.fetchall("SELECT sql FROM sqlite_stmt")
    except sqlite3.OperationalError:  # SQLite built without SQLITE_ENABLE_STMTVTAB
        pytest.skip("this SQLite lists no prepared statements (sqlite_stmt)")
    return sum(1 for r in rows if text in r["sql"])


async def test_looking_up_one_more_prefix_each_turn_prepares_one_statement(store: Store) -> None:
    # A conversation's call looks up every prefix so far: one more each turn. A statement per
    # count stayed in the connection's statement cache, ever larger (issue 16).
    hashes = [f"h{i}" for i in range(60)]
    await store.calls.log(
        CallRecord(
            ts="2026-11-26T10:00:00.000000+00:00",
            kind="chat",
            model="m",
            context="book",
            prices=Prices(3.0, 15.0),
            breakpoints=tuple(
                LoggedBreakpoint(i, "5m", h, 1000 + i, cached=i % 2 == 0)
                for i, h in enumerate(hashes)
            ),
        )
    )
    found = [await store.calls.cache_events([*hashes[:n], "unknown"]) for n in range(61)]
    assert [len(events) for events in found] == [(n + 1) // 2 for n in range(61)]
    assert {e.prefix_hash for e in found[60]} == set(hashes[::2])
    assert await store.calls.cache_events([]) == []
    assert await _prepared(store, "b.prefix_hash IN") == 1
