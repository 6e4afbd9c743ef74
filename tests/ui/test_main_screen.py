"""The main screen driven with the keyboard: selecting, chatting, countdowns, errors."""

from __future__ import annotations

import subprocess
import sys

from textual.widgets import OptionList

from promptcache_tui.config import Settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.prefix import total_tokens
from promptcache_tui.core.request import Turn, build_request
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.commands import palette_entries
from promptcache_tui.ui.screens.welcome import WelcomeScreen
from promptcache_tui.ui.widgets.answer_turn import AnswerTurn
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel
from promptcache_tui.ui.widgets.chat_view import UserTurn
from promptcache_tui.ui.widgets.prompt_input import PromptInput
from promptcache_tui.ui.widgets.usage_panel import UsagePanel

from .harness import chat, make_app, run_hook, seed, seed_demo, wait_selected, wait_until

SMALL = Context(
    name="notes", blocks=(Block("system", "Be brief. " * 400),), breakpoints=(Breakpoint(0, "5m"),)
)


def toasts(app: object) -> list[str]:
    """The notifications shown (run_test keeps toasts off screen, so read the app's list)."""
    return [n.message for n in app._notifications]  # type: ignore[attr-defined]


async def test_empty_data_dir_opens_on_welcome_and_d_creates_the_demo(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, WelcomeScreen), what="welcome")
        await pilot.press("d")
        await wait_selected(pilot, "alice-demo")
        assert not isinstance(app.screen, WelcomeScreen)
        assert app.main.query_one(PromptInput).has_focus
        assert app.main.query_one(BreakpointPanel).countdowns() == ["cold", "cold"]
        assert "OFFLINE SIMULATOR" in app.sub_title and "claude-sonnet-4-6" in app.sub_title


async def test_start_selects_the_most_recent_context_and_resumes_its_conversation(
    settings: Settings,
) -> None:
    demo, notes = await seed(settings, _demo(), SMALL)
    async with await Store.open(settings.db_path) as store:
        assert notes.id is not None
        cid = await store.conversations.create(notes.id)
        await store.conversations.append(
            cid, [Turn("user", "earlier question"), Turn("assistant", "earlier answer")]
        )
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot, "notes")
        assert app.main.conversation_id == cid
        assert [t.text for t in app.main.turns] == ["earlier question", "earlier answer"]
        assert len(app.main.query(UserTurn)) == 1 and len(app.main.query(AnswerTurn)) == 1
        assert app.main.query_one(PromptInput).has_focus
        # Select the other context with the keyboard alone.
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: app.main.query_one("#contexts").has_focus)
        await pilot.press("down", "enter")
        await wait_selected(pilot, demo.name)
        assert app.main.turns == []
        assert app.main.query_one(PromptInput).has_focus


async def test_the_chat_shows_the_last_40_turns_and_every_call_sends_all_of_them(
    settings: Settings,
) -> None:
    [notes] = await seed(settings, SMALL)
    stored = [
        Turn(role, f"{'Question' if role == 'user' else 'Answer'} {i}.")
        for i in range(22)
        for role in ("user", "assistant")
    ]
    async with await Store.open(settings.db_path) as store:
        assert notes.id is not None
        cid = await store.conversations.create(notes.id)
        await store.conversations.append(cid, stored)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot, "notes")

        def shown() -> list[str]:
            return [
                str(w.render()) if isinstance(w, UserTurn) else w.query_one("AnswerPart").text  # type: ignore[attr-defined]
                for w in app.main.query("UserTurn, AnswerTurn")
            ]

        await wait_until(pilot, lambda: len(shown()) == 40, what="the resumed conversation")
        assert shown() == [t.text for t in stored[-40:]]  # 44 stored, the last 40 shown
        await chat(pilot, "What came first?")
        assert len(shown()) == 40 and shown()[:2] == ["Question 3.", "Answer 3."]
        assert shown()[-2] == "What came first?"
        # The call sent the whole conversation: all 44 earlier turns and the new prompt.
        record = app.main.query_one(UsagePanel).records[0]
        built = build_request(notes, stored, "What came first?")
        assert record.usage.prompt_tokens == total_tokens(built.blocks)
        assert len(built.params["messages"]) == 45
        assert len(app.main.turns) == 46


