"""Totals of a prompt search: exact ones equal a scan done in Python, and an estimate from a
sample is marked as one and scales its sample exactly as documented."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, iso_utc, parse_iso
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.store.calls import Summary, Totals
from tests.store.totals import assert_same_totals, sum_records

START = parse_iso("2026-11-01T00:00:00+00:00")
PROMPTS = (
    "Tell me about 50% off",
    "what_is caching?",
    "WHAT is 5000 off",
    "a NAÏVE question",
    "naïve: back\\slash",
    "abc",
    "x_y%z",
    "Summarise",
    "",
    None,
)
# Every way LIKE could misread a term: 1 and 2 characters (no trigram index), its wildcards
# % and _ and its escape character, mixed case, non-ASCII letters (LIKE folds ASCII only).
TERMS = (
    "a",
    "ab",
    "%",
    "_",
    "\\",
    "50%",
    "_is",
    "%z",
    "x_y",
    "t_i",  # `_` as a wildcard would match "t i" in "what is"
    "0%",
    "what_",
    "WHAT",
    "naïve",
    "Ï",
    "k\\s",
    "zzz",
)


@pytest.fixture
async def store(tmp_path: Path) -> Iterator[Store]:
    opened = await Store.open(tmp_path / "db.sqlite3")
    yield opened
    await opened.close()


def _calls(count: int, seed: int = 5) -> list[CallRecord]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        model = rng.choice(["m-priced", "m-unknown"])
        out.append(
            CallRecord(
                ts=iso_utc(START + rng.random() * 5 * 86_400),
                kind=rng.choice(["chat", "ask"]),
                model=model,
                status="error" if rng.random() < 0.1 else "ok",
                context=rng.choice(["a", "b", None]),
                usage=Usage.from_counts(
                    input_tokens=rng.randint(0, 50),
                    cache_creation_input_tokens=rng.choice([0, 1200]),
                    cache_read_input_tokens=rng.choice([0, 1200]),
                    output_tokens=rng.randint(0, 80),
                ),
                prices=Prices(None, None) if model == "m-unknown" else Prices(3.0, 15.0),
                prompt=rng.choice(PROMPTS),
            )
        )
    return out


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _contains(prompt: str | None, term: str) -> bool:
    # What a search means: a substring, ASCII letters in any case, nothing a wildcard.
    return prompt is not None and term.translate(_ASCII_LOWER) in prompt.translate(_ASCII_LOWER)


def _groups(summary: Summary) -> dict[str, dict[object, Totals]]:
    return {
        "context": dict(summary.by_context),
        "model": dict(summary.by_model),
        "day": dict(summary.by_day),
    }


async def _logged(store: Store, count: int) -> list[CallRecord]:
    records = _calls(count)
    await store.calls.log_many(records)  # sets each record's id
    return records


@pytest.mark.parametrize("term", TERMS)
async def test_exact_search_totals_equal_a_scan_in_python(store: Store, term: str) -> None:
    records = await _logged(store, 400)
    matching = [r for r in records if _contains(r.prompt, term)]
    filters = CallFilter(search=term)
    assert_same_totals(await store.calls.totals(filters), sum_records(matching))
    assert await store.calls.count(filters) == len(matching)
    grouped = await store.calls.summary(filters)
    assert grouped.exact and grouped.sample is None
    assert_same_totals(grouped.totals, sum_records(matching))
    for by, key_of in (
        ("context", lambda r: r.context),
        ("model", lambda r: r.model),
        ("day", lambda r: r.ts[:10]),
    ):
        got = _groups(grouped)[by]
        assert set(got) == {key_of(r) for r in matching}
        for key, part in got.items():
            assert_same_totals(part, sum_records([r for r in matching if key_of(r) == key]))
    assert_same_totals(
        (await store.calls.summary(filters, grouped=False)).totals, sum_records(matching)
    )


@pytest.mark.parametrize("term", TERMS)
async def test_an_estimate_that_reads_every_candidate_is_the_exact_summary(
    store: Store, term: str
) -> None:
    records = await _logged(store, 400)
    filters = CallFilter(search=term, context="a")
    exact = await store.calls.summary(filters)
    rough = await store.calls.estimate(filters, above=0, sample=10**6)
    if len(term) < 3:
        assert rough is None  # no trigram index to sample from: counted exactly only
        return
    matching = [r for r in records if r.context == "a" and _contains(r.prompt, term)]
    if rough is None:  # no candidate at all in the index
        assert not matching
        return
    assert rough.exact and rough.sample is None
    assert_same_totals(rough.totals, sum_records(matching))
    for by, got in _groups(rough).items():
        want = _groups(exact)[by]
        assert list(got) == list(want)
        for k in got:
            assert_same_totals(got[k], want[k])


async def test_a_sampled_estimate_scales_its_sample_and_says_so(store: Store) -> None:
    # Every prompt with the trigrams of "caching" contains it: the candidates are exactly
    # the matches, so the scaling can be computed here from the ids alone.
    records = await _logged(store, 900)
    matching = [r for r in records if _contains(r.prompt, "caching")]
    every = len(matching) // 20
    drawn = [r for r in matching if int(r.id or 0) % every == 0]
    assert every > 1 and drawn
    scale = len(matching) / len(drawn)
    for grouped in (True, False):
        rough = await store.calls.estimate(CallFilter(search="caching"), grouped=grouped, sample=20)
        assert rough is None  # 900 calls: few enough to count exactly at once
        rough = await store.calls.estimate(
            CallFilter(search="caching"), grouped=grouped, above=len(matching) - 1, sample=20
        )
        assert rough is not None and not rough.exact and rough.grouped == grouped
        assert rough.sample == len(drawn)
        sample = sum_records(drawn)
        assert rough.totals.calls == round(sample.calls * scale) == len(matching)
        assert rough.totals.input_tokens == round(sample.input_tokens * scale)
        assert rough.totals.cache_read_input_tokens == round(sample.cache_read_input_tokens * scale)
        assert rough.totals.errors == round(sample.errors * scale)
        assert rough.totals.cost_usd == pytest.approx((sample.cost_usd or 0) * scale)
    # Just over the threshold it estimates; at it, it does not.
    assert await store.calls.estimate(CallFilter(search="caching"), above=len(matching)) is None


async def test_nothing_to_estimate_without_a_search_of_three_characters(store: Store) -> None:
    await _logged(store, 50)
    for filters in (CallFilter(), CallFilter(context="a"), CallFilter(search="ab")):
        assert await store.calls.estimate(filters, above=0, sample=1) is None
    assert await store.calls.estimate(CallFilter(search="zzz"), above=0, sample=1) is None
