"""The chosen theme is remembered; a screenshot lands in the data dir and says where."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from promptcache_tui.config import Settings
from promptcache_tui.ui.preferences import PREFERENCES_FILE, load_theme, save_theme

from .harness import make_app, seed_demo, wait_selected, wait_until
from .test_main_screen import toasts


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_chosen_theme_is_back_after_a_restart(settings: Settings) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot)
        app.theme = "nord"
        path = settings.data_dir / PREFERENCES_FILE
        await wait_until(pilot, lambda: load_theme(settings.data_dir) == "nord", what="saved")
        assert mode(path) == 0o600
    again = make_app(settings)
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot)
        assert again.theme == "nord"


def test_a_damaged_or_unknown_preferences_file_means_the_default(tmp_path: Path) -> None:
    assert load_theme(tmp_path) is None  # no file
    (tmp_path / PREFERENCES_FILE).write_text("{not json", "utf-8")
    assert load_theme(tmp_path) is None
    (tmp_path / PREFERENCES_FILE).write_text('["nord"]', "utf-8")
    assert load_theme(tmp_path) is None
    save_theme(tmp_path, "gruvbox")  # a damaged file is replaced whole
    assert json.loads((tmp_path / PREFERENCES_FILE).read_text("utf-8")) == {"theme": "gruvbox"}


async def test_an_unknown_saved_theme_is_ignored(settings: Settings) -> None:
    save_theme(settings.data_dir, "no-such-theme")
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot)
        assert app.theme == "textual-dark"


async def test_the_palettes_screenshot_lands_in_the_data_dir_and_says_where(
    settings: Settings,
) -> None:
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        assert "data dir" in command.help
        command.callback()
        folder = settings.data_dir / "screenshots"
        await wait_until(pilot, lambda: folder.is_dir() and any(folder.iterdir()), what="a file")
        (shot,) = folder.iterdir()
        assert shot.suffix == ".svg" and mode(shot) == 0o600
        assert "<svg" in shot.read_text("utf-8")
        await wait_until(pilot, lambda: any(str(shot) in t for t in toasts(app)), what="where")
