"""The engine without HTTP: injected clock, two-step writes, answers, import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.context import Block, Context
from promptcache_tui.core.request import Turn, build_request
from promptcache_tui.core.tokens import estimate_text, token_pieces
from promptcache_tui.sim import answers
from promptcache_tui.sim.answers import generate, related_sentences
from promptcache_tui.sim.engine import CacheEngine, MemoryStore
from promptcache_tui.sim.errors import ApiError
from promptcache_tui.sim.state import SimState

from .prompts import doc_request


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> CacheEngine:
    """The engine over both stores: they must behave alike."""
    store = MemoryStore() if request.param == "memory" else SimState.in_dir(tmp_path)
    return CacheEngine(store, load_catalog(None), clock)


def test_an_entry_is_readable_only_once_its_response_has_started(
    engine: CacheEngine, clock: FakeClock
) -> None:
    start = clock.now
    a = engine.prepare(doc_request(2000))
    clock.now += 10
    b = engine.prepare(doc_request(2000))  # arrives before A's response starts
    assert a.usage.cache_creation_input_tokens == b.usage.cache_creation_input_tokens == 2000
    clock.now += 10
    engine.commit(a, "msg_a")  # the entry lives until start + 300
    c = engine.prepare(doc_request(2000))  # reads it, refreshing it to start + 320
    assert c.usage.cache_read_input_tokens == 2000
    engine.commit(b, "msg_b")  # B's late write (until start + 310) does not shorten it
    clock.now = start + 315  # past B's end, before the refreshed one: still read
    assert engine.prepare(doc_request(2000)).usage.cache_read_input_tokens == 2000


def test_ttl_counts_from_the_start_of_the_request(engine: CacheEngine, clock: FakeClock) -> None:
    a = engine.prepare(doc_request(2000))
    clock.now += 30  # a slow response: the entry still dies 300 s after the request began
    engine.commit(a, "msg_a")
    clock.now += 270.5
    assert engine.prepare(doc_request(2000)).usage.cache_read_input_tokens == 0


def test_reads_refresh_from_their_own_start(engine: CacheEngine, clock: FakeClock) -> None:
    engine.commit(engine.prepare(doc_request(2000)), "msg_a")
    clock.now += 299
    assert engine.prepare(doc_request(2000)).usage.cache_read_input_tokens == 2000
    clock.now += 299
    assert engine.prepare(doc_request(2000)).usage.cache_read_input_tokens == 2000
    clock.now += 301
    assert engine.prepare(doc_request(2000)).usage.cache_read_input_tokens == 0


def test_count_tokens_validates_like_create(engine: CacheEngine) -> None:
    request = doc_request(100)
    request["system"] = [
        {"type": "text", "text": f"block {i}", "cache_control": {"type": "ephemeral"}}
        for i in range(5)
    ]
    with pytest.raises(ApiError) as caught:
        engine.count_tokens(request)
    assert caught.value.status == 400
    assert engine.count_tokens(doc_request(2000)) == 2012


def test_cache_control_on_a_thinking_block_is_refused(engine: CacheEngine) -> None:
    request = doc_request(2000)
    request["messages"] += [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "thinking",
                    "thinking": "hmm",
                    "signature": "sig",
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        },
        {"role": "user", "content": "ok"},
    ]
    with pytest.raises(ApiError) as caught:
        engine.prepare(request)
    assert caught.value.message == (
        "messages.1.content.0.cache_control: cache_control cannot be set for thinking blocks"
    )


@pytest.mark.parametrize(
    "sample",
    [
        "The quick brown fox, 2024-10-13: costs $3.75/MTok!",
        "extraordinarily long words and 1234567 digits",
        "naïve café 東京 — ünïcödé",
        "  leading and trailing  ",
    ],
)
def test_token_pieces_agree_with_the_estimator(sample: str) -> None:
    pieces = token_pieces(sample)
    assert len(pieces) == estimate_text(sample)
    for n in range(len(pieces) + 1):
        assert estimate_text("".join(pieces[:n])) == n


def test_generation_is_capped_exactly() -> None:
    request = doc_request(200, question="Tell me about amber and basil.")
    full = generate(request, 10_000)
    assert full.stop_reason == "end_turn"
    assert full.output_tokens == estimate_text(full.text)
    for limit in (1, 2, 5, full.output_tokens - 1):
        cut = generate(request, limit)
        assert (cut.output_tokens, cut.stop_reason) == (limit, "max_tokens")
        assert full.text.startswith(cut.text)
        assert "".join(piece for b in cut.blocks for piece, _ in b.deltas) == cut.text
        assert sum(b.tokens for b in cut.blocks) == limit


def test_related_sentences_prefer_rare_shared_words() -> None:
    context = (
        "Cats sleep most of the day. The cache entry lives five minutes. "
        "Dogs bark at the mail carrier. A cache read refreshes the entry timer."
    )
    found = related_sentences("When does the cache entry timer refresh?", context, limit=1)
    assert found == ["A cache read refreshes the entry timer."]
    assert related_sentences("zebra", context) == []


@pytest.mark.parametrize(
    ("context", "turns"),
    [
        ("The cache entry lives five minutes. ", "A cache read refreshes the entry timer.\n"),
        ("Cats sleep most of the day!\n\n", "  The cache entry lives on.  Dogs bark at it."),
        ("", "The cache entry lives five minutes. The cache entry lives five minutes."),
        ("The cache entry lives five minutes.", ""),
        ("One cache entry here? And the same cache entry", "here? Or the cache entry there."),
    ],
)
def test_a_conversation_is_searched_as_if_joined_to_its_context(context: str, turns: str) -> None:
    question = "When does the cache entry timer refresh here?"
    joined = "\n".join(t for t in (context, turns) if t)
    for limit in (1, 2, 50):
        assert related_sentences(question, context, limit, turns=turns) == related_sentences(
            question, joined, limit
        )


def test_a_growing_conversation_keeps_one_cached_index_its_contexts() -> None:
    # The turns change on every request: cached with the context they were never read again,
    # and kept up to 8 ever-longer copies of the conversation alive.
    ctx = Context(
        name="book",
        blocks=(Block("document", "The Rabbit ran past the hedge. Alice followed it down."),),
    )
    answers._index.cache_clear()
    history: list[Turn] = []
    for i in range(12):
        prompt = f"Question {i}: where did the Rabbit run, in detail?"
        params = build_request(ctx, history, prompt, max_tokens=500).params
        text = generate(params, 500).text
        assert "The Rabbit ran past the hedge." in text
        history += [Turn("user", prompt), Turn("assistant", text)]
    info = answers._index.cache_info()
    assert (info.currsize, info.hits) == (1, 11)


def test_simulator_imports_neither_textual_nor_the_sdk() -> None:
    code = (
        "import sys, promptcache_tui.sim.inprocess, promptcache_tui.cli.sim_cmd; "
        "bad = [m for m in ('textual', 'anthropic') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_core_does_not_import_the_simulator() -> None:
    code = (
        "import sys, promptcache_tui.core.prefix, promptcache_tui.core.catalog; "
        "assert not [m for m in sys.modules if m.startswith('promptcache_tui.sim')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
