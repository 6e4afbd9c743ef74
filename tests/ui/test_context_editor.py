"""Creating, editing, renaming, duplicating and deleting contexts from the keyboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Select

from promptcache_tui.config import Settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.ui.parts.sidebar import SidebarList
from promptcache_tui.ui.screens.confirm import ConfirmDialog
from promptcache_tui.ui.screens.context_editor import BlocksList, ContextEditorScreen
from promptcache_tui.ui.screens.name_dialog import NameDialog
from promptcache_tui.ui.screens.welcome import WelcomeScreen
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel

from .harness import FakeClock, chat, make_app, seed, seed_demo, wait_selected, wait_until
from .test_main_screen import toasts

PROSE = "The quick brown fox jumps over the lazy dog while the cat watches. " * 200


def _editor(app: object) -> ContextEditorScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ContextEditorScreen)
    return screen


async def test_create_a_context_from_the_welcome_screen(settings: Settings) -> None:
    doc = Path("guide.md")  # in the test's working dir: a short path to type
    doc.write_text(PROSE)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
        editor = _editor(app)
        await pilot.press(*"guide", "tab", "tab")  # name -> model -> system text
        await pilot.pause()
        await pilot.press(*"Answer from the guide.")
        await pilot.press("ctrl+f")
        await pilot.pause()
        await pilot.press(*str(doc), "enter")
        await wait_until(pilot, lambda: len(editor.blocks) == 2, what="the file block")
        assert [b.kind for b in editor.blocks] == ["system", "document"]
        assert editor.marks == {1: "5m"}  # a first document gets a breakpoint
        await pilot.press("ctrl+g")
        await wait_selected(pilot, "guide")
        ctx = app.main.ctx
        assert ctx is not None and ctx.model == "claude-sonnet-4-6"
        assert ctx.blocks[0].text == "Answer from the guide."
        assert ctx.blocks[1].name == "guide.md"
        assert ctx.breakpoints == (Breakpoint(1, "5m"),)


async def test_edit_breakpoints_never_more_than_four(settings: Settings) -> None:
    await seed_demo(settings)
    for name in ("a.txt", "b.txt"):
        Path(name).write_text(PROSE)
    clock = FakeClock()
    app = make_app(settings, clock)
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await chat(pilot, "Who is Dinah?")
        await app.main.tick()
        before = app.main.query_one(BreakpointPanel).countdowns()
        assert before == ["1:00:00 left", "5:00 left"]

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
        editor = _editor(app)
        for name in ("a.txt", "b.txt"):
            count = len(editor.blocks)
            await pilot.press("ctrl+f")
            await pilot.pause()
            await pilot.press(*name, "enter")
            await wait_until(pilot, lambda c=count: len(editor.blocks) == c + 1)
        assert len(editor.blocks) == 5 and len(editor.marks) == 2

        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: editor.query_one(BlocksList).has_focus)
        blocks = editor.query_one(BlocksList)
        blocks.highlighted = 0
        await pilot.press("b")  # 3
        blocks.highlighted = 3
        await pilot.press("b")  # 4
        blocks.highlighted = 4
        await pilot.press("b")  # a fifth is refused
        await wait_until(pilot, lambda: any("At most 4" in t for t in toasts(app)))
        assert sorted(editor.marks) == [0, 1, 2, 3]

        blocks.highlighted = 0
        await pilot.press("t")  # block 1: 5m -> 1h (1h must come first)
        assert editor.marks[0] == "1h"
        blocks.highlighted = 3
        await pilot.press("right_square_bracket")  # move the breakpoint from block 4 to 5
        assert sorted(editor.marks) == [0, 1, 2, 4]
        assert blocks.highlighted == 4
        await pilot.press("left_square_bracket")  # and back
        assert sorted(editor.marks) == [0, 1, 2, 3]
        await pilot.press("delete")  # remove block 4 and its breakpoint
        assert len(editor.blocks) == 4 and sorted(editor.marks) == [0, 1, 2]
        blocks.highlighted = 3
        assert [b.name for b in editor.blocks[2:]] == ["", "b.txt"]  # a.txt was deleted
        await pilot.press("shift+up")  # the remaining added document moves up one
        assert [b.name for b in editor.blocks[2:]] == ["b.txt", ""]
        assert editor.marks == {0: "1h", 1: "1h", 3: "5m"}  # the breakpoint stays on its block
        await pilot.press("shift+down")
        assert [b.name for b in editor.blocks[2:]] == ["", "b.txt"]
        assert editor.marks == {0: "1h", 1: "1h", 2: "5m"}

        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: app.screen is app.main)
        await wait_selected(pilot, "alice-demo")
        ctx = app.main.ctx
        assert ctx is not None
        assert ctx.breakpoints == (Breakpoint(0, "1h"), Breakpoint(1, "1h"), Breakpoint(2, "5m"))
        assert len(ctx.blocks) == 4
        # The new breakpoint's prefix was never written: cold. The book's and the style
        # note's prefixes are byte for byte unchanged, so their entries are still warm.
        clock.advance(30)
        await app.main.tick()
        countdowns = app.main.query_one(BreakpointPanel).countdowns()
        assert countdowns == ["cold", "59:30 left", "4:30 left"]


async def test_invalid_edits_cannot_be_saved(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
        editor = _editor(app)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: editor.query_one(BlocksList).has_focus)
        editor.query_one(BlocksList).highlighted = 2
        await pilot.press("t")  # 5m -> 1h after the book's 1h: fine
        editor.query_one(BlocksList).highlighted = 1
        await pilot.press("t")  # the book's 1h -> 5m: now a 1h follows a 5m
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, ContextEditorScreen)
        assert any("1h breakpoint must come before" in t for t in toasts(app))
        await pilot.press("escape")  # discard? asks first
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is app.main)
        assert app.main.ctx is not None and app.main.ctx.breakpoints[0].ttl == "1h"


async def test_rename_duplicate_and_delete_with_confirmation(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot, "alice-demo")
        contexts = app.main.query_one(SidebarList)

        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, NameDialog))
        await pilot.press("ctrl+u", *"book", "enter")
        await wait_selected(pilot, "book")
        assert [s.title for s in contexts.items] == ["book"]

        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, NameDialog))
        await pilot.press("enter")  # the suggested name
        await wait_selected(pilot, "book-copy")
        assert sorted(s.title for s in contexts.items) == ["book", "book-copy"]
        copy = app.main.ctx
        assert copy is not None and copy.blocks == (await _stored(app, "book")).blocks

        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")  # no: nothing happens
        await wait_until(pilot, lambda: app.screen is app.main)
        assert len(contexts.items) == 2
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_selected(pilot, "book")
        assert [s.title for s in contexts.items] == ["book"]

        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, WelcomeScreen))


async def _stored(app: object, name: str) -> Context:
    store = app.store  # type: ignore[attr-defined]
    return await store.contexts.require(name)


async def test_changing_the_model_resets_the_countdowns(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        await chat(pilot, "Who is Dinah?")
        panel = app.main.query_one(BreakpointPanel)
        assert all(t.endswith("left") for t in panel.countdowns())
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
        _editor(app).query_one("#ctx-model", Select).value = "claude-opus-4-6"
        await pilot.pause()
        await pilot.press("ctrl+g")
        await wait_until(
            pilot, lambda: app.main.ctx is not None and app.main.ctx.model == "claude-opus-4-6"
        )
        await wait_until(pilot, lambda: panel.countdowns() == ["cold", "cold"])
        assert "claude-opus-4-6" in app.sub_title


def _prefixes(editor: ContextEditorScreen) -> list[str]:
    """The prefix figures the block list shows, top to bottom."""
    blocks = editor.query_one(BlocksList)
    shown = [str(blocks.get_option_at_index(i).prompt) for i in range(blocks.option_count)]
    return re.findall(r"prefix ~([\d,]+)", "\n".join(shown))


async def test_a_breakpoints_estimate_depends_only_on_the_blocks_before_it(
    settings: Settings,
) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
        editor = _editor(app)
        await pilot.press("ctrl+l")
        blocks = editor.query_one(BlocksList)
        await wait_until(pilot, lambda: blocks.has_focus)
        before = _prefixes(editor)
        assert len(before) == 2
        # The book's breakpoint 1h -> 5m, then the note's 5m -> 1h: a 1h after a 5m cannot
        # be sent (the editor says so), yet neither estimate moves.
        blocks.highlighted = 1
        await pilot.press("t")
        blocks.highlighted = 2
        await pilot.press("t")
        await pilot.pause()
        assert editor.marks == {1: "5m", 2: "1h"}
        problems = str(editor.query_one("#editor-problems").render())
        assert "✗" in problems
        assert _prefixes(editor) == before
        # The footer's total is the last prefix (the last block carries a breakpoint).
        assert f"~{before[-1]} tokens" in problems


@pytest.mark.parametrize(("gap", "warned"), [(19, False), (20, True), (21, True)])
async def test_the_editor_warns_of_the_lookback_from_twenty_positions(
    settings: Settings, gap: int, warned: bool
) -> None:
    """A breakpoint `gap` blocks after the previous one: its lookup (20 positions, its own
    included) cannot reach the previous entry from 20 blocks on, and the editor says so."""
    turns = tuple(
        Block("example", f"turn {i}", role="user" if i % 2 == 0 else "assistant")
        for i in range(gap)
    )
    await seed(
        settings,
        Context(
            "far",
            (Block("document", PROSE, "a.txt"), *turns),
            (Breakpoint(0), Breakpoint(gap)),
            "claude-sonnet-4-6",
        ),
    )
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_selected(pilot, "far")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextEditorScreen))
        editor = _editor(app)

        def problems() -> str:
            return str(editor.query_one("#editor-problems").render())

        await wait_until(pilot, lambda: "2/4 breakpoints" in problems(), what="the problems")
        expected = f"! #2: {gap} blocks after the previous breakpoint: a lookup checks only 20"
        assert (expected in " ".join(problems().split())) is warned, problems()
