"""A model's alias and its dated id share one cache in what the proxy logs and shows.

The SDK calls through the proxy to the simulator (which resolves aliases, as the API does),
both on one injected clock: the countdowns, and the misses explained, treat calls made
with `claude-haiku-4-5` and with `claude-haiku-4-5-20251001` as calls of one model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.observe.server import ProxyServer
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.store import Store
from promptcache_tui.store.observed import ObservedGroup

from .conftest import SECRET, calls
from .shapes import claude_code_request

ALIAS = "claude-haiku-4-5"  # the catalog's id
DATED = "claude-haiku-4-5-20251001"  # its alias: the very same model
T0 = 1_796_000_000.0


class Clock:
    """The simulator's and the proxy's time, moved by the test."""

    def __init__(self) -> None:
        self.value = T0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def upstream(tmp_path: Path, clock: Clock) -> Iterator[InProcessSimulator]:
    with InProcessSimulator(tmp_path / "upstream-sim", rate=0, clock=clock) as server:
        yield server


@pytest.fixture
def timed_proxy(home: Path, upstream: InProcessSimulator, clock: Clock) -> Iterator[ProxyServer]:
    with ProxyServer(home, upstream.base_url, clock=clock, report=lambda _: None) as server:
        yield server


def send(proxy: ProxyServer, model: str, **shape: Any) -> dict[str, Any]:
    """One call through the proxy, as the SDK makes it; its logged row."""
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url, max_retries=0)
    params = claude_code_request(model=model, **shape)
    params.pop("stream")
    params["max_tokens"] = 64
    client.messages.create(**params)
    proxy.drain()
    return calls(proxy.data_dir)[-1]


def groups(home: Path, now: float, *, resolve: bool = True) -> list[ObservedGroup]:
    catalog = load_catalog(home)

    async def listed() -> list[ObservedGroup]:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            return await store.observed.groups(
                now, kind="proxy", resolve=catalog.cache_id if resolve else None
            )

    return asyncio.run(listed())


def test_a_read_with_the_dated_id_refreshes_the_alias_countdown(
    timed_proxy: ProxyServer, home: Path, clock: Clock
) -> None:
    first = send(timed_proxy, ALIAS, turns=2)
    assert first["cache_creation_input_tokens"] > 0
    clock.value = T0 + 200
    second = send(timed_proxy, DATED, turns=2)
    # The same model: the dated id read everything the alias wrote, and that is no miss.
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0
    assert second["cache_miss_reason"] is None
    # 450 s after the write, 250 s after the read: each group's entries live until 500 s.
    by_model = {g.model: g for g in groups(home, T0 + 450)}
    assert set(by_model) == {ALIAS, DATED}
    for group in by_model.values():
        assert {c.state.countdown() for c in group.caches} == {"0:50"}
    # Names taken as they are, the alias's group would have expired 150 s ago.
    unresolved = {g.model: g for g in groups(home, T0 + 450, resolve=False)}
    assert {c.state.state for c in unresolved[ALIAS].caches} == {"expired"}
    # At the refreshed expiry itself, the entry is gone.
    assert {c.state.state for c in groups(home, T0 + 500)[0].caches} == {"expired"}


def test_a_miss_after_the_other_name_is_explained_as_expired_not_as_a_model_change(
    timed_proxy: ProxyServer, home: Path, clock: Clock
) -> None:
    send(timed_proxy, ALIAS, turns=2)
    clock.value = T0 + 200
    read = send(timed_proxy, DATED, turns=2)
    assert read["cache_read_input_tokens"] > 0
    clock.value = T0 + 500  # the read's refresh ends here: the entries are gone
    missed = send(timed_proxy, ALIAS, turns=2)
    assert missed["cache_read_input_tokens"] == 0
    assert missed["cache_miss_reason"] == "expired: 5m00s since the previous call, past its 5m TTL"


def test_an_entry_refreshed_under_the_dated_id_is_not_called_expired(
    timed_proxy: ProxyServer, upstream: InProcessSimulator, home: Path, clock: Clock
) -> None:
    """The ledger behind the explanation counts the dated id's reads of the alias's entries:
    a miss while they should still live is unexplained (evicted), not expired."""
    send(timed_proxy, ALIAS, turns=2)
    clock.value = T0 + 200
    # Another conversation on the same tools and system: it reads (and so refreshes) the
    # system breakpoints the alias's call wrote, until 500 s.
    other = send(timed_proxy, DATED, turns=1)
    assert other["cache_read_input_tokens"] > 0
    httpx2.post(f"{upstream.base_url}/_sim/reset", json={}).raise_for_status()  # evicted
    clock.value = T0 + 400  # past the alias call's own 5 minutes, not past the refresh
    missed = send(timed_proxy, ALIAS, turns=2)
    assert missed["cache_read_input_tokens"] == 0
    assert missed["cache_miss_reason"].startswith("missed although the same prefix")


def test_an_imported_session_switching_names_is_not_a_model_change(tmp_path: Path) -> None:
    """Claude Code's transcript: written under the alias, then a miss under the dated id
    after the entry's 5 minutes: expired, not "model changed"."""
    from .transcript import Session

    home = tmp_path / "home"
    home.mkdir()
    projects = tmp_path / "claude" / "projects"
    session = Session(projects, "5e3d2a1b-0c44-4c7a-9f21-0b9c3a526d1e")
    session.response(
        "2026-11-20T10:00:00.000Z", message_id="m1", request_id="r1", model=ALIAS, write_5m=9000
    )
    session.response(
        "2026-11-20T10:06:00.000Z", message_id="m2", request_id="r2", model=DATED, write_5m=9000
    )
    session.write()

    async def run() -> None:
        from promptcache_tui.observe.claude_code import ClaudeCodeImporter

        async with await Store.open(home / "promptcache.sqlite3") as store:
            await ClaudeCodeImporter(store, load_catalog(home)).run([projects])

    asyncio.run(run())
    reasons = [r["cache_miss_reason"] for r in calls(home)]
    assert reasons == [
        "first write of the session",
        "expired: 6m00s since the previous call, past its 5m TTL",
    ]
