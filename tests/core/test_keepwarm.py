"""Keep-warm with a fake clock: pings before expiry, stops at its caps, never pings cold;
the controller decides which contexts to ping without a screen."""

from __future__ import annotations

from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.keepwarm import KeepWarm, KeepWarmController, KeepWarmPolicy
from promptcache_tui.core.overview import breakpoint_hashes
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


# -- the controller: which contexts to ping on a tick, without a screen ------------------------


NOTES = Context(
    id=1,
    name="notes",
    blocks=(Block("system", "Be brief. " * 400), Block("document", "Chapter one. " * 300)),
    breakpoints=(Breakpoint(0, "1h"), Breakpoint(1, "5m")),
    keep_warm=True,
)


def written(ledger: TTLLedger, ctx: Context, at: float) -> None:
    """A call at `at` wrote every breakpoint of `ctx`."""
    for h, bp in zip(breakpoint_hashes(ctx, ctx.model), ctx.sorted_breakpoints(), strict=True):
        ledger.record(CacheEvent(ts=at, model=ctx.model, prefix_hash=h, ttl=bp.ttl))


def controller(clock: Clock, **policy: float) -> KeepWarmController:
    return KeepWarmController(TTLLedger(clock), KeepWarmPolicy(**policy))  # type: ignore[arg-type]


def test_a_watched_context_is_pinged_once_its_soonest_entry_is_about_to_expire() -> None:
    clock = Clock()
    keep = controller(clock, lead_s=30)
    assert keep.watch(NOTES, NOTES.model) is not None
    written(keep.ledger, NOTES, clock.now)
    assert keep.due(clock.now + 269) == []  # 31 s before the 5m entry expires: not yet
    due = keep.due(clock.now + 270)  # 30 s before: at the lead
    assert [t.context_id for t in due] == [1] and keep.in_flight == {1}
    assert keep.due(clock.now + 271) == []  # in flight: no second ping
    keep.finished(1, 0.0012, ping=True)
    assert keep.keeper.pings == 1 and keep.keeper.spent_usd == 0.0012
    assert keep.due(clock.now + 272) == []  # that expiry was handled


def test_cold_unwatched_busy_and_invalid_contexts_are_not_pinged() -> None:
    clock = Clock()
    keep = controller(clock)
    keep.watch(NOTES, NOTES.model)
    assert keep.due(clock.now + 280) == []  # nothing written: cold
    assert keep.is_cold(1, clock.now)
    written(keep.ledger, NOTES, clock.now)
    assert keep.due(clock.now + 280, busy_context=1) == []  # the chat's call refreshes it
    keep.watch(NOTES.with_changes(keep_warm=False), NOTES.model)
    assert keep.targets == {} and keep.due(clock.now + 280) == []
    broken = NOTES.with_changes(breakpoints=(Breakpoint(0, "5m"), Breakpoint(1, "1h")))
    assert keep.watch(broken, NOTES.model) is None  # a 1h after a 5m cannot be sent


def test_a_deleted_context_is_forgotten_and_the_status_says_what_is_watched() -> None:
    clock = Clock()
    keep = controller(clock, max_pings=20, max_usd=0.5)
    assert keep.status() is None
    keep.watch(NOTES, NOTES.model)
    assert keep.status() == ("keep-warm: 0 pings, $0.0000 · limits 20 pings, $0.50 · on for notes")
    keep.keep_only([2])
    assert keep.targets == {} and keep.status() is None


def test_an_unpriced_ping_is_counted_and_said() -> None:
    keep = controller(Clock())
    keep.watch(NOTES, NOTES.model)
    assert keep.start_warm(1) and not keep.start_warm(1)  # the warm key, twice
    keep.finished(1, None, ping=True)
    assert keep.unpriced_pings == 1
    assert "cost of 1 unknown" in (keep.status() or "")


def test_turning_it_on_says_what_it_will_do() -> None:
    clock = Clock()
    keep = controller(clock, lead_s=30, max_pings=20, max_usd=0.5)
    keep.watch(NOTES, NOTES.model)
    text, warning = keep.turned_on_notice(NOTES, clock.now)
    assert "30 s before" in text and "Nothing of it is cached now" in text and not warning
    written(keep.ledger, NOTES, clock.now)
    assert "Nothing of it" not in keep.turned_on_notice(NOTES, clock.now)[0]
    bare = Context(id=2, name="bare", blocks=(Block("system", "x"),), keep_warm=True)
    keep.watch(bare, bare.model)
    assert keep.turned_on_notice(bare, clock.now)[1]  # no breakpoint: a warning
