"""How the simulator serves: one worker per app, stopped with it, state kept across restarts."""

from __future__ import annotations

import threading
from pathlib import Path

import anthropic

from promptcache_tui.sim.inprocess import InProcessSimulator

from .hooks import API_KEY
from .prompts import doc_request


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("promptcache-sim-work")]


def test_stopping_leaves_no_worker_thread_behind(tmp_path: Path) -> None:
    before = _workers()
    with (
        InProcessSimulator(tmp_path, rate=0) as server,
        anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0) as sdk,
    ):
        sdk.messages.create(**doc_request(2000))
        assert len(_workers()) == len(before) + 1
    assert _workers() == before


def test_a_stopped_simulator_starts_again_and_keeps_its_cache(tmp_path: Path) -> None:
    server = InProcessSimulator(tmp_path, rate=0)
    for expected_read in (0, 2000):
        server.start()
        try:
            with anthropic.Anthropic(
                api_key=API_KEY, base_url=server.base_url, max_retries=0
            ) as sdk:
                usage = sdk.messages.create(**doc_request(2000)).usage
                assert usage.cache_read_input_tokens == expected_read
        finally:
            server.stop()


def test_many_clients_at_once_each_get_their_own_answer(tmp_path: Path) -> None:
    # Eight threads, each with its own document: every first call writes, every second reads.
    results: dict[int, list[int]] = {}
    with InProcessSimulator(tmp_path, rate=0) as server:

        def work(n: int) -> None:
            with anthropic.Anthropic(
                api_key=API_KEY, base_url=server.base_url, max_retries=0
            ) as sdk:
                request = doc_request(2000, seed=100 + n)
                results[n] = [
                    sdk.messages.create(**request).usage.cache_read_input_tokens,
                    sdk.messages.create(**request).usage.cache_read_input_tokens,
                ]

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert results == {n: [0, 2000] for n in range(8)}
