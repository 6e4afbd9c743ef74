"""Snapshots of every screen and dialog of the app, at 80x24, 120x36 and a wide size.

Frozen clock, no cursor blink, local time in UTC. The scenes are in `scenes.py` (the README's
screenshots run the same ones). Update after a deliberate UI change:
`pytest tests/ui/test_snapshots.py --snapshot-update`, then look at the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from promptcache_tui.config import Settings

from .scenes import SCENES

pytestmark = pytest.mark.usefixtures("utc")

CASES = [
    pytest.param(name, size, id=f"{name}-{size[0]}x{size[1]}")
    for name, scene in SCENES.items()
    for size in scene.sizes
]


@pytest.mark.parametrize(("name", "size"), CASES)
def test_snapshot(
    snap_compare: Callable[..., bool], settings: Settings, name: str, size: tuple[int, int]
) -> None:
    app, run_before = asyncio.run(SCENES[name].prepare(settings))
    assert snap_compare(app, run_before=run_before, terminal_size=size)
