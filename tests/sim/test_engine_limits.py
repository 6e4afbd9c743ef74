"""The simulator's limits at, just under and just over them: each catalog model's minimum
(read from the catalog, not written here), and the 32 MB body over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.sim.engine import CacheEngine, CacheEntry
from promptcache_tui.sim.errors import ApiError
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.sim.models import UNKNOWN_MODEL_MIN_CACHE_TOKENS
from promptcache_tui.sim.server import MAX_BODY_BYTES

from .hooks import API_KEY
from .test_engine_rules import EPHEMERAL, Clock, _engine, run, text, words

CATALOG = load_catalog(None)
# One servable model per distinct minimum, so every minimum the catalog holds is tested.
_BY_MINIMUM: dict[int, str] = {}
for _name in CATALOG.names():
    _info = CATALOG.get(_name)
    if _info is not None and _info.min_cache_tokens is not None and not _info.retired:
        _BY_MINIMUM.setdefault(_info.min_cache_tokens, _name)
MODELS = sorted(_BY_MINIMUM.values())
UNKNOWN = "claude-not-catalogued"


def _minimum(model: str) -> int:
    info = CATALOG.get(model)
    if info is None:
        return UNKNOWN_MODEL_MIN_CACHE_TOKENS
    assert info.min_cache_tokens is not None
    return info.min_cache_tokens


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> CacheEngine:
    return _engine(request.param, Clock(), tmp_path)


def test_the_catalog_holds_several_minimums() -> None:
    assert len(MODELS) >= 3
    assert UNKNOWN_MODEL_MIN_CACHE_TOKENS == 1024  # README: an unknown model caches from 1024


@pytest.mark.parametrize("model", [*MODELS, UNKNOWN])
@pytest.mark.parametrize(("delta", "cached"), [(-1, False), (0, True), (1, True)])
def test_each_models_minimum_at_under_and_over(
    engine: CacheEngine, model: str, delta: int, cached: bool
) -> None:
    tokens = _minimum(model) + delta
    params = {
        "model": model,
        "system": [text(words(tokens), EPHEMERAL)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    first = run(engine, params)
    # Under the minimum: no error, no cache; the prefix is plain input.
    assert first.usage.cache_creation_input_tokens == (tokens if cached else 0)
    assert first.rendering is not None
    assert first.usage.input_tokens == first.rendering.total_tokens - (tokens if cached else 0)
    second = engine.prepare({"max_tokens": 8, **params})
    assert second.usage.cache_read_input_tokens == (tokens if cached else 0)


# -- the 32 MB body --------------------------------------------------------------------------

_HEADERS = {
    "x-api-key": API_KEY,
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessSimulator]:
    with InProcessSimulator(tmp_path_factory.mktemp("sim"), rate=0) as sim:
        yield sim


def _body(size: int) -> bytes:
    """A request of exactly `size` bytes: valid JSON, padded with whitespace."""
    question = {
        "model": "not-a-claude-model",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "Q"}],
    }
    head = json.dumps(question).encode()
    return head + b" " * (size - len(head))


def _answer(response: httpx2.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["type"]


@pytest.mark.parametrize(("extra", "refused"), [(-1, False), (0, False), (1, True)])
def test_a_body_over_32_mb_is_a_413(server: InProcessSimulator, extra: int, refused: bool) -> None:
    assert MAX_BODY_BYTES == 32 * 1024 * 1024
    body = _body(MAX_BODY_BYTES + extra)
    with httpx2.Client(timeout=60) as client:
        declared = client.post(server.base_url + "/v1/messages", content=body, headers=_HEADERS)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the size is found while reading
            for at in range(0, len(body), 1 << 20):
                yield body[at : at + (1 << 20)]

        streamed = client.post(server.base_url + "/v1/messages", content=chunks(), headers=_HEADERS)
    # Within the limit the body is read and the request judged on its content (an unknown model).
    expected = (413, "request_too_large") if refused else (404, "not_found_error")
    assert _answer(declared) == _answer(streamed) == expected
    if refused:
        assert declared.json()["error"]["message"] == (
            f"Request exceeds the maximum size of {MAX_BODY_BYTES} bytes."
        )


# -- what the store keeps and the usage object, exactly ------------------------------------


def test_the_store_keeps_each_entrys_key_ttl_end_and_tokens(engine: CacheEngine) -> None:
    clock = engine.clock
    assert isinstance(clock, Clock)
    params = {
        "model": "claude-sonnet-4-6",
        "system": [text(words(2000), {"type": "ephemeral", "ttl": "1h"})],
        "messages": [{"role": "user", "content": "Q"}],
    }
    first = run(engine, params)
    [write] = first.writes
    start = clock.now
    assert engine.store.lookup("claude-sonnet-4-6", [write.key], start) == {
        write.key: CacheEntry(write.key, 3600, start + 3600, 2000)
    }
    clock.now += 100
    read = engine.prepare({"max_tokens": 8, **params})  # a read refreshes it, nothing else
    assert read.read_keys == (write.key,)
    assert engine.store.lookup("claude-sonnet-4-6", [write.key], clock.now) == {
        write.key: CacheEntry(write.key, 3600, start + 3700, 2000)
    }


def test_the_usage_object_is_the_apis(engine: CacheEngine) -> None:
    params = {
        "model": "claude-sonnet-4-6",
        "system": [text(words(2000), EPHEMERAL)],
        "messages": [{"role": "user", "content": "Q"}],
    }
    usage = run(engine, params).usage
    assert usage.as_dict(7) == {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 7,
        "service_tier": "standard",
        "inference_geo": "global",
        "speed": "standard",
    }


# -- the words of the simulator's caching refusals ----------------------------------------

_ORDER = (
    "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. "
    "Note that blocks are processed in the following order: `tools`, `system`, `messages`."
)


def _system(marker: Any, **extra: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": words(2000)}
    if marker is not ...:
        block["cache_control"] = marker
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 8,
        "system": [block],
        "messages": [{"role": "user", "content": "Q"}],
        **extra,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (_system("x"), "system.0.cache_control: Input should be a valid dictionary"),
        (
            _system({"type": "persistent"}),
            "system.0.cache_control.type: Input should be 'ephemeral'",
        ),
        (
            _system({"type": "ephemeral", "ttl": "2h"}),
            "system.0.cache_control.ttl: Input should be '5m' or '1h'",
        ),
        (
            _system(..., cache_control={"type": "x"}),
            "cache_control.type: Input should be 'ephemeral'",
        ),
        (
            _system(EPHEMERAL, cache_control={"type": "ephemeral", "ttl": "1h"}),
            f"cache_control.ttl: {_ORDER}",  # the top-level one is named as such
        ),
        (
            {
                "model": "claude-sonnet-4-6",
                "max_tokens": 8,
                "messages": [
                    {"role": "user", "content": [text(words(1500), EPHEMERAL)]},
                    {
                        "role": "assistant",
                        "content": [text("c", {"type": "ephemeral", "ttl": "1h"})],
                    },
                    {"role": "user", "content": "Q"},
                ],
            },
            f"messages.1.content.0.cache_control.ttl: {_ORDER}",
        ),
    ],
)
def test_each_caching_refusal_names_the_field(
    engine: CacheEngine, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApiError) as caught:
        engine.prepare(params)
    assert (caught.value.status, caught.value.message) == (400, message)


@pytest.mark.parametrize("marker", [EPHEMERAL, {"type": "ephemeral", "ttl": None}])
def test_a_marker_without_a_ttl_writes_for_five_minutes(
    engine: CacheEngine, marker: dict[str, Any]
) -> None:
    prepared = run(engine, _system(marker))
    assert (prepared.usage.cache_creation_5m, prepared.usage.cache_creation_1h) == (2000, 0)
    assert [w.ttl for w in prepared.writes] == [300]
    assert [p.automatic for p in prepared.breakpoints] == [False]


def test_top_level_caching_marks_the_last_block_as_automatic(engine: CacheEngine) -> None:
    prepared = run(engine, _system(..., cache_control={"type": "ephemeral", "ttl": "1h"}))
    [point] = prepared.breakpoints
    assert (point.automatic, point.ttl, point.block.path) == (True, "1h", "messages.0.content.0")
