"""Snapshots of the main screens (frozen clock, no cursor blink, local time in UTC).

Update them after a deliberate UI change: `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from promptcache_tui.config import Settings

from .harness import SIZE, FakeClock, make_app, seed_demo
from .scenes import (
    conversation_app,
    show_conversation,
    show_editor,
    show_keep_warm,
    show_planner,
    show_welcome,
    welcome_app,
)

pytestmark = pytest.mark.usefixtures("utc")


def test_welcome(snap_compare: Callable[..., bool], settings: Settings) -> None:
    assert snap_compare(welcome_app(settings), run_before=show_welcome, terminal_size=SIZE)


def test_main_mid_conversation(snap_compare: Callable[..., bool], settings: Settings) -> None:
    app, clock = asyncio.run(conversation_app(settings))

    async def run_before(pilot: Any) -> None:
        await show_conversation(pilot, clock)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_main_keep_warm_ping(snap_compare: Callable[..., bool], settings: Settings) -> None:
    app, clock = asyncio.run(conversation_app(settings))

    async def run_before(pilot: Any) -> None:
        await show_keep_warm(pilot, clock)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_ttl_planner(snap_compare: Callable[..., bool], settings: Settings) -> None:
    app, clock = asyncio.run(conversation_app(settings))

    async def run_before(pilot: Any) -> None:
        await show_planner(pilot, clock)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_context_editor(snap_compare: Callable[..., bool], settings: Settings) -> None:
    asyncio.run(seed_demo(settings))
    app = make_app(settings, FakeClock())
    assert snap_compare(app, run_before=show_editor, terminal_size=SIZE)
