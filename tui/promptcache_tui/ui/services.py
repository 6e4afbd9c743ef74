"""What the app gives its screens: settings, clocks, the store, the catalog, the call service.

The one way a screen or part reaches them is `services(node)`, typed. The app owns one
`Services`; the store, catalog and call service are filled in after the first frame (see
`ui/app.py`), so they are None until `ready`. Screens import this module, never the app:
no import circle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from promptcache_tui.calls.service import CallService
    from promptcache_tui.core.catalog import Catalog
    from promptcache_tui.core.keepwarm import KeepWarmPolicy
    from promptcache_tui.store import Store

Clock = Callable[[], float]


class StillStarting(RuntimeError):
    """A service was needed before the store opened."""

    def __init__(self) -> None:
        super().__init__("Still starting: the store is not open yet.")


@dataclass
class Services:
    """The app's settings and backend, shared by every screen."""

    settings: Settings
    clock: Clock | None = None  # injected (tests): wins over every other clock
    store: Store | None = None
    catalog: Catalog | None = None
    service: CallService | None = None
    keep_warm: KeepWarmPolicy | None = None  # None: the policy's defaults
    cursor_blink: bool = True
    ready: bool = False  # the store, catalog and call service are set
    failed: str | None = field(default=None)  # why the backend could not start

    # -- the clock -------------------------------------------------------------------------

    def now(self) -> float:
        """The app's clock: an injected one, else the call service's (offline: the simulator's,
        which its /_sim/advance hook moves), else the wall clock. May read SQLite: call it
        from a thread, or through `current_time()`."""
        if self.clock is not None:
            return self.clock()
        if self.service is not None:
            return self.service.now()
        return wall_clock()

    def wall_now(self) -> float:
        """Wall-clock time for display (an injected clock wins); never reads the simulator."""
        return self.clock() if self.clock is not None else wall_clock()

    async def current_time(self) -> float:
        """`now()` without blocking the event loop."""
        if self.clock is not None or self.service is None:
            return self.now()
        return await asyncio.to_thread(self.now)

    # -- what screens ask for --------------------------------------------------------------

    @property
    def default_model(self) -> str:
        """The session model (--model), else the project default."""
        return self.settings.model or DEFAULT_MODEL

    def model_for(self, context_model: str) -> str:
        """The model a context's calls use: the session's --model, else the context's own."""
        return self.settings.model or context_model

    def cache_id(self, model: str) -> str:
        """The id `model`'s cache lives under (an alias its model's), as far as the catalog
        knows; before it loads, the name as it is."""
        return self.catalog.cache_id(model) if self.catalog is not None else model

    def require_store(self) -> Store:
        """The open store (StillStarting before it is)."""
        if self.store is None:
            raise StillStarting()
        return self.store

    def require_service(self) -> CallService:
        """The call service (StillStarting before it exists)."""
        if self.service is None:
            raise StillStarting()
        return self.service

    def require_catalog(self) -> Catalog:
        """The model catalog (StillStarting before it is loaded)."""
        if self.catalog is None:
            raise StillStarting()
        return self.catalog


class HasServices(Protocol):
    """An app that owns `Services` (ours)."""

    services: Services


def services(node: DOMNode) -> Services:
    """The services of the app `node` runs in."""
    return cast("HasServices", node.app).services
