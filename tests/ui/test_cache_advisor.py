"""The cache advisor in the TUI: the warm key, keep-warm, miss reasons and the TTL planner."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Input, Static

from promptcache_tui.config import Settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.keepwarm import KeepWarmPolicy
from promptcache_tui.core.records import CallRecord, parse_iso
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.commands import palette_entries
from promptcache_tui.ui.demo import DEMO_SYSTEM, demo_context, demo_text
from promptcache_tui.ui.screens.planner import PlannerScreen
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel
from promptcache_tui.ui.widgets.usage_panel import UsagePanel, detail_line
from promptcache_tui.ui.widgets.usage_table import CallsTable

from .harness import (
    FakeClock,
    chat,
    make_app,
    run_hook,
    seed,
    seed_demo,
    wait_selected,
    wait_until,
)

TINY = Context(
    name="tiny",
    blocks=(Block("system", "Answer in one short line."),),
    breakpoints=(Breakpoint(0, "5m"),),
)


def toasts(app: object) -> list[str]:
    """The notifications shown (run_test keeps toasts off screen, so read the app's list)."""
    return [n.message for n in app._notifications]  # type: ignore[attr-defined]


async def count(app: PromptCacheApp, table: str) -> int:
    """Rows in a table of the app's database."""
    assert app.store is not None
    return int(await app.store.db.scalar(f"SELECT COUNT(*) FROM {table}"))  # type: ignore[attr-defined]


async def warm_calls(app: PromptCacheApp, context: str | None = None) -> list[CallRecord]:
    """The warm calls logged in SQLite, newest first."""
    assert app.store is not None
    return await app.store.calls.history(CallFilter(context=context, kind="warm"))


async def wait_idle(pilot: Any) -> None:
    """Until no warm call or ping is in flight."""
    app = pilot.app
    await wait_until(pilot, lambda: not app.main.keep_warm.in_flight, what="warm calls to finish")
    await pilot.pause()


def on_screen(widget: Static) -> bool:
    """Displayed and given some room in the layout."""
    return widget.display and widget.region.height > 0 and widget.region.width > 0


# -- pre-warm ------------------------------------------------------------------------------


async def test_the_warm_key_logs_a_warm_call_and_adds_no_message(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings, FakeClock())
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        bps = app.main.query_one(BreakpointPanel)
        assert bps.countdowns() == ["cold", "cold"]
        messages, conversations = await count(app, "messages"), await count(app, "conversations")

        await pilot.press("f5")
        panel = app.main.query_one(UsagePanel)
        await wait_until(pilot, lambda: bool(panel.records), what="the warm row")
        await wait_idle(pilot)

        record = panel.records[0]
        assert record.kind == "warm" and record.status == "ok"
        assert record.usage.cache_creation_input_tokens > 8000 and record.usage.output_tokens == 0
        assert app.main.query_one("#usage-table", CallsTable).row_count == 1
        logged = await warm_calls(app, "alice-demo")
        assert len(logged) == 1 and logged[0].conversation_id is None
        assert await count(app, "messages") == messages
        assert await count(app, "conversations") == conversations
        assert app.main.turns == [] and app.main.conversation_id is None
        assert all(text.endswith("left") for text in bps.countdowns())  # countdowns refreshed
        notice = next(t for t in toasts(app) if "alice-demo:" in t)
        assert "wrote 8," in notice and "(1h)" in notice and "cost $0.0" in notice


# -- keep-warm -----------------------------------------------------------------------------


async def test_keep_warm_pings_before_expiry_once_within_its_caps(settings: Settings) -> None:
    await seed_demo(settings)
    clock = FakeClock()
    app = make_app(settings, clock, keep_warm=KeepWarmPolicy(max_pings=1))
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        bps, panel = app.main.query_one(BreakpointPanel), app.main.query_one(UsagePanel)
        assert bps.keep_warm_text == "keep-warm off" and panel.keep_warm_text == ""

        await pilot.press("f7")
        await wait_until(
            pilot,
            lambda: any("Keep-warm on" in t for t in toasts(app)),
            what="the keep-warm notice",
        )
        assert bps.keep_warm_text == "keep-warm on"
        assert app.store is not None
        stored = await app.store.contexts.get("alice-demo")
        assert stored is not None and stored.keep_warm  # persisted on the context
        assert panel.keep_warm_text.startswith("keep-warm: 0 pings, $0.0000")

        await chat(pilot, "Who is Dinah?")
        clock.advance(250)  # the 5m entry has 50 s left: not yet
        await app.main.tick()
        # The tick ran at the new time (its countdown shows it) and decided not to ping.
        await wait_until(pilot, lambda: bps.countdowns()[1] == "0:50 left", what="0:50 left")
        assert not app.main.keep_warm.in_flight and await warm_calls(app) == []

        clock.advance(25)  # 25 s left: within the 30 s lead
        await app.main.tick()
        await wait_until(pilot, lambda: app.main.keeper.pings == 1)
        await app.main.tick()  # the ping in flight is not sent twice
        await wait_idle(pilot)
        pings = await warm_calls(app, "alice-demo")
        assert len(pings) == 1 and pings[0].conversation_id is None
        ping = panel.records[0]
        assert ping.kind == "warm" and ping.usage.cache_read_input_tokens > 8000
        assert await count(app, "messages") == 2  # the chat's turns only
        cost = ping.cost.cost_usd
        assert cost is not None and cost > 0
        assert app.main.keeper.spent_usd == cost
        assert panel.keep_warm_text.startswith(f"keep-warm: 1 ping, ${cost:.4f}")
        assert "ping cap reached (1/1)" in panel.keep_warm_text
        assert bps.countdowns()[1] == "5:00 left"  # the ping refreshed the 5m entry

        # Capped at one ping: the next expiry passes without one.
        clock.advance(275)
        await app.main.tick()
        await wait_until(pilot, lambda: bps.countdowns()[1] == "0:25 left", what="0:25 left")
        assert not app.main.keep_warm.in_flight and len(await warm_calls(app)) == 1
        assert any(t.startswith("alice-demo: wrote 0 tokens, read 8,") for t in toasts(app))


async def test_keep_warm_on_the_simulator_clock_keeps_the_cache_alive(settings: Settings) -> None:
    await seed(settings, demo_context().with_changes(keep_warm=True))
    app = make_app(settings)
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        assert app.main.query_one(BreakpointPanel).keep_warm_text == "keep-warm on"
        await chat(pilot, "Who is Dinah?")
        # The simulator's clock (the app's clock offline) jumps to 25 s before expiry; the
        # 1 s tick sees it and pings.
        await run_hook(app, "/_sim/advance", {"seconds": 275})
        await wait_until(
            pilot, lambda: app.main.keeper.pings == 1, timeout=10, what="a keep-warm ping"
        )
        await wait_idle(pilot)
        ping = app.main.query_one(UsagePanel).records[0]
        assert ping.kind == "warm" and ping.usage.cache_read_input_tokens > 8000
        # 525 s after the chat, past its 5m TTL, the next chat still reads every entry.
        await run_hook(app, "/_sim/advance", {"seconds": 250})
        await chat(pilot, "Who is the Mouse?")
        record = app.main.query_one(UsagePanel).records[0]
        assert record.kind == "chat"
        assert record.usage.cache_read_input_tokens >= ping.usage.cache_read_input_tokens
        assert record.cache_miss_reason is None


async def test_keep_warm_never_pings_a_context_with_it_off_or_a_cold_one(
    settings: Settings,
) -> None:
    await seed(settings, TINY, demo_context())
    clock = FakeClock()
    app = make_app(settings, clock)
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await chat(pilot, "Who is Dinah?")  # warm, but keep-warm is off
        assert app.ready  # so each tick decides (a tick before start-up does nothing)
        for _ in range(3):
            clock.advance(100)
            await app.main.tick()  # decides at once: a ping due would be in flight now
            assert not app.main.keep_warm.in_flight
        assert await warm_calls(app) == []

        # Keep-warm on for a context that was never sent: nothing to keep warm.
        await pilot.press("ctrl+l")
        await pilot.press("down", "enter")
        await wait_selected(pilot, "tiny")
        await pilot.press("f7")
        await wait_until(pilot, lambda: any("Keep-warm on for tiny" in t for t in toasts(app)))
        assert any("Nothing of it is cached now" in t for t in toasts(app))
        assert app.ready  # so each tick decides (a tick before start-up does nothing)
        for _ in range(3):
            clock.advance(100)
            await app.main.tick()  # decides at once: a ping due would be in flight now
            assert not app.main.keep_warm.in_flight
        assert await warm_calls(app) == [] and app.main.keeper.pings == 0
        # Off again: stored, and the header says so.
        await pilot.press("f7")
        await wait_until(pilot, lambda: any("Keep-warm off for tiny" in t for t in toasts(app)))
        assert app.main.query_one(BreakpointPanel).keep_warm_text == "keep-warm off"
        async with await Store.open(settings.db_path) as store:
            tiny = await store.contexts.get("tiny")
            assert tiny is not None and not tiny.keep_warm


async def test_warnings_miss_reason_and_ping_counter_are_on_screen(settings: Settings) -> None:
    # A short instruction under the model's minimum (a warning), then the book (cached).
    book = Context(
        name="book",
        keep_warm=True,
        blocks=(Block("system", DEMO_SYSTEM), Block("document", demo_text(), name="alice.txt")),
        breakpoints=(Breakpoint(0, "5m"), Breakpoint(1, "5m")),
    )
    await seed(settings, TINY, book)
    clock = FakeClock()
    app = make_app(settings, clock)
    async with app.run_test(size=(110, 40)) as pilot:  # a narrow terminal
        await wait_selected(pilot, "book")
        warnings = app.main.query(".bp-warning")
        assert warnings and all(on_screen(w) for w in warnings)  # type: ignore[arg-type]
        assert "minimum" in str(warnings.first().render())

        await chat(pilot, "Who is Dinah?")
        clock.advance(280)
        await app.main.tick()
        await wait_until(pilot, lambda: app.main.keeper.pings == 1)
        await wait_idle(pilot)
        counter = app.main.query_one("#usage-keepwarm", Static)
        assert on_screen(counter)
        assert app.main.query_one(UsagePanel).keep_warm_text.startswith("keep-warm: 1 ping, $0.0")

        # A call that caches nothing: its full miss reason shows under the table.
        await pilot.press("ctrl+l")
        await pilot.press("down", "enter")
        await wait_selected(pilot, "tiny")
        await chat(pilot, "Hello?")
        panel = app.main.query_one(UsagePanel)
        reason = panel.records[0].cache_miss_reason
        assert reason and len(reason) > 16  # more than the miss-reason column shows
        detail = app.main.query_one("#usage-detail", Static)
        assert on_screen(detail) and reason in panel.detail_text
        # The ping counter stays: it counts the session, whichever context is selected.
        assert panel.keep_warm_text.startswith("keep-warm: 1 ping")


def test_the_detail_line_says_the_whole_reason() -> None:
    record = CallRecord(
        ts="2026-11-26T10:00:00+00:00",
        kind="chat",
        model="m",
        cache_miss_reason="prefix changed at breakpoint 2",
        cache_missed_input_tokens=8417,
    )
    assert detail_line(record, parse_iso(record.ts)).endswith(
        "chat missed the cache: prefix changed at breakpoint 2 (8,417 tokens missed)"
        " · cost unknown, saved unknown"  # a model without a price
    )
    failed = CallRecord(
        ts="2026-11-26T10:00:00+00:00",
        kind="warm",
        model="m",
        status="error",
        error="API error 529 overloaded_error: busy",
    )
    assert detail_line(failed, parse_iso(failed.ts)).endswith(
        "warm failed: API error 529 overloaded_error: busy"
    )


# -- the TTL planner -----------------------------------------------------------------------


def planner_rows(screen: PlannerScreen) -> list[list[str]]:
    """The planner's table as text."""
    table = screen.query_one("#planner-table", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_planner_takes_a_typed_gap_and_refuses_a_bad_one(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings, FakeClock())
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, PlannerScreen), what="planner")
        screen = app.screen
        assert isinstance(screen, PlannerScreen)
        gap = screen.query_one("#planner-gap", Input)
        assert gap.has_focus and gap.value == ""  # no calls yet to take a gap from
        assert planner_rows(screen) == []

        await pilot.press(*"10m", "enter")
        await wait_until(pilot, lambda: screen.plan is not None)
        rows = planner_rows(screen)
        assert [r[0] for r in rows] == ["no caching", "5m TTL", "1h TTL", "5m + keep-warm"]
        assert all(r[1].startswith("$") for r in rows)
        assert screen.plan is not None and screen.plan.cheapest == "1h"
        assert rows[2][-1] == "<- cheapest" and screen.cheapest_text == "cheapest: 1h TTL"
        assert "Break-even: 5m pays from the 2nd call" in str(
            screen.query_one("#planner-break-even", Static).render()
        )

        def error() -> str:
            return str(screen.query_one("#planner-error").render())

        gap.value = ""
        await pilot.press(*"soon", "enter")
        # Said in the dialog, beside the field (a notice would sit over the dialog).
        await wait_until(pilot, lambda: "invalid gap 'soon'" in error(), what="the bad gap")
        gap.value = "inf"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "invalid gap 'inf'" in error(), what="an endless gap")
        assert app.is_running and screen.plan.gap_s == 600  # the last good plan stays

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main)