async def test_two_chats_write_then_read_and_the_countdown_goes_cold_past_300s(
    settings: Settings,
) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await chat(pilot, "Who is Dinah?")
        await chat(pilot, "What did the bottle say?")

        panel = app.main.query_one(UsagePanel)
        newest, oldest = panel.records[0], panel.records[1]
        assert oldest.usage.cache_creation_input_tokens > 0
        assert oldest.usage.cache_creation_1h_tokens > 0  # the book is behind the 1h breakpoint
        assert newest.usage.cache_read_input_tokens > 0
        assert newest.usage.cache_read_input_tokens >= oldest.usage.cache_creation_input_tokens
        assert app.main.query_one("#usage-table").row_count == 2
        assert "2 calls" in str(app.main.query_one("#usage-totals").render())

        assert app.store is not None
        logged = await app.store.calls.history(CallFilter(context="alice-demo"))
        assert [r.kind for r in logged] == ["chat", "chat"]
        assert logged[1].usage.cache_creation_input_tokens > 0
        assert logged[0].usage.cache_read_input_tokens > 0
        assert len(app.main.turns) == 4  # stored and resumable
        assert app.main.conversation_id is not None
        turns = await app.store.conversations.turns(app.main.conversation_id)
        assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]

        bps = app.main.query_one(BreakpointPanel)
        await app.main.tick()
        assert all(text.endswith("left") for text in bps.countdowns())

        # The simulator's clock jumps 301 s: the 5m entry is gone, the 1h one is not.
        await run_hook(app, "/_sim/advance", {"seconds": 301})
        await wait_until(
            pilot,
            lambda: bps.countdowns()[1] == "cold",
            timeout=5,
            what="the 5m countdown to go cold",
        )
        one_hour = bps.countdowns()[0]
        assert one_hour.endswith("left") and one_hour.startswith("5")


async def test_countdowns_survive_a_restart(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        await chat(pilot, "Who is Dinah?")
    again = make_app(settings)
    async with again.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        countdowns = again.main.query_one(BreakpointPanel).countdowns()
        assert all(text.endswith("left") for text in countdowns), countdowns
        assert again.main.query_one("#usage-table").row_count == 1


async def test_new_conversation_keeps_the_cache_warm(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        await chat(pilot, "Who is Dinah?")
        first = app.main.conversation_id
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: app.main.conversation_id is None and not app.main.turns)
        await chat(pilot, "Who is the Mouse?")
        assert app.main.conversation_id not in (None, first)
        record = app.main.query_one(UsagePanel).records[0]
        assert record.usage.cache_read_input_tokens > 8000  # the whole book came from cache
        # Ctrl+O resumes the first conversation.
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: bool(app.screen.query("#conversation-list")))
        options = app.screen.query_one("#conversation-list", OptionList)
        index = next(
            i
            for i in range(options.option_count)
            if options.get_option_at_index(i).id == str(first)
        )
        options.highlighted = index
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main.conversation_id == first)
        assert app.main.turns[0].text == "Who is Dinah?"


async def test_an_error_is_a_notice_and_the_prompt_goes_back(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        await run_hook(app, "/_sim/faults", {"status": 500, "count": 3})
        prompt_input = app.main.query_one(PromptInput)
        await pilot.press(*"Who is Dinah?", "enter")
        await wait_until(
            pilot,
            lambda: app.main.query_one(UsagePanel).records != [] and not app.main.busy,
            timeout=20,
            what="the failed call",
        )
        assert prompt_input.value == "Who is Dinah?"
        assert not app.main.query(UserTurn)  # the failed exchange left the transcript
        await wait_until(
            pilot, lambda: any("500" in text for text in toasts(app)), what="an error notice"
        )
        record = app.main.query_one(UsagePanel).records[0]
        assert record.status == "error" and record.error
        assert app.store is not None
        logged = await app.store.calls.history(CallFilter(status="error"))
        assert len(logged) == 1 and logged[0].kind == "chat"
        assert app.main.turns == []
        # The next try goes through (the fault queue is used up) and the cache is written.
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.main.turns) == 2, timeout=10)
        assert prompt_input.value == ""


