"""The history's call table: one row per call, newest first, a page at a time.

The shared line table (`line_table.py`): a new page paints in a few milliseconds. It never
holds the whole log: the screen adds pages as the cursor or the scroll position nears the
last loaded row, and the table asks for them with `NeedMore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, cast

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message

from promptcache_tui.core.call_columns import (
    HISTORY,
    HISTORY_WIDTHS,
    CallColumn,
    cells,
    columns,
)
from promptcache_tui.core.records import CallRecord
from promptcache_tui.ui.widgets.line_table import LineTable, Row

COLUMNS: tuple[CallColumn, ...] = columns(HISTORY, HISTORY_WIDTHS)
# Ask for the next page this many rows before the end, so scrolling rarely waits.
PREFETCH_ROWS = 30


def call_row(record: CallRecord) -> Row:
    """One call as a history row (its time in UTC: no clock needed)."""
    return Row(int(record.id or 0), tuple(cells(record, COLUMNS, 0.0)), record.status != "ok")


class HistoryTable(LineTable):
    """Calls under a fixed header; a row cursor; Enter opens one; posts `NeedMore`."""

    DEFAULT_CSS = """
    HistoryTable {
        height: 1fr;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Details", id="history.details"),
    ]

    class NeedMore(Message):
        """The reader is near the last loaded row: load the next page, if there is one."""

    @dataclass
    class RowSelected(Message):
        """Enter (or a click on the cursor row) chose a call."""

        call_id: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(COLUMNS, id=id)
        self.complete = True  # no more pages behind the last row

    @property
    def ids(self) -> list[int]:
        """The call ids of the loaded rows, top to bottom."""
        return [cast(int, key) for key in self.keys]

    def show(self, records: Sequence[CallRecord], *, append: bool, complete: bool) -> None:
        """Replace the rows (a new filter) or add a page below them."""
        rows = [call_row(record) for record in records]
        self.complete = complete
        if append:
            self.add_rows(rows)
            return
        self.set_reactive(LineTable.cursor_row, 0)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.set_rows(rows)

    def selected_id(self) -> int | None:
        """The call under the cursor, if any."""
        if not 0 <= self.cursor_row < self.row_count:
            return None
        return self.ids[self.cursor_row]

    def watch_cursor_row(self, old: int, new: int) -> None:
        super().watch_cursor_row(old, new)
        self._check_near_end()

    def action_select(self) -> None:
        """Open the call under the cursor."""
        call_id = self.selected_id()
        if call_id is not None:
            self.post_message(self.RowSelected(call_id))

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on a row; a click on the cursor row opens it."""
        event.prevent_default()  # not the base's handler as well
        index = self.row_at(event)
        if index is None:
            return
        if index == self.cursor_row:
            self.action_select()
        else:
            self.move_cursor(index)

    # -- more pages ----------------------------------------------------------------------

    def _check_near_end(self) -> None:
        if self.complete or not self.row_count:
            return
        last_visible = int(self.scroll_y) + self.size.height - 1
        if max(self.cursor_row, last_visible) >= self.row_count - PREFETCH_ROWS:
            self.post_message(self.NeedMore())

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._check_near_end()
