"""The usage panel's table of calls (its own module: DataTable loads after the first frame)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from promptcache_tui.ui.widgets.steady import SteadyGeometry


class UsageTable(SteadyGeometry, DataTable[str | Text]):
    """Calls as rows; still while the chat beside it grows."""
