"""A stand-in for a costly part that is built and mounted when the screen says so.

Textual's `Lazy` mounts its widget right after the first frame, which is exactly when a
prompt typed at launch is being put on screen: a heavy pane mounted then (its modules,
stylesheets, layout) delays the user's own text. `Deferred` instead waits for `release()`
(the screen calls it once what was typed is shown, or once there is data to show), then
imports and builds the part, and mounts it in its place after the next frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.widget import MountError, Widget


class Deferred(Widget):
    """Mounts `build()` in its own place after `release()`; until then takes no room."""

    DEFAULT_CSS = """
    Deferred {
        display: none;
    }
    """

    def __init__(self, build: Callable[[], Widget]) -> None:
        super().__init__()
        self._build = build
        self._released = False
        self.mounted = asyncio.Event()  # set once the part is in the DOM

    def release(self) -> None:
        """Build and mount the part after the next frame (once; later calls do nothing)."""
        if self._released:
            return
        self._released = True
        self.call_after_refresh(self._mount)

    async def _mount(self) -> None:
        parent = self.parent
        try:
            if isinstance(parent, Widget) and parent.is_attached:
                await parent.mount(self._build(), after=self)
                await self.remove()
        except MountError:
            pass  # the app is closing (quit right at start-up): there is nothing to show it on
        finally:
            self.mounted.set()  # mounted, or never will be: nobody may wait forever

    async def wait(self) -> None:
        """Release the part if nobody has, and wait until it is mounted."""
        self.release()
        await self.mounted.wait()
