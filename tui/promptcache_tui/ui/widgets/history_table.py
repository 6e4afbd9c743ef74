"""The history's call table: one row per call, newest first, a page at a time.

A Line API widget rather than a DataTable: every row is one line of fixed-width cells, built
once and drawn as a handful of segments, so a new page paints in a few milliseconds (a
DataTable of the same rows took ~100 ms here, which a filter change felt). It never holds the
whole log: the screen adds pages as the cursor or the scroll position nears the last loaded
row, and the table asks for them with `NeedMore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from promptcache_tui.core.records import CallRecord
from promptcache_tui.ui.widgets.usage_panel import money, percent, tokens

# (title, width, right-aligned); the last column takes what is left (at least its width).
COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("time (UTC)", 19, False),
    ("context", 15, False),
    ("kind", 4, False),
    ("model", 18, False),
    ("status", 6, False),
    ("in", 6, True),
    ("5m w", 6, True),
    ("1h w", 6, True),
    ("read", 7, True),
    ("out", 6, True),
    ("cost", 9, True),
    ("saved", 9, True),
    ("hit", 4, True),
    ("miss reason / error", 20, False),
)
GAP = 1  # space between columns
# Ask for the next page this many rows before the end, so scrolling rarely waits.
PREFETCH_ROWS = 30


def call_cells(record: CallRecord) -> list[str]:
    """The cells of one call, as text."""
    usage = record.usage
    cost = record.cost
    failed = record.status != "ok"
    note = (record.error or "error") if failed else (record.cache_miss_reason or "")
    return [
        record.ts[:19].replace("T", " "),
        record.context or "-",
        record.kind,
        record.model,
        record.status,
        tokens(usage.input_tokens),
        tokens(usage.cache_creation_5m_tokens),
        tokens(usage.cache_creation_1h_tokens),
        tokens(usage.cache_read_input_tokens),
        tokens(usage.output_tokens),
        money(cost.cost_usd),
        money(cost.saved_usd),
        percent(usage.hit_rate),
        note,
    ]


def _fit(text: str, width: int, right: bool) -> str:
    """Pad or cut `text` to exactly `width` cells (a cut ends in an ellipsis)."""
    text = " ".join(text.split())  # one line, whatever the error message held
    size = cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - size)
    return pad + text if right else text + pad


@dataclass(frozen=True, slots=True)
class _Row:
    call_id: int
    prefix: str  # every cell but the last, fitted and joined, with the gap after them
    note: str  # the last cell, fitted at draw time to the width that is left
    failed: bool


class HistoryTable(ScrollView, can_focus=True):
    """Calls as fixed-width rows under a fixed header; a row cursor; posts `NeedMore`."""

    DEFAULT_CSS = """
    HistoryTable {
        height: 1fr;
        background: $surface;
    }
    HistoryTable > .history-table--header {
        text-style: bold;
        background: $panel;
    }
    HistoryTable > .history-table--odd {
        background: $surface-lighten-1;
    }
    HistoryTable > .history-table--error {
        color: $error;
    }
    HistoryTable > .history-table--cursor {
        background: $block-cursor-blurred-background;
    }
    HistoryTable:focus > .history-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "history-table--header",
        "history-table--odd",
        "history-table--error",
        "history-table--cursor",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Details", id="history.details"),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First call", show=False),
        Binding("end", "last", "Last loaded call", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, init=False)

    class NeedMore(Message):
        """The reader is near the last loaded row: load the next page, if there is one."""

    @dataclass
    class RowHighlighted(Message):
        """The cursor moved to a call."""

        call_id: int

    @dataclass
    class RowSelected(Message):
        """Enter (or a click on the cursor row) chose a call."""

        call_id: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.complete = True  # no more pages behind the last row
        self._rows: list[_Row] = []
        self._strips: dict[tuple[int, bool, bool, int], Strip] = {}
        self._widths = [width for _, width, _ in COLUMNS]

    # -- data ----------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows loaded."""
        return len(self._rows)

    @property
    def ids(self) -> list[int]:
        """The call ids of the loaded rows, top to bottom."""
        return [row.call_id for row in self._rows]

    def cells(self, row: int) -> list[str]:
        """The cell texts of a loaded row (trimmed), for tests and copying."""
        text, out, start = self._line(self._rows[row]), [], 1
        for width in self._widths:
            out.append(text[start : start + width].strip())
            start += width + GAP
        return out

    def _line(self, row: _Row) -> str:
        return row.prefix + _fit(row.note, self._widths[-1], False)

    def show(self, records: Sequence[CallRecord], *, append: bool, complete: bool) -> None:
        """Replace the rows (a new filter) or add a page below them."""
        if not append:
            self._rows = []
            self._strips.clear()
            self.set_reactive(HistoryTable.cursor_row, 0)
            self.scroll_to(0, 0, animate=False, immediate=True)
        gap = " " * GAP
        for record in records:
            cells = call_cells(record)
            prefix = " " + "".join(
                _fit(cell, width, right) + gap
                for cell, width, (_, _, right) in zip(
                    cells[:-1], self._widths[:-1], COLUMNS[:-1], strict=True
                )
            )
            self._rows.append(_Row(int(record.id or 0), prefix, cells[-1], record.status != "ok"))
        self.complete = complete
        self.virtual_size = Size(self._line_width(), len(self._rows) + 1)
        self.refresh()
        if not append and self._rows:
            self.post_message(self.RowHighlighted(self._rows[0].call_id))

    def selected_id(self) -> int | None:
        """The call under the cursor, if any."""
        if not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row].call_id

    def _line_width(self) -> int:
        return 1 + sum(self._widths) + GAP * (len(self._widths) - 1)

    # -- drawing -------------------------------------------------------------------------

    def _sync_widths(self) -> None:
        """Give the last column the width that is left (it changes with the scrollbar)."""
        fixed = 1 + sum(w for _, w, _ in COLUMNS[:-1]) + GAP * (len(COLUMNS) - 1)
        last = max(COLUMNS[-1][1], self.scrollable_content_region.width - fixed)
        if last != self._widths[-1]:
            self._widths[-1] = last
            self._strips.clear()
            self.virtual_size = Size(self._line_width(), len(self._rows) + 1)

    def on_resize(self) -> None:
        self._sync_widths()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            self._sync_widths()
            header = " " + (" " * GAP).join(
                _fit(title, w, right)
                for (title, _, right), w in zip(COLUMNS, self._widths, strict=True)
            )
            style = base + self.get_component_rich_style("history-table--header")
            strip = Strip([Segment(header, style)], cell_len(header))
            return strip.crop_extend(scroll_x, scroll_x + width, style)
        index = scroll_y + y - 1
        if index >= len(self._rows):
            return Strip.blank(width, base)
        is_cursor = index == self.cursor_row
        key = (index, is_cursor, is_cursor and self.has_focus, width)
        strip = self._strips.get(key)
        if strip is None:
            row = self._rows[index]
            style = base
            if index % 2:
                style += self.get_component_rich_style("history-table--odd")
            if row.failed:
                style += self.get_component_rich_style("history-table--error")
            if is_cursor:
                style += self.get_component_rich_style("history-table--cursor")
            text = self._line(row)
            strip = Strip([Segment(text, style)], cell_len(text))
            self._strips[key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._strips.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._strips.clear()
        self.refresh()

    # -- the cursor ----------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        for index in (old, new):
            for is_cursor, focused in ((False, False), (True, False), (True, True)):
                self._strips.pop((index, is_cursor, focused, self.size.width), None)
        self.refresh()
        self._keep_cursor_visible()
        if 0 <= new < len(self._rows):
            self.post_message(self.RowHighlighted(self._rows[new].call_id))
        self._check_near_end()

    def move_cursor(self, row: int) -> None:
        """Put the cursor on a loaded row (clamped)."""
        if self._rows:
            self.cursor_row = max(0, min(row, len(self._rows) - 1))

    def _keep_cursor_visible(self) -> None:
        visible = max(1, self.size.height - 1)  # the header takes a line
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        """Move the cursor up or down a row."""
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        """Move the cursor a screenful."""
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 2))

    def action_first(self) -> None:
        """The newest call."""
        self.move_cursor(0)

    def action_last(self) -> None:
        """The last loaded call (which asks for the next page)."""
        self.move_cursor(len(self._rows) - 1)

    def action_select(self) -> None:
        """Open the call under the cursor."""
        call_id = self.selected_id()
        if call_id is not None:
            self.post_message(self.RowSelected(call_id))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        index = int(self.scroll_y) + offset.y - 1
        if not 0 <= index < len(self._rows):
            return
        if index == self.cursor_row:
            self.action_select()  # a click on the highlighted row opens it
        else:
            self.cursor_row = index

    # -- more pages ----------------------------------------------------------------------

    def _check_near_end(self) -> None:
        if self.complete or not self._rows:
            return
        last_visible = int(self.scroll_y) + self.size.height - 1
        if max(self.cursor_row, last_visible) >= len(self._rows) - PREFETCH_ROWS:
            self.post_message(self.NeedMore())

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._check_near_end()
