"""How the simulator serves: one worker per app, stopped with it; waiting for the state file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import anthropic
import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.sim.state import BUSY_TIMEOUT_MS, FIRST_NAP_S, LONGEST_NAP_S, SimState

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


class _OtherProcess:
    """Another writer of the state file: holds its write lock until told to let go."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("BEGIN IMMEDIATE")
        self.holding = True

    def let_go(self) -> None:
        if self.holding:
            self.db.execute("COMMIT")
            self.holding = False


class _FakeTime:
    """The state's clock and naps: a nap moves the clock, and may free the lock."""

    def __init__(self, other: _OtherProcess, free_at: float) -> None:
        self.now = 1000.0
        self.start = self.now
        self.naps: list[float] = []
        self.other = other
        self.free_at = free_at

    def monotonic(self) -> float:
        return self.now

    def nap(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds
        if self.now - self.start >= self.free_at:
            self.other.let_go()


def test_a_write_waiting_on_another_process_goes_through_once_it_lets_go(
    tmp_path: Path,
) -> None:
    state = SimState.in_dir(tmp_path)
    other = _OtherProcess(state.path)
    fake = _FakeTime(other, free_at=0.0)  # lets go during the first nap
    state.nap, state.monotonic = fake.nap, fake.monotonic
    state.add_fault(count=1, status=529)
    assert fake.naps == [FIRST_NAP_S]
    assert [f.status for f in state.pending_faults()] == [529]
    state.close()


def test_a_new_state_file_opened_by_several_processes_at_once_waits_its_turn(
    tmp_path: Path,
) -> None:
    """Switching a new file to WAL while another process holds a lock on it is refused at
    once by SQLite (no busy handler): the state naps and tries again, it does not fail."""
    path = tmp_path / "simulator.sqlite3"
    sqlite3.connect(path).close()  # a new, empty database, not yet in WAL mode
    other = _OtherProcess(path)
    fake = _FakeTime(other, free_at=0.0)  # lets go during the first nap
    state = SimState(path, nap=fake.nap, monotonic=fake.monotonic)
    assert fake.naps == [FIRST_NAP_S]
    state.add_fault(count=1, status=529)
    assert [f.status for f in state.pending_faults()] == [529]
    state.close()


def test_connections_of_retired_threads_are_closed(tmp_path: Path) -> None:
    """The server's idle worker threads retire and new ones come: a day of calls must not
    keep a connection open per thread that ever served one."""
    state = SimState.in_dir(tmp_path)
    state.add_fault(count=1, status=529)  # this thread's connection
    for _ in range(5):
        worker = threading.Thread(target=state.pending_faults)
        worker.start()
        worker.join()
    assert not worker.is_alive()
    assert state.connections() == 2  # this thread's and the last worker's, until the next
    state.pending_faults()  # this thread again: no new connection, nothing pruned
    assert state.connections() == 2
    again = threading.Thread(target=state.pending_faults)
    again.start()
    again.join()
    assert state.connections() == 2  # the retired worker's closed, the new one's open
    assert [f.status for f in state.pending_faults()] == [529]
    state.close()
    assert state.connections() == 0


@pytest.mark.parametrize(
    ("free_at", "written"),
    [
        (BUSY_TIMEOUT_MS / 1000 - 0.001, True),  # just before the timeout: written
        (BUSY_TIMEOUT_MS / 1000, True),  # at it: the try after the last nap wins
        # After the last try (one nap past the timeout): the error, nothing written.
        (BUSY_TIMEOUT_MS / 1000 + LONGEST_NAP_S + 0.001, False),
    ],
)
def test_a_write_waits_for_the_busy_timeout_in_short_naps(
    tmp_path: Path, free_at: float, written: bool
) -> None:
    state = SimState.in_dir(tmp_path)
    other = _OtherProcess(state.path)
    fake = _FakeTime(other, free_at)
    state.nap, state.monotonic = fake.nap, fake.monotonic
    if written:
        state.add_fault(count=1, status=529)
    else:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            state.add_fault(count=1, status=529)
    other.let_go()
    assert len(state.pending_faults()) == (1 if written else 0)
    # From 0.1 ms, doubling, never more than 2 ms: a short hold is not overslept.
    assert fake.naps[:5] == [FIRST_NAP_S * 2**n for n in range(5)]
    assert max(fake.naps) == LONGEST_NAP_S
    state.close()
