"""The core, store, simulator and headless CLI must not import Textual (or the SDK early)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import promptcache_tui.core.advisor, promptcache_tui.core.overview, promptcache_tui.core.request
import promptcache_tui.core.ttl, promptcache_tui.core.cost, promptcache_tui.core.catalog
import promptcache_tui.core.keepwarm, promptcache_tui.core.formatting, promptcache_tui.core.timespan
import promptcache_tui.core.call_columns, promptcache_tui.core.settings
import promptcache_tui.store, promptcache_tui.export, promptcache_tui.config
# The store package loads its modules on first use: name them, so that they are checked.
import promptcache_tui.store.calls, promptcache_tui.store.database, promptcache_tui.store.imports
import promptcache_tui.store.observed, promptcache_tui.store.watch
import promptcache_tui.observe.statusline, promptcache_tui.observe.claude_settings
import promptcache_tui.cli.entry, promptcache_tui.cli.statusline_cmd
import promptcache_tui.cli.main
try:
    import promptcache_tui.sim.server, promptcache_tui.sim.engine
except ImportError:
    pass
import promptcache_tui.calls.service
bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'anthropic'})
print(','.join(bad))
"""


def test_headless_modules_import_neither_textual_nor_the_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
