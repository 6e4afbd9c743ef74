"""The TTL ledger with a fake clock: write, refresh, expiry at 300 s and 3600 s."""

from __future__ import annotations

from promptcache_tui.core.ttl import CacheEvent, TTLLedger, breakpoint_cached


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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
    ledger.record(CacheEvent(ts=900, model="m", prefix_hash="h", ttl="5m"))
    assert ledger.state("m", "h").expires_at == 4600


def test_breakpoint_cached_rules() -> None:
    assert breakpoint_cached(2000, cached_tokens=2000, min_tokens=1024, ok=True)
    assert not breakpoint_cached(500, cached_tokens=2000, min_tokens=1024, ok=True)
    assert not breakpoint_cached(2000, cached_tokens=0, min_tokens=1024, ok=True)
    assert not breakpoint_cached(2000, cached_tokens=2000, min_tokens=1024, ok=False)


def test_a_sessions_cache_follows_its_last_write_and_reads() -> None:
    from promptcache_tui.core.ttl import SessionEvent, session_state

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