async def test_the_planner_takes_the_gap_from_history(settings: Settings) -> None:
    await seed_demo(settings)
    clock = FakeClock()
    app = make_app(settings, clock)
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await chat(pilot, "Who is Dinah?")
        clock.advance(120)
        await chat(pilot, "Who is the Mouse?")
        await pilot.press("f9")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, PlannerScreen) and app.screen.plan is not None,
            what="the planner with a plan",
        )
        screen = app.screen
        assert isinstance(screen, PlannerScreen)
        assert screen.query_one("#planner-gap", Input).value == "2m"
        assert screen.plan is not None and screen.plan.gap_s == 120
        assert screen.cheapest_text == "cheapest: 5m TTL"


async def test_the_planner_says_cost_unknown_for_an_unpriced_model(settings: Settings) -> None:
    await seed(settings, demo_context().with_changes(model="claude-unknown-9"))
    app = make_app(settings, FakeClock())
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, PlannerScreen))
        screen = app.screen
        assert isinstance(screen, PlannerScreen)
        await pilot.press(*"4m", "enter")
        await wait_until(pilot, lambda: screen.plan is not None)
        assert {r[1] for r in planner_rows(screen)} == {"unknown"}
        assert screen.cheapest_text == "cheapest: cost unknown"
        assert "cost unknown" in str(screen.query_one("#planner-unknown").render())


async def test_the_new_actions_are_in_the_palette(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings, FakeClock())
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)

        class Probe:
            screen = app.main

        Probe.app = app  # type: ignore[attr-defined]
        entries = {e.title: e for e in palette_entries(Probe)}  # type: ignore[arg-type]
        assert {"Warm now", "Keep-warm", "Plan TTL"} <= set(entries)
        # Run one from the palette's entry, as the palette does.
        await entries["Plan TTL"].node.run_action(entries["Plan TTL"].action)
        await wait_until(pilot, lambda: isinstance(app.screen, PlannerScreen))


async def test_a_ping_at_an_unknown_price_says_so(settings: Settings) -> None:
    await seed(settings, demo_context().with_changes(model="claude-unknown-9", keep_warm=True))
    clock = FakeClock()
    app = make_app(settings, clock)
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await chat(pilot, "Who is Dinah?")
        clock.advance(280)
        await app.main.tick()
        await wait_until(pilot, lambda: app.main.keeper.pings == 1)
        await wait_idle(pilot)
        assert app.main.query_one(UsagePanel).records[0].cost.cost_usd is None
        assert "cost of 1 unknown" in app.main.query_one(UsagePanel).keep_warm_text
        assert any("cost unknown" in t for t in toasts(app))
