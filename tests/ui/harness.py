"""Driving the real app in tests: a settable clock, seeding, waiting, chatting, sim hooks."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from promptcache_tui.config import Settings
from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.context import Context
from promptcache_tui.store import Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.demo import demo_context

# 2026-11-26 10:00:00 UTC: a fixed instant for snapshots (shown in UTC: the `utc` fixture).
FROZEN_EPOCH = 1795687200.0
SIZE = (180, 46)


class FakeClock:
    """A clock a test sets and moves."""

    def __init__(self, start: float = FROZEN_EPOCH) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        """Jump forward."""
        self.value += seconds


def make_app(
    settings: Settings, clock: Callable[[], float] | None = None, **options: Any
) -> PromptCacheApp:
    """The real app, without cursor blink, its simulator unpaced (`options`: more arguments)."""
    return PromptCacheApp(settings, clock=clock, sim_rate=0, cursor_blink=False, **options)


async def seed(settings: Settings, *contexts: Context) -> list[Context]:
    """Store contexts before the app starts (the last one is the most recently used)."""
    # Each stamp a millisecond after the last: distinct last_used_at stamps, no waiting.
    stamps = itertools.count()
    start = wall_clock()
    async with await Store.open(
        settings.db_path, clock=lambda: start + next(stamps) / 1000
    ) as store:
        saved = [await store.contexts.add(ctx) for ctx in contexts]
        for ctx in saved:
            assert ctx.id is not None
            await store.contexts.touch(ctx.id)
    return saved


async def seed_demo(settings: Settings) -> Context:
    """The demo context, stored."""
    return (await seed(settings, demo_context()))[0]


async def wait_until(
    pilot: Pilot[Any],
    predicate: Callable[[], bool],
    *,
    timeout: float = 10.0,
    what: str = "condition",
) -> None:
    """Let the app run until `predicate()` holds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def wait_selected(pilot: Pilot[Any], name: str | None = None) -> None:
    """Wait for the backend and for a context (optionally this one) to be on screen."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    await wait_until(pilot, lambda: app.ready, what="the backend")
    await wait_until(
        pilot,
        lambda: (
            app.main.ctx is not None
            and (name is None or app.main.ctx.name == name)
            and not app.main.busy
        ),
        what=f"context {name or ''} selected",
    )
    await pilot.pause()


async def chat(pilot: Pilot[Any], prompt: str) -> None:
    """Put a prompt in the input, press Enter and wait for the answer to be logged."""
    app = pilot.app
    assert isinstance(app, PromptCacheApp)
    panel = app.main.query_one("UsagePanel")
    before = len(panel.records)  # type: ignore[attr-defined]
    prompt_input = app.main.query_one("#prompt", Input)
    prompt_input.focus()
    prompt_input.value = prompt  # typing it key by key is slow; Enter below is the real key
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: (
            len(panel.records) > before  # type: ignore[attr-defined]
            and not app.main.busy
        ),
        what="the call to be logged",
    )
    await pilot.pause()


def sim_hook(app: PromptCacheApp, path: str, body: dict[str, Any]) -> Any:
    """POST to one of the in-process simulator's /_sim/ hooks."""
    assert app.service is not None and app.service.base_url
    request = urllib.request.Request(
        app.service.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def run_hook(app: PromptCacheApp, path: str, body: dict[str, Any]) -> Any:
    """`sim_hook` off the event loop (the simulator serves from the same process)."""
    return await asyncio.to_thread(sim_hook, app, path, body)
