"""Entry point of the TUI (`promptcache-tui` with no subcommand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promptcache_tui.config import Settings


def run_tui(settings: Settings) -> None:
    """Run the app until the user quits."""
    from promptcache_tui.ui.app import PromptCacheApp

    PromptCacheApp(settings).run()