async def test_an_unreachable_api_is_a_notice_too(settings: Settings) -> None:
    live = Settings(
        data_dir=settings.data_dir,
        api_key="sk-test-not-real",
        base_url="http://127.0.0.1:9",
        model=None,
    )
    await seed_demo(live)
    app = make_app(live)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        assert "LIVE" in app.sub_title
        app.service.max_retries = 0  # type: ignore[union-attr]
        await pilot.press(*"hello", "enter")
        await wait_until(
            pilot,
            lambda: bool(app.main.query_one(UsagePanel).records) and not app.main.busy,
            timeout=20,
        )
        assert app.main.query_one(PromptInput).value == "hello"
        await wait_until(
            pilot, lambda: "cannot reach" in " ".join(toasts(app)), what="an error notice"
        )
        assert "sk-test-not-real" not in " ".join(toasts(app))


async def test_palette_lists_every_action_and_history_is_guarded(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)

        class Probe:
            screen = app.main

        Probe.app = app  # type: ignore[attr-defined]
        entries = palette_entries(Probe)  # type: ignore[arg-type]
        titles = {e.title for e in entries}
        assert {
            "New chat",
            "Resume chat",
            "Contexts",
            "New context",
            "Edit context",
            "Rename context",
            "Duplicate context",
            "Delete context",
            "History",
            "Help",
            "Quit",
        } <= titles
        # Each entry says what it does, in more words than its name, and has an id.
        for entry in entries:
            assert entry.id and len(entry.help) > len(entry.title) + 5, entry
        for binding in app.main.BINDINGS:
            assert getattr(binding, "id", None), binding
            assert binding.key not in ("ctrl+b", "ctrl+s", "ctrl+j")  # type: ignore[union-attr]
        await pilot.press("ctrl+r")
        await pilot.pause()
        try:
            import promptcache_tui.ui.screens.history  # noqa: F401
        except ModuleNotFoundError:
            await wait_until(pilot, lambda: any("coming soon" in t for t in toasts(app)))
        else:
            assert type(app.screen).__name__ == "HistoryScreen"


def test_the_app_module_imports_neither_the_sdk_nor_the_store() -> None:
    code = (
        "import sys, promptcache_tui.ui.app; "
        "bad = [m for m in ('anthropic', 'aiosqlite', 'uvicorn', 'httpx') if m in sys.modules];"
        " print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _demo() -> Context:
    from promptcache_tui.ui.demo import demo_context

    return demo_context()


async def test_keys_can_be_remapped_by_binding_id(settings: Settings) -> None:
    await seed_demo(settings)
    app = PromptCacheApp(
        settings, sim_rate=0, cursor_blink=False, keymap={"main.new_conversation": "f6"}
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        await chat(pilot, "Who is Dinah?")
        await pilot.press("f6")
        await wait_until(pilot, lambda: app.main.conversation_id is None, what="a new chat")


async def test_the_countdowns_ledger_reads_an_alias_as_its_model(settings: Settings) -> None:
    # A call sent under a dated alias wrote the model's own cache entry (caches are per
    # model id, and an alias is the same model): its countdown must show warm.
    from promptcache_tui.core.ttl import CacheEvent

    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        ledger = app.main.ledger
        now = ledger.now()
        ledger.record(CacheEvent(now, "claude-haiku-4-5-20251001", "prefix", "5m"))
        assert ledger.state("claude-haiku-4-5", "prefix").state == "warm"
        assert ledger.state("claude-sonnet-4-6", "prefix").state == "cold"
