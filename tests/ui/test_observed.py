"""Observed traffic in the dashboard: groups beside the contexts with their countdowns, calls
logged by other processes followed, rename, Save as context, the group's history.

The proxied calls go through the real recording proxy to a simulator, both on the test's
clock; the Claude Code session is imported from a transcript. Times are injected.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from promptcache_tui.config import Settings
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.parts.observed_pane import ObservedPane
from promptcache_tui.ui.parts.sidebar import SidebarList
from promptcache_tui.ui.screens.history import CallDetailScreen, HistoryScreen
from promptcache_tui.ui.screens.name_dialog import NameDialog
from promptcache_tui.ui.screens.save_context import SaveContextDialog
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel
from promptcache_tui.ui.widgets.history_detail import CallDetail
from promptcache_tui.ui.widgets.history_table import HistoryTable
from promptcache_tui.ui.widgets.usage_panel import UsagePanel

from .harness import FakeClock, make_app, seed_demo, wait_selected, wait_until
from .observed import (
    PROJECT_CWD,
    SYSTEM,
    ObservedTraffic,
    claude_code_session,
    import_session,
    request,
    seed_observed,
)

SIZE = (140, 40)
BOT = "You review pull requests for a…"  # the proxied group's title in the sidebar


def sidebar_text(app: PromptCacheApp) -> list[str]:
    """What the sidebar shows, one entry per option (headings included)."""
    options = app.main.query_one(SidebarList)
    return [
        str(options.get_option_at_index(i).prompt).replace("\n", " | ")
        for i in range(options.option_count)
    ]


def entry(app: PromptCacheApp, title: str) -> str:
    """The sidebar entry whose first line starts with `title` (after the active mark)."""
    found = [t for t in sidebar_text(app) if t[2:].startswith(title)]
    assert found, (title, sidebar_text(app))
    return found[0]


async def choose(pilot: Pilot[Any], title: str) -> None:
    """Pick a sidebar entry with the keyboard: focus the list, move to it, Enter."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    options = app.main.query_one(SidebarList)
    item = next(i for i in options.items if i.title.startswith(title))
    options.focus()
    options.highlighted = options.get_option_index(item.key)
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: app.main.group is not None and app.main.group.key == item.group,
        what=f"group {title} shown",
    )
    await pilot.pause()


