"""Entry point of the TUI (`promptcache-tui` with no subcommand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promptcache_tui.config import Settings


def run_tui(settings: Settings) -> None:
    """Run the app until the user quits (with the key remaps of `keys.toml`, if any)."""
    import gc

    # Start-up builds a few hundred thousand objects that live as long as the app (Textual,
    # Rich, the screens, their styles): collecting them on the way only re-walks them (~70
    # young passes, 20-40 ms of the first frame). The app re-enables the collector, with its
    # start-up heap frozen out of later passes, once it has settled (`PromptCacheApp._settle`).
    gc.disable()
    try:
        from promptcache_tui.config import load_keymap
        from promptcache_tui.ui.app import PromptCacheApp

        app = PromptCacheApp(settings, keymap=load_keymap(settings.data_dir))
        app.run()
    finally:
        gc.enable()
    if app.signalled is not None:
        import signal

        from promptcache_tui.core.errors import Interrupted

        calls = app.interrupted_calls
        detail = f"{calls} call{'s' if calls != 1 else ''} logged as interrupted" if calls else ""
        raise Interrupted(signal.Signals(app.signalled), detail)
