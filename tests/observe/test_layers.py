"""Observe mode stays headless: no Textual, no Rich, no SDK in its import graph."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import promptcache_tui.observe.proxy, promptcache_tui.observe.recorder
import promptcache_tui.observe.server, promptcache_tui.observe.tap
import promptcache_tui.core.miss, promptcache_tui.core.observed, promptcache_tui.store.observed
bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'rich', 'anthropic'})
print(','.join(bad))
"""


def test_observe_imports_neither_textual_nor_rich_nor_the_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
