"""Entry point of the TUI (`promptcache-tui` with no subcommand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promptcache_tui.config import Settings


def run_tui(settings: Settings) -> None:
    """Run the app until the user quits (with the key remaps of `keys.toml`, if any)."""
    from promptcache_tui.config import load_keymap
    from promptcache_tui.ui.app import PromptCacheApp

    app = PromptCacheApp(settings, keymap=load_keymap(settings.data_dir))
    app.run()
    if app.signalled is not None:
        import signal

        from promptcache_tui.cli.signals import Interrupted

        calls = app.interrupted_calls
        detail = f"{calls} call{'s' if calls != 1 else ''} logged as interrupted" if calls else ""
        raise Interrupted(signal.Signals(app.signalled), detail)
