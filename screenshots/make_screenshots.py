"""Regenerate screenshots/*.svg from the real app, offline, against the simulator.

    python screenshots/make_screenshots.py

Each shot runs the app headless on a temporary data dir with a frozen clock, driven through
the same scenes as the snapshot tests (`tests/ui/scenes.py`). No API key is read or shown:
the key variables are removed before the app starts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
    os.environ.pop(name, None)
os.environ["PROMPTCACHE_TUI_SIM_RATE"] = "0"
os.environ["TZ"] = "UTC"
time.tzset()

from tests.ui import scenes  # noqa: E402
from tests.ui.harness import SIZE, FakeClock, make_app, seed_demo, wait_until  # noqa: E402

from promptcache_tui.config import load_settings  # noqa: E402
from promptcache_tui.ui.app import PromptCacheApp  # noqa: E402

Scene = Callable[[Any], Awaitable[None]]


async def shoot(app: PromptCacheApp, scene: Scene, path: Path, title: str) -> None:
    """Run `scene` on `app` and save what it shows as an SVG."""
    async with app.run_test(size=SIZE) as pilot:
        await scene(pilot)
        await pilot.pause()
        svg = app.export_screenshot(title=title)
    if "sk-ant" in svg or (os.environ.get("ANTHROPIC_API_KEY") or "\0") in svg:
        raise SystemExit(f"refusing to write {path.name}: it would show an API key")
    path.write_text(svg, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chdir(root)  # no stray .env is read

        welcome = load_settings(root / "welcome", offline=True)
        await shoot(
            scenes.welcome_app(welcome),
            scenes.show_welcome,
            HERE / "welcome.svg",
            "promptcache-tui: welcome",
        )

        main_dir = load_settings(root / "main", offline=True)
        app, clock = await scenes.conversation_app(main_dir)

        async def conversation(pilot: Any) -> None:
            await scenes.show_conversation(pilot, clock)

        await shoot(
            app,
            conversation,
            HERE / "main.svg",
            "promptcache-tui: a conversation, the book warm, the style note expiring",
        )

        for name, scene, title in (
            (
                "keepwarm",
                scenes.show_keep_warm,
                "promptcache-tui: keep-warm on, one ping just before the style note expired",
            ),
            (
                "planner",
                scenes.show_planner,
                "promptcache-tui: the TTL planner for a call every 6 minutes",
            ),
        ):
            app, clock = await scenes.conversation_app(load_settings(root / name, offline=True))

            async def shot(pilot: Any, scene: Any = scene, clock: FakeClock = clock) -> None:
                await scene(pilot, clock)

            await shoot(app, shot, HERE / f"{name}.svg", title)

        app, clock = await scenes.conversation_app(load_settings(root / "history", offline=True))

        async def history(pilot: Any, clock: FakeClock = clock) -> None:
            from promptcache_tui.ui.widgets.history_table import HistoryTable

            await scenes.show_conversation(pilot, clock)
            await pilot.press("f5")  # a warm-up, so all three kinds of row show
            await pilot.pause(0.5)
            await pilot.press("ctrl+r")
            await wait_until(
                pilot,
                lambda: (
                    bool(pilot.app.screen.query(HistoryTable))
                    and pilot.app.screen.query_one(HistoryTable).row_count >= 3
                ),
                what="the history table",
            )
            await pilot.pause(0.3)

        await shoot(app, history, HERE / "history.svg", "promptcache-tui: usage history")

        editor = load_settings(root / "editor", offline=True)
        await seed_demo(editor)
        await shoot(
            make_app(editor, FakeClock()),
            scenes.show_editor,
            HERE / "editor.svg",
            "promptcache-tui: context editor",
        )


if __name__ == "__main__":
    asyncio.run(main())
