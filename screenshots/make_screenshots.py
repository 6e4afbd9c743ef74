"""Regenerate screenshots/*.svg from the real app, offline, against the simulator.

    python screenshots/make_screenshots.py [NAME ...]   (default: every shot)

Each shot runs the app headless on a temporary data dir with a frozen clock, driven through
the same scenes as the snapshot tests (`tests/ui/scenes.py`), at 120x36: a common terminal
size, so the pictures show what most users will see (one more shows 80x24). No API key is
read or shown: the key variables are removed before the app starts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
    os.environ.pop(name, None)
os.environ["PROMPTCACHE_TUI_SIM_RATE"] = "0"
os.environ["TZ"] = "UTC"
time.tzset()

from tests.ui.scenes import COMMON, NARROW, SCENES  # noqa: E402

from promptcache_tui.config import load_settings  # noqa: E402

# file name -> (scene, size, title)
SHOTS = {
    "welcome": ("welcome", COMMON, "promptcache-tui: welcome"),
    "main": (
        "conversation",
        COMMON,
        "promptcache-tui: a conversation, the book warm, the style note expiring",
    ),
    "main-80x24": ("calls", NARROW, "promptcache-tui at 80x24: the calls of a conversation"),
    "keepwarm": (
        "keep_warm",
        COMMON,
        "promptcache-tui: keep-warm on, one ping just before the style note expired",
    ),
    "planner": ("planner", COMMON, "promptcache-tui: the TTL planner for a call every 6 minutes"),
    "editor": ("editor", COMMON, "promptcache-tui: context editor"),
    "history": ("history", COMMON, "promptcache-tui: usage history"),
    "help": ("help", COMMON, "promptcache-tui: every key, with its id"),
    "observe": (
        "observed_list",
        COMMON,
        "promptcache-tui: a program's calls through the proxy and a Claude Code session",
    ),
}


async def shoot(data_dir: Path, scene: str, size: tuple[int, int], path: Path, title: str) -> None:
    """Run `scene` at `size` and save what it shows as an SVG."""
    app, run_before = await SCENES[scene].prepare(load_settings(data_dir, offline=True))
    async with app.run_test(size=size) as pilot:
        await run_before(pilot)
        await pilot.pause()
        svg = app.export_screenshot(title=title)
    if "sk-ant" in svg or (os.environ.get("ANTHROPIC_API_KEY") or "\0") in svg:
        raise SystemExit(f"refusing to write {path.name}: it would show an API key")
    path.write_text(svg, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


async def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in SHOTS]
    if unknown:
        raise SystemExit(f"no such shot: {', '.join(unknown)} (choose from {', '.join(SHOTS)})")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chdir(root)  # no stray .env is read
        for name, (scene, size, title) in SHOTS.items():
            if not names or name in names:
                await shoot(root / name, scene, size, HERE / f"{name}.svg", title)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
