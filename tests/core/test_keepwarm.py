"""Keep-warm with a fake clock: pings before expiry, stops at its caps, never pings cold."""

from __future__ import annotations

from promptcache_tui.core.keepwarm import KeepWarm, KeepWarmPolicy
from promptcache_tui.core.ttl import CacheEvent, TTLLedger


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def warm_ledger(clock: Clock) -> TTLLedger:
    ledger = TTLLedger(clock)
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="5m"))
    return ledger


def test_pings_only_in_the_last_seconds_before_expiry() -> None:
    clock = Clock()
    ledger = warm_ledger(clock)
    keeper = KeepWarm(KeepWarmPolicy(lead_s=30))
    clock.now += 200
    assert not keeper.due(1, ledger.state("m", "h"), enabled=True)
    clock.now += 75  # 25 s left
    entry = ledger.state("m", "h")
    assert keeper.due(1, entry, enabled=True)
    keeper.sent(1, entry)
    assert not keeper.due(1, ledger.state("m", "h"), enabled=True)  # no double ping
    # The ping (a read) refreshes the entry; the next expiry gets its own ping.
    ledger.record(CacheEvent(ts=clock.now, model="m", prefix_hash="h", ttl="5m"))
    clock.now += 280
    assert keeper.due(1, ledger.state("m", "h"), enabled=True)


def test_never_pings_cold_expired_or_disabled() -> None:
    clock = Clock()
    keeper = KeepWarm()
    assert not keeper.due(1, TTLLedger(clock).state("m", "h"), enabled=True)
    ledger = warm_ledger(clock)
    clock.now += 290
    assert not keeper.due(1, ledger.state("m", "h"), enabled=False)
    clock.now += 20  # expired
    assert not keeper.due(1, ledger.state("m", "h"), enabled=True)


def test_stops_at_the_ping_cap() -> None:
    clock = Clock()
    keeper = KeepWarm(KeepWarmPolicy(max_pings=2, max_usd=100))
    for _ in range(2):
        ledger = warm_ledger(clock)
        clock.now += 290
        entry = ledger.state("m", "h")
        assert keeper.due(1, entry, enabled=True)
        keeper.sent(1, entry)
        keeper.paid(0.01)
    ledger = warm_ledger(clock)
    clock.now += 290
    assert not keeper.due(1, ledger.state("m", "h"), enabled=True)
    assert "ping cap" in (keeper.capped or "")
    assert keeper.summary().startswith("keep-warm: 2 pings, $0.0200")


def test_stops_at_the_dollar_cap() -> None:
    clock = Clock()
    keeper = KeepWarm(KeepWarmPolicy(max_pings=100, max_usd=0.05))
    keeper.pings, keeper.spent_usd = 1, 0.06
    ledger = warm_ledger(clock)
    clock.now += 290
    assert not keeper.due(1, ledger.state("m", "h"), enabled=True)
    assert "spend cap" in (keeper.capped or "")
