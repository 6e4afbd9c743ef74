"""The Textual app: owns the settings, the clock and the backend (store, catalog, call service).

Nothing slow happens before the first frame: the store opens, the catalog loads and the
offline simulator starts in a worker scheduled after the first refresh. The `anthropic` SDK
is imported by the call service on the first call.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from promptcache_tui.config import DEFAULT_MODEL, Settings
from promptcache_tui.ui.commands import ActionCommands
from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.messages import BackendFailed, BackendReady
from promptcache_tui.ui.screens.main import MainScreen
from promptcache_tui.ui.textual_fixes import release_styles_caches, strips_free_themselves

# Before any widget paints: Textual 8 otherwise keeps every removed widget's painted rows.
release_styles_caches()
strips_free_themselves()

# Textual keeps a few Strips per painted row in its caches, and a Strip's own caches could point
# back at it (ui/textual_fixes.py stops that; removed widgets are cyclic all the same): cyclic
# garbage that only the collector frees. CPython's young generation (700 objects) promoted it
# before it died, and a 4,000-token answer then ran 34 full passes of 19-27 ms; with 5,000 it
# dies young (4 full passes, young passes still under 4 ms).
YOUNG_GC_THRESHOLD = 5000

if TYPE_CHECKING:
    from promptcache_tui.calls.service import CallService
    from promptcache_tui.core.catalog import Catalog
    from promptcache_tui.core.keepwarm import KeepWarmPolicy
    from promptcache_tui.store import Store

Clock = Callable[[], float]


class PromptCacheApp(App[None]):
    """promptcache-tui: cached contexts, a chat, breakpoint countdowns and per-call usage."""

    CSS_PATH = "app.tcss"
    TITLE = "promptcache-tui"
    COMMANDS: ClassVar = App.COMMANDS | {ActionCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        service: CallService | None = None,
        store: Store | None = None,
        catalog: Catalog | None = None,
        sim_rate: float | None = None,
        cursor_blink: bool = True,
        keymap: dict[str, str] | None = None,
        keep_warm: KeepWarmPolicy | None = None,
    ) -> None:
        """`clock`, `service`, `store` and `catalog` may be injected (tests); the rest are
        created after the first frame. `sim_rate` paces the offline simulator (0: no pacing).
        `keep_warm` sets when keep-warm pings and its caps per session (default: the policy's
        defaults: 30 s before expiry, 20 pings, $0.50).
        """
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.store = store
        self.catalog = catalog
        self.service = service
        self.sim_rate = sim_rate
        self.cursor_blink = cursor_blink
        self.ready = False
        self._owns_service = service is None
        self._owns_store = store is None
        self._keymap_overrides = dict(keymap or {})
        self.keep_warm_policy = keep_warm
        self.sub_title = settings.mode_label()
        self.main = MainScreen()

    # -- the clock ---------------------------------------------------------------------

    def now(self) -> float:
        """The app's clock: an injected one, else the call service's (offline: the simulator's,
        which its /_sim/advance hook moves), else the wall clock. May read SQLite: call it
        from a thread, or through `current_time()`."""
        if self.clock is not None:
            return self.clock()
        if self.service is not None:
            return self.service.now()
        return time.time()

    def wall_now(self) -> float:
        """Wall-clock time for display (an injected clock wins); never reads the simulator."""
        return self.clock() if self.clock is not None else time.time()

    def settle_cursor(self, screen: Screen[object]) -> None:
        """Turn cursor blinking off in a screen's inputs when asked (tests, snapshots)."""
        if not self.cursor_blink:
            for widget in screen.query("Input, TextArea"):
                widget.cursor_blink = False  # type: ignore[attr-defined]

    async def current_time(self) -> float:
        """`now()` without blocking the event loop."""
        if self.clock is not None or self.service is None:
            return self.now()
        return await asyncio.to_thread(self.now)

    @property
    def default_model(self) -> str:
        """The session model (--model), else the project default."""
        return self.settings.model or DEFAULT_MODEL

    # -- start-up ----------------------------------------------------------------------

    def get_default_screen(self) -> MainScreen:
        return self.main

    def on_mount(self) -> None:
        if self._keymap_overrides:
            self.set_keymap(self._keymap_overrides)
        # After the first frame: the store, the catalog and the simulator.
        self.call_after_refresh(self.open_backend)

    @work(exclusive=True, group="backend", exit_on_error=False)
    async def open_backend(self) -> None:
        """Open the store, load the catalog, create the call service, start the simulator."""
        store: Store | None = None
        try:
            store = self.store
            if store is None:
                from promptcache_tui.store import Store

                store = await Store.open(self.settings.db_path)
            catalog = self.catalog
            if catalog is None:
                from promptcache_tui.core.catalog import load_catalog

                catalog = await asyncio.to_thread(load_catalog, self.settings.data_dir)
            service = self.service
            if service is None:
                service = await asyncio.to_thread(self._make_service, store, catalog)
            if not self.settings.live:
                await asyncio.to_thread(service.start_simulator)
        except Exception as exc:
            if store is not None and self.store is None:  # opened here: do not leak it
                with contextlib.suppress(Exception):
                    await store.close()
            self.post_message(BackendFailed(one_line(exc)))
            return
        self.post_message(BackendReady(store, catalog, service))
        await self._settle(service)

    async def _settle(self, service: CallService) -> None:
        """Load the SDK in a thread now, then tune the GC for a long-running UI.

        The first call would otherwise wait for the SDK (about a second). And the cyclic
        garbage collector's full passes walk every object alive: with Textual, Rich and the
        SDK loaded they stalled streaming by ~100 ms each. Freezing the start-up heap takes
        those objects out of every later pass; a larger young generation makes them rare.
        """
        with contextlib.suppress(Exception):  # the first call reports it, in its own words
            await service.ensure_client()
        gc.freeze()
        gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])

    def _make_service(self, store: Store, catalog: Catalog) -> CallService:
        from promptcache_tui.calls.service import CallService

        return CallService(self.settings, store, catalog, clock=self.clock, sim_rate=self.sim_rate)

    def on_backend_ready(self, message: BackendReady) -> None:
        self.store, self.catalog, self.service = message.store, message.catalog, message.service
        self.ready = True
        self.main.load_contexts()

    def on_backend_failed(self, message: BackendFailed) -> None:
        self.notify(message.error, title="Cannot start", severity="error", timeout=30)
        self.main.backend_failed(message.error)

    async def on_unmount(self) -> None:
        """Stop the simulator and close the store (only what this app opened)."""
        if self.service is not None and self._owns_service:
            await self.service.close()
        if self.store is not None and self._owns_store:
            await self.store.close()

    # -- app-wide actions ---------------------------------------------------------------

    def action_history(self) -> None:
        """Open the call history (a colleague's screen), if it is installed."""
        try:
            from promptcache_tui.ui.screens.history import HistoryScreen
        except ModuleNotFoundError as exc:
            if exc.name != "promptcache_tui.ui.screens.history":
                raise
            self.notify("history: coming soon")
            return
        self.push_screen(HistoryScreen())

    def action_create_demo(self) -> None:
        """Create the demo context (welcome screen)."""
        self.main.create_demo()

    def action_new_context(self) -> None:
        """Open the context editor for a new context."""
        self.main.action_new_context()
