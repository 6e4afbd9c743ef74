"""The TTL ledger with a fake clock: write, refresh, expiry at 300 s and 3600 s."""

from __future__ import annotations

from collections.abc import Iterable

from promptcache_tui.core.ttl import (
    CacheEvent,
    EntryState,
    SessionCaches,
    SessionEvent,
    TTLLedger,
    breakpoint_cached,
)


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def session_state(
    events: Iterable[SessionEvent], now: float, model: str | None = None
) -> EntryState:
    """A session's cache at `now`, from its calls (oldest first), as `SessionCaches` folds it."""
    caches = SessionCaches()
    for event in events:
        caches.add(event)
    return caches.pick(model)[1].state(now)


def test_never_written_is_cold() -> None:
    ledger = TTLLedger(FakeClock())
    state = ledger.state("m", "h")
    assert state.state == "cold" and state.countdown() == "cold"


def test_5m_write_counts_down_and_expires_at_300_s() -> None:
    clock = FakeClock()
    ledger = TTLLedger(clock)
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="5m"))
    assert ledger.state("m", "h").countdown() == "5:00"
    clock.advance(299)
    state = ledger.state("m", "h")
    assert state.state == "warm" and state.countdown() == "0:01"
    assert state.urgency == "expiring"
    clock.advance(1)
    assert ledger.state("m", "h").state == "expired"
    assert ledger.state("m", "h").countdown() == "cold"


def test_1h_write_lives_3600_s() -> None:
    clock = FakeClock()
    ledger = TTLLedger(clock)
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="1h"))
    clock.advance(3599)
    assert ledger.state("m", "h").state == "warm"
    clock.advance(2)
    assert ledger.state("m", "h").state == "expired"


def test_a_read_refreshes_the_timer() -> None:
    clock = FakeClock()
    ledger = TTLLedger(clock)
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="5m"))
    clock.advance(200)
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="5m"))
    clock.advance(200)  # 400 s after the write, 200 s after the read
    state = ledger.state("m", "h")
    assert state.state == "warm" and state.countdown() == "1:40"
    assert state.urgency == "warm"


def test_changed_model_or_prefix_starts_cold() -> None:
    clock = FakeClock()
    ledger = TTLLedger(clock)
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="5m"))
    assert ledger.state("other-model", "h").state == "cold"
    assert ledger.state("m", "changed").state == "cold"


def test_late_old_event_does_not_shorten_expiry() -> None:
    ledger = TTLLedger(FakeClock(1000))
    ledger.record(CacheEvent(ts=1000, model="m", prefix_hash="h", ttl="1h"))
    ledger.record(CacheEvent(ts=200, model="m", prefix_hash="h", ttl="5m"))  # long dead by 1000
    assert ledger.state("m", "h").expires_at == 4600


def test_events_replay_in_time_order_and_a_read_keeps_the_written_ttl() -> None:
    # Written at 900 for 5m; the 1h breakpoint at 1000 reads that live entry, which keeps
    # its 5m life (refreshed to 1300), as the API refreshes an entry it reads.
    for order in ([900, 1000], [1000, 900]):
        ledger = TTLLedger(FakeClock(1000))
        for ts in order:
            ttl = "5m" if ts == 900 else "1h"
            ledger.record(CacheEvent(ts=ts, model="m", prefix_hash="h", ttl=ttl))
        state = ledger.state("m", "h")
        assert (state.expires_at, state.ttl) == (1300, "5m")


def test_a_write_after_expiry_takes_the_new_ttl() -> None:
    ledger = TTLLedger(FakeClock(0))
    ledger.record(CacheEvent(ts=0, model="m", prefix_hash="h", ttl="5m"))
    ledger.record(CacheEvent(ts=300, model="m", prefix_hash="h", ttl="1h"))  # dead at 300
    assert (ledger.state("m", "h", 300).expires_at, ledger.state("m", "h", 300).ttl) == (
        3900,
        "1h",
    )