async def start(pilot: Pilot[Any]) -> PromptCacheApp:
    """Wait for the demo context and the observed groups in the sidebar."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_selected(pilot, "alice-demo")
    await wait_until(
        pilot,
        lambda: (
            any("Claude Code sessions" in t for t in sidebar_text(app))
            and "left" in entry(app, BOT)
        ),
        what="the observed groups with countdowns",
    )
    return app


async def seeded(settings: Settings) -> tuple[PromptCacheApp, FakeClock]:
    await seed_demo(settings)
    clock = FakeClock()
    await seed_observed(settings, clock)
    return make_app(settings, clock), clock


async def test_groups_sit_beside_the_contexts_with_live_countdowns(settings: Settings) -> None:
    app, clock = await seeded(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        text = sidebar_text(app)
        headings = [
            t for t in text if t in ("Contexts", "Through the proxy", "Claude Code sessions")
        ]
        assert headings == ["Contexts", "Through the proxy", "Claude Code sessions"]
        # Proxied: the bot's 5m breakpoint, read 10 s ago. Claude Code: the 1h session
        # cache its last call (a read, 60 s ago) refreshed.
        assert entry(app, BOT).endswith(
            "review-bot/1.0 |   claude-sonnet-4-6 |   3 calls · 4:50 left"
        )
        assert entry(app, "shop · 0b9c3a52").endswith("2 calls · 59:00 left")
        clock.advance(60)
        await wait_until(pilot, lambda: entry(app, BOT).endswith("3:50 left"), what="a tick")
        assert entry(app, "shop").endswith("58:00 left")
        clock.advance(231)  # 1 s past the bot's expiry
        await wait_until(pilot, lambda: entry(app, BOT).endswith("3 calls · cold"), what="cold")
        assert entry(app, "shop").endswith("54:09 left")


async def test_a_long_group_name_wraps_under_its_first_letter_at_80x24(settings: Settings) -> None:
    app, _ = await seeded(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await pilot.press("ctrl+l")  # the list, opened over the chat
        options = app.main.query_one(SidebarList)
        await wait_until(
            pilot, lambda: options.has_focus and "left" in entry(app, BOT), what="the groups"
        )
        await pilot.pause()
        rows = [strip.text for strip in app.screen._compositor.render_strips()]
        first = next(n for n, row in enumerate(rows) if "You review pull requests" in row)
        column = rows[first].index("You review")
        # The name is too long for the list's width: its second line starts under its
        # first letter, not under the marker column, and the lines after it keep theirs.
        assert rows[first + 1][column:].startswith("for a…"), rows[first : first + 3]
        assert set(rows[first + 1][rows[first].index("▊") + 1 : column]) == {" "}
        assert rows[first + 2][column:].startswith("review-bot/1.0")
        # Its entry still reads as one name, unwrapped.
        assert entry(app, BOT).startswith(f"  {BOT} | ")


async def test_a_models_alias_and_dated_id_count_down_as_one_cache(settings: Settings) -> None:
    """Calls under `claude-haiku-4-5` and `claude-haiku-4-5-20251001` are two groups, one
    cache: the dated id's read refreshed the alias's entry, so both show its countdown."""
    await seed_demo(settings)
    clock = FakeClock()
    start = clock.value
    params = request("Review PR 44.")
    params["system"][0]["text"] = SYSTEM * 4  # over Haiku 4.5's 4,096-token minimum

    def calls() -> None:
        with ObservedTraffic(settings, clock) as traffic:
            clock.value = start - 200
            traffic.send({**params, "model": "claude-haiku-4-5"}, "review-bot/1.0")
            clock.value = start - 50  # reads the alias's entry: live until start + 250
            traffic.send({**params, "model": "claude-haiku-4-5-20251001"}, "review-bot/1.0")
        clock.value = start

    await asyncio.to_thread(calls)
    app = make_app(settings, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot, "alice-demo")

        def haiku() -> list[str]:
            return [t for t in sidebar_text(app) if "claude-haiku-4-5" in t]

        await wait_until(
            pilot, lambda: len(haiku()) == 2 and all("left" in t for t in haiku()), what="groups"
        )
        # Taken apart, the alias's own write would have 1:40 left.
        assert [t.rsplit(" · ", 1)[-1] for t in haiku()] == ["4:10 left", "4:10 left"]


async def test_a_proxied_group_shows_its_breakpoints_calls_and_why_one_missed(
    settings: Settings,
) -> None:
    app, clock = await seeded(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await choose(pilot, BOT)
        panel = app.main.query_one(BreakpointPanel)
        assert panel.countdowns() == ["4:50 left"]
        usage = app.main.query_one(UsagePanel)
        assert [r.kind for r in usage.records] == ["proxy"] * 3
        pane = app.main.query_one(ObservedPane)
        assert "review-bot/1.0 · You review pull requests" in pane.text
        assert "3 calls" in pane.text
        assert "latest miss" in pane.text and "expired" in pane.text
        table = usage.query_one("#usage-table")
        table.focus()
        await pilot.press("down")  # the second newest: the call six minutes after the first
        await wait_until(pilot, lambda: "missed the cache" in usage.detail_text)
        assert "expired" in usage.detail_text and "6m00s" in usage.detail_text
        clock.advance(30)
        await wait_until(pilot, lambda: panel.countdowns()[0].startswith("4:20"), what="tick")


async def test_a_changed_block_is_shown_old_and_new(settings: Settings) -> None:
    from tests.observe.shapes import claude_code_request

    await seed_demo(settings)
    clock = FakeClock()
    with ObservedTraffic(settings, clock) as traffic:
        # Claude Code through the proxy: a new session changes its billing header (and so
        # is a group of its own; its first call is compared with the last session's).
        await asyncio.to_thread(
            traffic.send, claude_code_request(suffix="7b2"), "claude-cli/2.1.197"
        )
        clock.advance(20)
        await asyncio.to_thread(
            traffic.send, claude_code_request(suffix="363"), "claude-cli/2.1.197"
        )
    app = make_app(settings, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot, "alice-demo")
        await wait_until(pilot, lambda: any("claude-cli" in t for t in sidebar_text(app)))
        await choose(pilot, "You are an interactive agent")
        usage = app.main.query_one(UsagePanel)
        await wait_until(pilot, lambda: "missed the cache" in usage.detail_text, what="detail")
        assert "system block 1 changed: " in usage.detail_text
        assert "7b2 → " in usage.detail_text and ".363" in usage.detail_text
        pane = app.main.query_one(ObservedPane)
        assert "latest miss" in pane.text and "system block 1 changed" in pane.text
        await pilot.press("ctrl+r")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, HistoryScreen)
                and app.screen.query_one(HistoryTable).row_count == 1
            ),
            what="the group's history",
        )
        app.screen.query_one(HistoryTable).focus()
        await pilot.press("enter")  # the session's call that missed
        await wait_until(pilot, lambda: isinstance(app.screen, CallDetailScreen), what="detail")
        detail = app.screen.query_one(CallDetail)
        why = str(detail.query_one("#detail-why").render())
        assert "cause: content changed · first changed block: system block 1" in why
        assert "- …" in why and "cc_version=2.1.197.7b2" in why
        assert "+ …" in why and "cc_version=2.1.197.363" in why
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(detail.query_one("#detail-blocks", Static).content)
        blocks = console.export_text()
        changed = [line for line in blocks.splitlines() if "first change" in line]
        assert len(changed) == 1 and "system block 1" in changed[0]
        assert "tool Bash" in blocks


async def test_a_claude_code_session_shows_its_session_cache(settings: Settings) -> None:
    app, _clock = await seeded(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await choose(pilot, "shop")
        panel = app.main.query_one(BreakpointPanel)
        assert panel.countdowns()[0].startswith("59:00")
        assert "Session cache" in str(panel.query_one("#bp-title").render())
        text = " ".join(str(s.render()) for s in panel.query("#bp-rows Static"))
        assert "TTL 1h" in text and "refreshed by every read" in text
        pane = app.main.query_one(ObservedPane)
        assert "Claude Code session" in pane.text and PROJECT_CWD in pane.text
        assert len(app.main.query_one(UsagePanel).records) == 2
        # There is no prompt in a transcript: nothing to save, and the screen says why.
        await pilot.press("f6")
        await wait_until(pilot, lambda: any("transcript" in n.message for n in app._notifications))
        assert not isinstance(app.screen, SaveContextDialog)


async def test_calls_logged_by_other_processes_show_within_a_tick(settings: Settings) -> None:
    app, clock = await seeded(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await choose(pilot, BOT)
        usage = app.main.query_one(UsagePanel)
        with ObservedTraffic(settings, clock) as traffic:
            await asyncio.to_thread(traffic.call, "Review PR 44: the shipping form.")
        await wait_until(pilot, lambda: len(usage.records) == 4, what="the proxied call")
        assert usage.records[0].usage.cache_read_input_tokens > 0
        await wait_until(pilot, lambda: entry(app, BOT).endswith("4 calls · 5:00 left"))
        panel = app.main.query_one(BreakpointPanel)
        await wait_until(pilot, lambda: panel.countdowns()[0].startswith("5:00"), what="panel")
        # `import claude-code --follow` in another process: the session's next call.
        projects = settings.data_dir.parent / "claude" / "projects"
        claude_code_session(projects, clock.value, more=True)
        await import_session(settings, projects)
        await wait_until(pilot, lambda: "3 calls" in entry(app, "shop"), what="the import")
        assert entry(app, "shop").endswith("3 calls · 1:00:00 left")  # refreshed by the read
        # Idle, the follower polls once a tick and reads nothing else.
        polls = app.main.follow.polls
        await wait_until(pilot, lambda: app.main.follow.polls >= polls + 2, what="two polls")
        assert len(usage.records) == 4


async def test_a_group_renamed_keeps_its_name(settings: Settings) -> None:
    app, _clock = await seeded(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await choose(pilot, BOT)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, NameDialog), what="the dialog")
        field = app.screen.query_one(Input)
        field.value = ""
        await pilot.press("enter")  # an empty name is refused, the dialog stays
        assert isinstance(app.screen, NameDialog)
        field.value = "PR reviews (shop)"
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: any("PR reviews (shop)" in t for t in sidebar_text(app)), what="rename"
        )
    conn = sqlite3.connect(settings.db_path)
    names = {row[0] for row in conn.execute("SELECT name FROM observed_groups")}
    conn.close()
    assert "PR reviews (shop)" in names
    again = make_app(settings, FakeClock())
    async with again.run_test(size=SIZE) as pilot:
        await wait_selected(pilot, "alice-demo")
        await wait_until(pilot, lambda: any("PR reviews (shop)" in t for t in sidebar_text(again)))


async def test_save_as_context_opens_the_copied_prefix(settings: Settings) -> None:
    app, _clock = await seeded(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await choose(pilot, BOT)
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveContextDialog), what="dialog")
        dialog = app.screen
        choice = dialog.query_one(Select)
        assert str(dialog.options[0][0]).startswith("up to breakpoint 1 · system block 1 (5m")
        assert choice.value == 1
        name = dialog.query_one("#save-name", Input)
        assert name.value == "you-review-pull-requests-for-a"
        name.value = "alice-demo"  # taken
        await pilot.press("enter")
        assert "exists" in dialog.error_text  # type: ignore[attr-defined]
        name.value = "review-bot"
        await pilot.press("enter")
        await wait_selected(pilot, "review-bot")
        ctx = app.main.ctx
        assert ctx is not None and ctx.model == "claude-sonnet-4-6"
        assert len(ctx.breakpoints) == 1 and "You review pull requests" in ctx.blocks[0].text
        assert app.main.group is None
        assert entry(app, "review-bot").startswith("● review-bot") or "review-bot" in entry(
            app, "review-bot"
        )
        await pilot.press("f2")  # the editor opens on it
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ContextEditorScreen")


async def test_history_of_a_group_filters_by_kind_and_explains_a_miss(settings: Settings) -> None:
    app, _clock = await seeded(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await choose(pilot, BOT)
        await pilot.press("ctrl+r")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, HistoryScreen)
                and app.screen.query_one(HistoryTable).row_count == 3
            ),
            what="the group's history",
        )
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(HistoryTable)
        assert table.ids == [3, 2, 1]  # the bot's calls only, newest first
        status = str(history.query_one("#history-status").render())
        assert "group review-bot/1.0" in status
        table.focus()
        await pilot.press("down", "enter")  # the expired call
        await wait_until(pilot, lambda: isinstance(app.screen, CallDetailScreen), what="detail")
        why = str(app.screen.query_one(CallDetail).query_one("#detail-why").render())
        assert "cause: expired" in why and "compared with call 1" in why and "360 s" in why
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is history)
        # Every call, then only Claude Code's.
        await pilot.press("c")
        await wait_until(pilot, lambda: table.row_count == 5, what="every call")
        history.query_one("#filter-kind", Select).value = "claude-code"
        await wait_until(
            pilot,
            lambda: table.ids == [5, 4],  # the imported session's
            what="the kind filter",
        )


async def test_with_only_observed_traffic_the_latest_group_opens(settings: Settings) -> None:
    from promptcache_tui.ui.screens.welcome import WelcomeScreen

    clock = FakeClock()
    await seed_observed(settings, clock)  # no context at all
    app = make_app(settings, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.main.group is not None, what="a group shown")
        assert not isinstance(app.screen, WelcomeScreen)
        assert app.main.group is not None and app.main.group.kind == "proxy"  # the last active
        assert [t for t in sidebar_text(app) if t in ("Contexts", "Through the proxy")] == [
            "Through the proxy"
        ]
        await pilot.press("f2")  # a context's key: the screen says what to do instead
        await wait_until(pilot, lambda: any("save a call" in n.message for n in app._notifications))
