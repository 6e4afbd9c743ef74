"""LIVE mode: the breakpoint panel shows prefix tokens counted with count_tokens."""

from __future__ import annotations

from pathlib import Path

from promptcache_tui.config import Settings
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.ui.widgets.breakpoint_panel import BreakpointPanel

from .harness import make_app, seed_demo, wait_selected, wait_until


def panel_text(app: object) -> str:
    panel = app.main.query_one(BreakpointPanel)  # type: ignore[attr-defined]
    return " ".join(str(label.render()) for label in panel.query("Label"))


async def test_live_prefix_tokens_are_counted_not_estimated(
    settings: Settings, tmp_path: Path
) -> None:
    with InProcessSimulator(tmp_path / "remote", rate=0) as remote:
        live = Settings(
            data_dir=settings.data_dir, api_key="sk-test-not-real", base_url=remote.base_url
        )
        await seed_demo(live)
        app = make_app(live)
        async with app.run_test(size=(160, 44)) as pilot:
            await wait_selected(pilot)
            await wait_until(
                pilot, lambda: app.main.cache._counted is not None, timeout=20, what="count_tokens"
            )
            await pilot.pause()
            text = panel_text(app)
            assert "prefix ~" not in text and "prefix 8," in text
