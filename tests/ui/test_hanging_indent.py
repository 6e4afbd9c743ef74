"""A line that wraps hangs under its text: the sidebar's prompts, in a tiny host app.

An OptionList of a fixed width shows prompts whose lines are just under, at and just over
the width; only the line that is too long changes, its continuation indented.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import OptionList

from promptcache_tui.ui.widgets.hanging_indent import HangingIndent

WIDTH = 20  # the options' text width: the list is 22 wide, its options padded by 1


class Host(App[None]):
    CSS = "OptionList { width: 22; border: none; height: auto; max-height: 40; }"

    def __init__(self, *lines: str) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield OptionList(HangingIndent(Content("\n".join(self.lines))), Content("next"))


async def rendered(*lines: str) -> list[str]:
    """The list's rows as shown, trailing spaces cut."""
    app = Host(*lines)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        return [strip.text[:22].rstrip() for strip in strips if strip.text.strip()]


async def test_lines_that_fit_render_as_plain_content() -> None:
    under = "● " + "a" * (WIDTH - 3)
    at = "  " + "b" * (WIDTH - 2)
    assert await rendered(under, at) == [f" {under}", f" {at}", " next"]


async def test_a_line_just_over_the_width_hangs_under_its_text() -> None:
    over = "● " + "c" * 10 + " " + "d" * (WIDTH - 12)  # one cell too long
    assert len(over) == WIDTH + 1
    assert await rendered(over, "  detail") == [
        " ● " + "c" * 10,
        "   " + "d" * (WIDTH - 12),
        "   detail",
        " next",
    ]


async def test_a_long_name_hangs_on_every_wrapped_line() -> None:
    name = "● one two three four five six seven eight nine"
    assert await rendered(name) == [
        " ● one two three four",
        "   five six seven",
        "   eight nine",
        " next",
    ]
    assert str(HangingIndent(Content(name))) == name  # its text, unwrapped
