"""The usage panel's table of calls: the shared line table, sitting still beside the chat.

While an answer streams the chat lays out about ten times a second; `SteadyGeometry` keeps
those passes from repainting this table's scrollbars or resizing it (see `steady.py`).
"""

from __future__ import annotations

from promptcache_tui.ui.widgets.line_table import LineTable
from promptcache_tui.ui.widgets.steady import SteadyGeometry


class CallsTable(SteadyGeometry, LineTable):
    """Calls as fixed-width rows (newest first) under a header; one row has the cursor."""
