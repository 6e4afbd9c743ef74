"""The per-day rollup answers totals exactly as a scan of the raw calls would."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from promptcache_tui.core.context import Context
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, iso_utc, parse_iso
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.store.calls import Totals, _plan
from tests.store.totals import assert_same_totals, sum_records

DAY = 86_400
START = parse_iso("2026-11-01T00:00:00+00:00")


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    opened = await Store.open(tmp_path / "db.sqlite3")
    yield opened
    await opened.close()


def _calls(count: int, seed: int = 3) -> list[CallRecord]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        model = rng.choice(["m-priced", "m-other", "m-unknown"])
        prices = Prices(None, None) if model == "m-unknown" else Prices(3.0, 15.0)
        out.append(
            CallRecord(
                ts=iso_utc(START + rng.random() * 6 * DAY),
                kind=rng.choice(["chat", "ask", "warm"]),
                model=model,
                status="error" if rng.random() < 0.1 else "ok",
                context=rng.choice(["a", "b", None]),
                usage=Usage.from_counts(
                    input_tokens=rng.randint(0, 50),
                    cache_creation_input_tokens=rng.choice([0, 1200]),
                    cache_read_input_tokens=rng.choice([0, 0, 1200]),
                    output_tokens=rng.randint(0, 80),
                ),
                prices=prices,
                prompt=rng.choice(
                    [
                        "Tell me about 50% off",
                        "what_is caching?",
                        "Summarise",
                        "a NAÏVE question",
                        "abc",
                        "what is caching",
                        None,
                    ]
                ),
            )
        )
    return out


async def _raw_totals(store: Store, filters: CallFilter) -> Totals:
    # The reference: every call read back and summed in Python.
    return sum_records(await store.calls.history(filters, limit=None))


FILTERS = [
    CallFilter(),
    CallFilter(context="a"),
    CallFilter(model="m-unknown"),
    CallFilter(kind="warm", status="error"),
    CallFilter(since="2026-11-02"),  # aligned to a day
    CallFilter(since="2026-11-02T00:00:00.000000+00:00", until="2026-11-04T00:00:00.000000+00:00"),
    CallFilter(since="2026-11-02T13:30:00.000000+00:00"),  # partial first day
    CallFilter(until="2026-11-04T07:00:00.000000+00:00"),  # partial last day
    CallFilter(
        since="2026-11-02T13:30:00.000000+00:00",
        until="2026-11-05T07:00:00.000000+00:00",
        context="b",
    ),
    CallFilter(since="2026-11-03T01:00:00.000000+00:00", until="2026-11-03T20:00:00.000000+00:00"),
    CallFilter(since="2026-11-03T01:00:00.000000+00:00", until="2026-11-04T00:00:00.000000+00:00"),
    CallFilter(since="2026-11-03T01:00:00.000000+00:00", until="2026-11-04T05:00:00.000000+00:00"),
    CallFilter(since="2026-11-05T00:00:00.000000+00:00", until="2026-11-02T00:00:00.000000+00:00"),
    CallFilter(search="50%"),
    CallFilter(search="WHAT_is", model="m-priced"),
    CallFilter(search="ab"),  # under 3 characters: no index, a plain scan
    CallFilter(search="caching?", since="2026-11-02T13:30:00.000000+00:00"),
    CallFilter(search="naïve"),
]


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
async def test_totals_and_breakdowns_match_the_raw_rows(store: Store, filters: CallFilter) -> None:
    await store.calls.log_many(_calls(600))
    expected = await _raw_totals(store, filters)
    assert_same_totals(await store.calls.totals(filters), expected)
    assert await store.calls.count(filters) == expected.calls
    for by in ("context", "model", "day", "kind", "status"):
        groups = await store.calls.breakdown(by, filters)
        merged = Totals()
        for _, part in groups:
            merged += part
        assert_same_totals(merged, expected)
    summary = await store.calls.summary(filters)
    assert_same_totals(summary.totals, expected)
    for by, got in (
        ("context", summary.by_context),
        ("model", summary.by_model),
        ("day", summary.by_day),
    ):
        reference = await store.calls.breakdown(by, filters)
        assert [k for k, _ in got] == [k for k, _ in reference]
        for (_, a), (_, b) in zip(got, reference, strict=True):
            assert_same_totals(a, b)


def test_a_date_range_is_split_into_whole_days_and_exact_edges() -> None:
    plan = _plan(
        CallFilter(
            since="2026-11-02T13:30:00.000000+00:00", until="2026-11-05T07:00:00.000000+00:00"
        )
    )
    assert plan.rollup == ("2026-11-03", "2026-11-05")
    assert [(p.since, p.until) for p in plan.raw] == [
        ("2026-11-02T13:30:00.000000+00:00", "2026-11-03T00:00:00.000000+00:00"),
        ("2026-11-05T00:00:00.000000+00:00", "2026-11-05T07:00:00.000000+00:00"),
    ]
    assert _plan(CallFilter(search="x")).rollup is None


async def test_the_rollup_follows_renames_deletes_and_edits(store: Store) -> None:
    ctx = await store.contexts.add(Context(name="book"))
    calls = _calls(50)
    for rec in calls:
        rec.context, rec.context_id = "book", ctx.id
    await store.calls.log_many(calls)
    await store.contexts.save(ctx.with_changes(name="novel"))
    assert [key for key, _ in await store.calls.breakdown("context")] == ["novel"]
    await store.db.conn.execute("UPDATE calls SET status = 'error' WHERE id <= 10")
    await store.db.conn.execute("DELETE FROM calls WHERE id > 40")
    assert_same_totals(await store.calls.totals(), await _raw_totals(store, CallFilter()))
    await store.db.conn.execute("DELETE FROM calls")
    assert await store.db.scalar("SELECT COUNT(*) FROM call_rollup") == 0


async def test_stats_json_shape_and_null_costs(store: Store) -> None:
    await store.calls.log(
        CallRecord(
            ts="2026-11-26T10:00:00.000000+00:00",
            kind="ask",
            model="m-unknown",
            context="x",
            usage=Usage(input_tokens=5),
        )
    )
    [group] = await store.calls.stats("model")
    assert group == {
        "model": "m-unknown",
        "calls": 1,
        "input_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": None,
        "uncached_cost_usd": None,
        "saved_usd": None,
        "hit_rate": 0.0,
    }


async def test_keyset_pages_walk_the_whole_log_once(store: Store) -> None:
    records = _calls(230)
    records[5].ts = records[6].ts  # a tie on ts is broken by id
    await store.calls.log_many(records)
    seen: list[int] = []
    async for page in store.calls.iter_history(CallFilter(), chunk=50):
        seen += [int(r.id or 0) for r in page]
    everything = [int(r.id or 0) for r in await store.calls.history(limit=None)]
    assert seen == everything and len(seen) == 230


async def test_log_many_keeps_breakpoints_with_their_call(store: Store) -> None:
    from promptcache_tui.core.records import LoggedBreakpoint

    await store.calls.log(CallRecord(ts="2026-11-26T09:00:00.000000+00:00", kind="ask", model="m"))
    batch = [
        CallRecord(
            ts=f"2026-11-26T10:00:0{i}.000000+00:00",
            kind="ask",
            model="m",
            breakpoints=(LoggedBreakpoint(0, "5m", f"h{i}", 2000, True),),
        )
        for i in range(3)
    ]
    ids = await store.calls.log_many(batch)
    assert ids == [2, 3, 4] and [r.id for r in batch] == ids
    loaded = await store.calls.get(3)
    assert loaded is not None and loaded.breakpoints[0].prefix_hash == "h1"


async def test_search_is_an_exact_substring_match(store: Store) -> None:
    prompts = [
        "Refund policy?",
        "the refunds",
        "REFUND",
        "re-fund",
        "fund",
        "naïve",
        "NAÏVE",
        "50% off",
        "5000 off",
        None,
    ]
    await store.calls.log_many(
        [
            CallRecord(ts=f"2026-11-26T10:00:{i:02d}.000000+00:00", kind="ask", model="m", prompt=p)
            for i, p in enumerate(prompts)
        ]
    )

    async def found(text: str) -> list[str | None]:
        # History rows leave the prompt out (it loads with the call in full).
        rows = await store.calls.history(CallFilter(search=text))
        return sorted(prompts[int(r.id or 0) - 1] or "" for r in rows)

    assert await found("refund") == ["REFUND", "Refund policy?", "the refunds"]
    assert await found("naïve") == ["naïve"]  # LIKE folds ASCII letters only
    assert await found("50%") == ["50% off"]  # % is a character, not a wildcard
    assert await found("un") == sorted(
        ["Refund policy?", "the refunds", "REFUND", "re-fund", "fund"]
    )
    assert await store.calls.count(CallFilter(search="refund")) == 3


@pytest.mark.parametrize(
    "filters",
    [
        CallFilter(context="a", model="m-priced", status="error"),
        CallFilter(context="b", status="error", kind="ask"),
        CallFilter(context="a", model="m-other", since="2026-11-03T05:00:00.000000+00:00"),
    ],
    ids=range(3),
)
async def test_pages_through_the_narrowest_index_match_a_plain_filter(
    store: Store, filters: CallFilter
) -> None:
    await store.calls.log_many(_calls(800))
    chosen = await store.calls._narrowest_index(filters)
    assert chosen in ("calls_by_context_ts", "calls_by_model_ts", "calls_errors_by_ts")
    everything = await store.calls.history(CallFilter(), limit=None)
    expected = [
        r.id
        for r in everything
        if all(
            getattr(r, name) == value
            for name in ("context", "model", "kind", "status")
            if (value := getattr(filters, name)) is not None
        )
        and (filters.since is None or r.ts >= filters.since)
    ]
    got: list[int | None] = []
    async for page in store.calls.iter_history(filters, chunk=7):
        got += [r.id for r in page]
    assert got == expected and expected
