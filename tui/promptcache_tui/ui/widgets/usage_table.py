"""The usage panel's table of calls: fixed-width rows, each rendered once and drawn from cache.

A DataTable renders every visible cell again after any change to its rows (its caches are
keyed by a change counter). Every logged call changes the rows, so each answer, warm call or
keep-warm ping froze the UI for about 50 ms while 35 rows of 11 cells were re-rendered. Here a
row is rendered once per content; putting a new call on top only renders the new row.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from promptcache_tui.ui.widgets.steady import SteadyGeometry

Cells = Sequence[Text]
PAD = 1  # a space on each side of every cell, as DataTable draws them


def _cells_key(cells: Cells) -> tuple[tuple[str, str, str], ...]:
    return tuple((cell.plain, str(cell.style), str(cell.justify)) for cell in cells)


class CallsTable(SteadyGeometry, ScrollView, can_focus=True):
    """Rows of fixed-width cells under a header that stays put; one row has the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "calls-table--header",
        "calls-table--cursor",
        "calls-table--even-row",
    }
    DEFAULT_CSS = """
    CallsTable {
        background: $surface;
    }
    CallsTable > .calls-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    CallsTable > .calls-table--even-row {
        background: $primary 10%;
    }
    CallsTable > .calls-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    CallsTable:focus > .calls-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=False)

    @dataclass
    class RowHighlighted(Message):
        """The cursor moved to another row."""

        table: CallsTable
        cursor_row: int

        @property
        def control(self) -> CallsTable:
            """The table."""
            return self.table

    def __init__(
        self,
        columns: Sequence[tuple[str, int]],
        *,
        right: Container[int] = (),
        id: str | None = None,
    ) -> None:
        """`columns` are (label, width); the columns numbered in `right` align right."""
        super().__init__(id=id)
        self._widths = [width for _, width in columns]
        self._header: Cells = [
            Text(label, justify="right" if i in right else "left")
            for i, (label, _) in enumerate(columns)
        ]
        self._rows: list[Cells] = []
        self._strips: dict[tuple[tuple[str, str, str], ...], Strip] = {}
        self._header_strip: Strip | None = None
        self._line_width = sum(width + 2 * PAD for width in self._widths)

    @property
    def row_count(self) -> int:
        """How many rows the table has."""
        return len(self._rows)

    def set_rows(self, rows: Sequence[Cells]) -> None:
        """Show these rows (top first); rows seen before are drawn from cache."""
        self._rows = list(rows)
        # Only rows within a screen of the view keep their strips: a drawn row also holds
        # the styled copies Textual derives from it (stripe, cursor), and every logged call
        # kept ~13 strips alive until the table held its 200 rows.
        top, height = self.scroll_offset.y, max(self.size.height, 1)
        near = self._rows[max(0, top - height) : top + 2 * height]
        keep = {_cells_key(cells) for cells in near}
        self._strips = {key: strip for key, strip in self._strips.items() if key in keep}
        self.virtual_size = Size(self._line_width, len(self._rows) + 1)  # + the header
        self.cursor_row = min(self.cursor_row, max(len(self._rows) - 1, 0))
        self.refresh()

    # -- drawing -------------------------------------------------------------------------

    def _line(self, cells: Cells) -> Strip:
        segments: list[Segment] = []
        for cell, width in zip(cells, self._widths, strict=False):
            text = cell.copy()
            text.truncate(width, overflow="ellipsis")
            text.align("right" if cell.justify == "right" else "left", width)
            segments.append(Segment(" " * PAD))
            segments.extend(text.render(self.app.console))
            segments.append(Segment(" " * PAD))
        return Strip(segments, self._line_width)

    def _row_strip(self, cells: Cells) -> Strip:
        key = _cells_key(cells)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._line(cells)
        return strip

    def render_line(self, y: int) -> Strip:
        """The header on the first line, then the rows from the scroll position."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            if self._header_strip is None:
                self._header_strip = self._line(self._header)
            strip = self._header_strip
            style = base + self.get_component_rich_style("calls-table--header")
        else:
            index = scroll_y + y - 1
            if index >= len(self._rows):
                return Strip.blank(width, base)
            strip = self._row_strip(self._rows[index])
            style = base
            if index % 2:
                style += self.get_component_rich_style("calls-table--even-row")
            if index == self.cursor_row:
                style += self.get_component_rich_style("calls-table--cursor")
        return strip.crop_extend(scroll_x, scroll_x + width, None).apply_style(style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a new theme: cell colours may differ
        self._header_strip = None

    # -- the cursor ----------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self.refresh()
        self._keep_in_view(new)
        self.post_message(self.RowHighlighted(self, new))

    def _keep_in_view(self, index: int) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)  # minus the header
        if index < self.scroll_offset.y:
            self.scroll_to(y=index, animate=False)
        elif index >= self.scroll_offset.y + visible:
            self.scroll_to(y=index - visible + 1, animate=False)

    def _move_to(self, index: int) -> None:
        if self._rows:
            self.cursor_row = max(0, min(index, len(self._rows) - 1))

    def action_cursor(self, step: int) -> None:
        """Move the cursor up or down."""
        self._move_to(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        """Move the cursor a screenful."""
        self._move_to(self.cursor_row + direction * max(self.size.height - 2, 1))

    def action_first(self) -> None:
        """The newest call."""
        self._move_to(0)

    def action_last(self) -> None:
        """The oldest call shown."""
        self._move_to(len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        """A click on a row puts the cursor there."""
        if event.y >= 1:
            self._move_to(self.scroll_offset.y + event.y - 1)