def test_aliases_share_an_entry_when_the_ledger_resolves_them() -> None:
    resolve = {"claude-haiku-4-5-20251001": "claude-haiku-4-5"}.get
    ledger = TTLLedger(FakeClock(0), resolve=lambda m: resolve(m) or m)
    ledger.record(CacheEvent(ts=0, model="claude-haiku-4-5-20251001", prefix_hash="h", ttl="5m"))
    assert ledger.state("claude-haiku-4-5", "h").state == "warm"
    assert TTLLedger(FakeClock(0)).state("claude-haiku-4-5", "h").state == "cold"


def test_breakpoint_cached_rules() -> None:
    assert breakpoint_cached(2000, cached_tokens=2000, min_tokens=1024, ok=True)
    assert not breakpoint_cached(500, cached_tokens=2000, min_tokens=1024, ok=True)
    assert not breakpoint_cached(2000, cached_tokens=0, min_tokens=1024, ok=True)
    assert not breakpoint_cached(2000, cached_tokens=2000, min_tokens=1024, ok=False)


def test_events_of_the_same_instant_replay_in_the_order_recorded() -> None:
    # Found by the two-model property test: a 5m write, then at the same instant a 1h
    # breakpoint reading it. The read keeps the entry's 5m life.
    ledger = TTLLedger(FakeClock(0))
    ledger.record(CacheEvent(ts=0, model="m", prefix_hash="h", ttl="5m"))
    ledger.record(CacheEvent(ts=0, model="m", prefix_hash="h", ttl="1h"))
    assert (ledger.state("m", "h").expires_at, ledger.state("m", "h").ttl) == (300, "5m")


def test_a_sessions_cache_follows_its_last_write_and_reads() -> None:

    t0 = 1_796_000_000.0
    events = [
        SessionEvent(t0, write_5m=0, write_1h=900, read=0),
        SessionEvent(t0 + 600, write_5m=0, write_1h=0, read=900),  # refreshes the 1h entry
    ]
    assert session_state(events, t0 + 600 + 3599).countdown() == "0:01"
    assert session_state(events, t0 + 600 + 3600).state == "expired"
    later_5m = [events[0], SessionEvent(t0 + 10, write_5m=50, write_1h=0, read=0)]
    assert session_state(later_5m, t0 + 310).state == "expired"  # the last write was 5m
    reads_only = [SessionEvent(t0, write_5m=0, write_1h=0, read=500)]
    assert session_state(reads_only, t0 + 299).ttl == "5m"
    assert session_state([], t0).state == "cold"


def test_a_sessions_cache_is_its_main_threads_per_model() -> None:

    t0 = 1_796_000_000.0
    events = [
        SessionEvent(t0, write_5m=0, write_1h=900, read=0, model="opus"),
        SessionEvent(t0 + 5, write_5m=70, write_1h=0, read=0, model="opus", sidechain=True),
        SessionEvent(t0 + 10, write_5m=50, write_1h=0, read=0, model="haiku"),
    ]
    # The last model that answered (haiku) unless one is asked for; the subagent's 5m
    # write on opus is its own cache, not the session's.
    assert (session_state(events, t0 + 20).ttl, session_state(events, t0 + 20).expires_at) == (
        "5m",
        t0 + 310,
    )
    assert session_state(events, t0 + 20, model="opus").expires_at == t0 + 3600
    assert session_state(events, t0 + 20, model="sonnet").expires_at == t0 + 310  # unknown
    assert session_state(events[1:2], t0).state == "cold"  # only a subagent's call


def test_a_state_read_once_ticks_on_from_its_expiry() -> None:
    clock = FakeClock()
    ledger = TTLLedger(clock)
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="5m"))
    read = ledger.state("m", "h")
    assert read.at(clock.now + 60).countdown() == "4:00"
    assert read.at(clock.now + 299).countdown() == "0:01"  # just under
    assert read.at(clock.now + 300).state == "expired"  # at the expiry
    assert read.at(clock.now + 301).countdown() == "cold"  # just over
    never = ledger.state("m", "other")
    assert never.at(clock.now + 10) == never  # cold stays cold
