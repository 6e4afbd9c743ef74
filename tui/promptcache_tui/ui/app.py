"""The Textual app: owns the services (settings, clock, store, catalog, call service).

Nothing slow happens before the first frame: the store opens, the catalog loads and the
offline simulator starts in a worker scheduled after the first refresh. The `anthropic` SDK
is imported by the call service on the first call. Screens reach the services through
`ui.services.services(node)`; this module is imported by nothing but the launcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import Notification, Notify, SeverityLevel
from textual.screen import Screen
from textual.worker import Worker

from promptcache_tui.core.sanitize import redact, safe_message, terminal_safe
from promptcache_tui.core.settings import Settings
from promptcache_tui.ui.commands import ActionCommands
from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.messages import BackendFailed, BackendReady
from promptcache_tui.ui.screens.main import MainScreen
from promptcache_tui.ui.services import Clock, Services
from promptcache_tui.ui.terminal_guard import install as install_terminal_guard
from promptcache_tui.ui.textual_fixes import release_styles_caches, strips_free_themselves
from promptcache_tui.ui.widgets.prompt_input import SUBMIT_KEYS, PromptInput

if TYPE_CHECKING:
    from collections.abc import Iterable

    from promptcache_tui.calls.service import CallService
    from promptcache_tui.core.catalog import Catalog
    from promptcache_tui.core.keepwarm import KeepWarmPolicy
    from promptcache_tui.store import Store

# Before any widget paints: Textual 8 otherwise keeps every removed widget's painted rows.
release_styles_caches()
strips_free_themselves()

# Textual keeps a few Strips per painted row in its caches, and a Strip's own caches could point
# back at it (ui/textual_fixes.py stops that; removed widgets are cyclic all the same): cyclic
# garbage that only the collector frees. CPython's young generation (700 objects) promoted it
# before it died, and a 4,000-token answer then ran 34 full passes of 19-27 ms; with 5,000 it
# dies young (4 full passes, young passes still under 4 ms).
YOUNG_GC_THRESHOLD = 5000
# Worker groups that send calls: quitting or a signal settles them as interrupted first.
CALL_GROUPS = ("call", "warm", "keep-warm")
HANGUP = int(getattr(signal, "SIGHUP", 1))
EXIT_SIGNALS = tuple(
    s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None), signal.SIGINT) if s is not None
)


class PromptCacheApp(App[None]):
    """promptcache-tui: cached contexts, a chat, breakpoint countdowns and per-call usage."""

    CSS_PATH = [  # noqa: RUF012 (App declares it)
        "styles/app.tcss",
        "styles/main.tcss",
        "styles/dialogs.tcss",
        "styles/editor.tcss",
        "styles/history.tcss",
    ]
    TITLE = "promptcache-tui"
    COMMANDS: ClassVar = App.COMMANDS | {ActionCommands}
    # The layout follows the terminal: the stylesheets style `Screen.-narrow` and so on.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (140, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            priority=True,
            tooltip="Quit promptcache-tui",
        ),
        Binding(
            "f1",
            "help",
            "Help",
            id="app.help",
            tooltip="Every key of this screen, with its binding id for keys.toml",
        ),
        Binding(
            "question_mark",
            "help",
            "Help",
            show=False,
            id="app.help_question",
            tooltip="Every key of this screen (when no text field has the cursor)",
        ),
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
        install_terminal_guard()  # no control character in any view reaches the terminal
        self.services = Services(
            settings,
            clock=clock,
            store=store,
            catalog=catalog,
            service=service,
            keep_warm=keep_warm,
            cursor_blink=cursor_blink,
        )
        self.sim_rate = sim_rate
        self._owns_service = service is None
        self._owns_store = store is None
        self._keymap_overrides = dict(keymap or {})
        self._notice_screens: dict[str, int] = {}  # notification identity -> id(screen)
        # Keys typed before the chat input had the focus (None once it has had it).
        self._early_keys: list[events.Key] | None = []
        self.sub_title = settings.mode_label()
        self.main = MainScreen()
        self.signalled: int | None = None  # the signal that ended the app, if one did
        self.interrupted_calls = 0
        self._signals: list[int] = []

    # The app's own view of its services (tests read these).
    @property
    def settings(self) -> Settings:
        """The session's settings."""
        return self.services.settings

    @property
    def store(self) -> Store | None:
        """The open store, once ready."""
        return self.services.store

    @property
    def catalog(self) -> Catalog | None:
        """The model catalog, once ready."""
        return self.services.catalog

    @property
    def service(self) -> CallService | None:
        """The call service, once ready."""
        return self.services.service

    @property
    def ready(self) -> bool:
        """The store, the catalog and the call service are up."""
        return self.services.ready

    def now(self) -> float:
        """The app's clock (see `Services.now`)."""
        return self.services.now()

    # -- start-up ----------------------------------------------------------------------

    def get_default_screen(self) -> MainScreen:
        return self.main

    def on_mount(self) -> None:
        from promptcache_tui.ui.preferences import load_theme

        self._catch_signals()
        if self._keymap_overrides:
            from promptcache_tui.ui.keymap import check_keymap

            # Printable keys are refused now; unknown ids once the screens are imported.
            self.set_keymap(check_keymap(self._keymap_overrides)[0])
        theme = load_theme(self.settings.data_dir)
        if theme in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        self.call_after_refresh(self._settle_cursor, self.main)
        # After the first frame: the store, the catalog and the simulator.
        self.call_after_refresh(self.open_backend)

    @work(exclusive=True, group="backend", exit_on_error=False)
    async def open_backend(self) -> None:
        """Open the store, load the catalog, create the call service, start the simulator."""
        settings = self.settings
        store: Store | None = None
        try:
            store = self.services.store
            if store is None:
                from promptcache_tui.store import Store

                store = await Store.open(settings.db_path, clock=self.services.wall_now)
            catalog = self.services.catalog
            if catalog is None:
                from promptcache_tui.core.catalog import load_catalog

                catalog = await asyncio.to_thread(load_catalog, settings.data_dir)
            service = self.services.service
            if service is None:
                service = await asyncio.to_thread(self._make_service, store, catalog)
            if not settings.live:
                await asyncio.to_thread(service.start_simulator)
        except Exception as exc:
            if store is not None and self.services.store is None:  # opened here: close it
                with contextlib.suppress(Exception):
                    await store.close()
            self.post_message(BackendFailed(one_line(exc)))
            return
        self.post_message(BackendReady(store, catalog, service))
        await self._check_keymap()
        await self._settle(service)

    async def _check_keymap(self) -> None:
        """Say which of keys.toml's remaps were refused (unknown ids, printable keys)."""
        if not self._keymap_overrides:
            return
        from promptcache_tui.ui.keymap import check_keymap, known_binding_ids

        known = await asyncio.to_thread(known_binding_ids)
        problems = check_keymap(self._keymap_overrides, known)[1]
        if problems:
            where = self.settings.data_dir / "keys.toml"
            self.notify("\n".join(problems), title=f"{where}", severity="warning", timeout=20)

    async def _settle(self, service: CallService) -> None:
        """Load the SDK in a thread now, then tune the GC and malloc for a long-running UI.

        The first call would otherwise wait for the SDK (about a second). And the cyclic
        garbage collector's full passes walk every object alive: with Textual, Rich and the
        SDK loaded they stalled streaming by ~100 ms each. Freezing the start-up heap takes
        those objects out of every later pass; a larger young generation makes them rare.
        """
        with contextlib.suppress(Exception):  # the first call reports it, in its own words
            await service.ensure_client()
        gc.freeze()
        gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
        gc.enable()  # `run_tui` turns it off for the start-up
        # Each call's request is the whole conversation: its large blocks must not stay.
        from promptcache_tui.ui.heap import fix_mmap_threshold

        fix_mmap_threshold()

    def _make_service(self, store: Store, catalog: Catalog) -> CallService:
        from promptcache_tui.calls.service import CallService

        return CallService(
            self.settings, store, catalog, clock=self.services.clock, sim_rate=self.sim_rate
        )

    def on_backend_ready(self, message: BackendReady) -> None:
        services = self.services
        services.store, services.catalog, services.service = (
            message.store,
            message.catalog,
            message.service,
        )
        services.ready = True
        self.main.load_contexts()

    async def on_backend_failed(self, message: BackendFailed) -> None:
        gc.enable()  # no `_settle` to do it (see `run_tui`)
        self.services.failed = message.error
        self.notify(message.error, title="Cannot start", severity="error", timeout=30)
        await self.main.backend_failed(message.error)

    # -- leaving while calls are in flight ----------------------------------------------

    def calls_in_flight(self) -> list[Worker[object]]:
        """The workers sending a call (a chat answer, a warm-up, a keep-warm ping)."""
        return [w for w in self.workers if w.group in CALL_GROUPS and not w.is_finished]

    async def action_quit(self) -> None:
        """Quit; while an answer streams, ask first (the call is then logged interrupted)."""
        if not self.calls_in_flight():
            self.exit()
            return
        from promptcache_tui.ui.screens.confirm import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self.stop_calls_and_exit("quit", 0)

        self.push_screen(
            ConfirmDialog(
                "Quit while a call is in flight?",
                "The answer has not finished. Quitting stops it; the call is logged as "
                "interrupted, with the usage reported so far.",
                yes="Quit",
            ),
            answered,
        )

    @work(exclusive=True, group="shutdown", exit_on_error=False)
    async def stop_calls_and_exit(self, reason: str, return_code: int) -> None:
        """Cancel the calls in flight, wait until each is settled, then exit."""
        workers = self.calls_in_flight()
        self.interrupted_calls = len(workers)
        if self.services.service is not None:
            self.services.service.interrupt_reason = reason
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.wait()
        if return_code == 128 + HANGUP:
            # The terminal is gone: Textual's shutdown would write to it, and can block
            # forever on its output queue. Close what this app opened, then leave.
            await self._close_backend()
            os._exit(return_code)
        self.exit(return_code=return_code)

    def _catch_signals(self) -> None:
        """SIGTERM, SIGHUP (the terminal closed) and SIGINT end the app cleanly: calls in
        flight are settled as interrupted, and the exit code is 128 + the signal."""
        loop = asyncio.get_running_loop()
        for sig in EXIT_SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread (tests), or not supported here
            self._signals.append(sig)

    def _on_signal(self, signum: int) -> None:
        if self.signalled is None:
            self.signalled = signum
            self.stop_calls_and_exit(signal.Signals(signum).name, 128 + signum)

    async def on_unmount(self) -> None:
        """Stop the simulator and close the store (only what this app opened)."""
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await self._close_backend()

    async def _close_backend(self) -> None:
        """Stop the simulator and close the store, once (only what this app opened)."""
        if self.services.service is not None and self._owns_service:
            self._owns_service = False
            await self.services.service.close()
        if self.services.store is not None and self._owns_store:
            self._owns_store = False
            await self.services.store.close()

    # -- keys typed before the first frame ------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        # Characters and Enter typed while nothing has the focus yet (the app is starting) are
        # kept for the chat input; everything else (ctrl+q...) goes through as usual.
        if (
            self._early_keys is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
            and self.focused is None
            and (event.is_printable or event.key in SUBMIT_KEYS)
        ):
            self._early_keys.append(event)
            return
        await super().on_event(event)

    def on_prompt_input_focused(self, message: PromptInput.Focused) -> None:
        keys, self._early_keys = self._early_keys or [], None
        if keys:
            message.control.take_keys(keys)

    # -- screens, notices, themes ---------------------------------------------------------

    def _settle_cursor(self, screen: Screen[object]) -> None:
        """Turn cursor blinking off in a screen's text fields when asked (tests, snapshots)."""
        if not self.services.cursor_blink:
            for widget in screen.query("Input, TextArea"):
                widget.cursor_blink = False  # type: ignore[attr-defined]

    def _screen_changed(self, screen: Screen[object]) -> None:
        # A notice belongs to the screen it was raised on: it does not follow the user to
        # another (and so never covers a dialog opened after it).
        keep = [
            n for n in self._notifications if self._notice_screens.get(n.identity) == id(screen)
        ]
        if len(keep) != len(list(self._notifications)):
            self.clear_notifications()
            for notification in keep:
                self.post_message(Notify(notification))
        self.call_after_refresh(self._settle_cursor, screen)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notice on the current screen: plain text, never markup, with outside text in it
        (errors, names, what users typed) made visible and redacted."""
        notification = Notification(
            terminal_safe(redact(str(message))),
            safe_message(title),
            severity,
            self.NOTIFICATION_TIMEOUT if timeout is None else timeout,
            markup=False,
        )
        with contextlib.suppress(Exception):  # no screen yet: it shows wherever it can
            self._notice_screens[notification.identity] = id(self.screen)
        self.post_message(Notify(notification))

    def _theme_changed(self, _theme: object) -> None:
        self.save_theme(self.theme)

    @work(group="preferences", exclusive=True, exit_on_error=False)
    async def save_theme(self, name: str) -> None:
        """Remember the chosen theme in the data dir (a failure is a notice, not a crash)."""
        from promptcache_tui.ui.preferences import save_theme

        try:
            await asyncio.to_thread(save_theme, self.settings.data_dir, name)
        except OSError as exc:
            self.notify(one_line(exc), title="Cannot save the theme", severity="warning")

    # -- app-wide actions ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's commands, with a screenshot that lands in the data dir and says where."""
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        yield SystemCommand(
            "Screenshot",
            "Save an SVG picture of this screen in the data dir (the notice says where)",
            lambda: self.set_timer(0.1, self.action_screenshot),
        )

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen in the data dir's `screenshots` folder, and say where."""
        from promptcache_tui.ui.preferences import save_screenshot

        try:
            saved = save_screenshot(
                self.export_screenshot(), self.settings.data_dir, filename, self.services.wall_now()
            )
        except OSError as exc:
            self.notify(one_line(exc), title="Cannot save the screenshot", severity="error")
            return
        self.notify(f"Saved {saved}", title="Screenshot", timeout=10)

    def action_help(self) -> None:
        """Every key of the current screen, with its binding id."""
        from promptcache_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_history(self) -> None:
        """Open the call history."""
        from promptcache_tui.ui.screens.history import HistoryScreen

        self.push_screen(HistoryScreen(db_path=self.settings.db_path, clock=self.services.wall_now))

    def action_create_demo(self) -> None:
        """Create the demo context (welcome screen)."""
        self.main.action_create_demo()

    def action_new_context(self) -> None:
        """Open the context editor for a new context."""
        self.main.action_new_context()
