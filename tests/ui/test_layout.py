"""The layout at the sizes people use: what each size shows, notices, help, keys."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.widgets import Button
from textual.widgets._toast import Toast

from promptcache_tui.config import Settings
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.screens.confirm import ConfirmDialog
from promptcache_tui.ui.screens.help import HelpScreen

from .harness import make_app, seed_demo, wait_selected, wait_until

SIZES = [(80, 24), (100, 30), (120, 36), (160, 48), (200, 50)]


def shown(app: PromptCacheApp, selector: str) -> bool:
    """On screen and given some room."""
    widget = app.main.query_one(selector)
    return bool(widget.display and widget.region.width > 0 and widget.region.height > 0)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_each_size_shows_the_chat_at_a_readable_width_and_every_view_is_reachable(
    settings: Settings, size: tuple[int, int]
) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await wait_selected(pilot, "alice-demo")
        chat = app.main.query_one("#chat")
        assert chat.region.width >= 40, chat.region  # never a ribbon
        width, height = size
        if width < 100:  # one view at a time, chosen by tabs (or f10)
            assert shown(app, "#views") and not shown(app, "#cache-pane")
            await pilot.press("f10")
            assert shown(app, "#breakpoints") and not shown(app, "#chat")
            await pilot.press("f10")
            assert shown(app, "#usage-table") and not shown(app, "#breakpoints")
            await pilot.press("f10")
            assert shown(app, "#chat")
        else:
            assert not shown(app, "#views") and shown(app, "#cache-pane")
            if height < 32:  # breakpoints and calls as tabs beside the chat
                assert shown(app, "#breakpoints") and not shown(app, "#usage-table")
                await pilot.press("f10")
                assert shown(app, "#usage-table") and not shown(app, "#breakpoints")
            else:  # stacked
                assert shown(app, "#breakpoints") and shown(app, "#usage-table")
        # The contexts list: beside the chat when wide, else opened over it with ctrl+l.
        if width >= 140:
            assert shown(app, "#sidebar")
        else:
            assert not shown(app, "#sidebar")
            await pilot.press("ctrl+l")
            await wait_until(pilot, lambda: shown(app, "#sidebar"), what="the list over the chat")
            assert app.main.query_one("#contexts").has_focus
            await pilot.press("escape")
            await wait_until(pilot, lambda: not shown(app, "#sidebar"), what="the list closed")


SIZE_CLASSES = {"-narrow", "-medium", "-wide", "-short", "-tall"}


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((99, 31), {"-narrow", "-short"}),
        ((100, 32), {"-medium", "-tall"}),
        ((139, 24), {"-medium", "-short"}),
        ((140, 33), {"-wide", "-tall"}),
    ],
    ids=lambda v: f"{v[0]}x{v[1]}" if isinstance(v, tuple) else None,
)
async def test_the_screen_is_laid_out_for_its_size_from_the_first_frame(
    settings: Settings, size: tuple[int, int], expected: set[str]
) -> None:
    """The size classes are on the screen before it is first styled (Textual adds them on
    a resize after the first frame, which styled and laid out everything twice), and they
    are the ones Textual's own rule then gives: nothing changes after the first frame."""
    app = make_app(settings)
    composed = app.main.compose
    at_compose: list[set[str]] = []

    def compose():  # type: ignore[no-untyped-def]
        widgets = list(composed())
        at_compose.append(set(app.main.classes) & SIZE_CLASSES)
        return widgets

    app.main.compose = compose  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert at_compose == [expected]
        assert set(app.main.classes) & SIZE_CLASSES == expected


async def test_the_footer_shows_the_essentials_at_80_columns(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot, "alice-demo")
        essentials = ("Send", "History", "Quit", "Help", "palette")

        def footer() -> str:
            return "".join(strip.text for strip in app.screen._compositor.render_strips()[-1:])

        # The footer paints once the bindings are known: wait for it, then check all of them.
        await wait_until(pilot, lambda: "Quit" in footer(), what="the footer painted")
        for essential in essentials:
            assert essential in footer(), footer()


async def test_f1_lists_every_key_with_its_id(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot, "alice-demo")
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        ids = {entry.id for entry in screen.entries}
        for binding in Binding.make_bindings(app.main.BINDINGS):
            assert binding.id in ids
        assert {"app.quit", "app.help", "chat.send"} <= ids
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="back")
        # `?` in the chat input is a question mark, not help.
        await pilot.press("question_mark")
        assert app.main.query_one("#prompt").value == "?"  # type: ignore[attr-defined]


async def test_a_notice_stays_on_its_screen_and_clear_of_a_dialogs_buttons(
    settings: Settings,
) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_selected(pilot, "alice-demo")
        app.clear_notifications()
        app.notify("raised on the main screen " * 4, timeout=60)
        await wait_until(pilot, lambda: bool(app.main.query(Toast)), what="the notice")
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="dialog")
        dialog = app.screen
        await pilot.pause()
        # It did not follow to the dialog...
        assert not list(app._notifications)
        # ...and one raised over the dialog sits where its buttons are not.
        dialog.notify("raised over the dialog, a long notice that has to wrap " * 6, timeout=60)
        await wait_until(
            pilot,
            lambda: bool(dialog.query(Toast)) and dialog.query_one(Toast).region.height > 0,
            what="the dialog's notice laid out",
        )
        toast = dialog.query_one(Toast)
        assert toast.region.height > 4 and toast.region.right <= 80  # wrapped, not cut
        for button in dialog.query(Button):
            assert not toast.region.overlaps(button.region), (toast.region, button.region)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is app.main, what="back")
        assert not list(app._notifications)  # the dialog's notice stayed with it
