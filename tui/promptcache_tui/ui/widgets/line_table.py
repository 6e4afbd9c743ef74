"""A table drawn with Textual's line API: fixed-width rows, each built once, under a header.

Both call tables (the usage panel's and the history's) are this: a DataTable renders every
visible cell again after any change to its rows, which froze the UI for ~50 ms per logged
call beside a streaming answer and ~100 ms per history page. Here a row is one line of text,
made once per content and drawn as a single segment; the cursor, stripes and error colour
are styles applied as it is drawn. The header scrolls sideways with the rows (left/right, or
shift+wheel) and stays put vertically; the last column takes the width that is left.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 1  # cells between columns (and before the first)
SIDEWAYS_STEP = 8  # cells a left/right key scrolls


class Column(Protocol):
    """What the table needs of a column (`core.call_columns.CallColumn` is one)."""

    @property
    def key(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def width(self) -> int: ...

    @property
    def right(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Row:
    """One row: who it is (`key`, e.g. a call id), its cell texts, and whether it failed."""

    key: Hashable
    cells: tuple[str, ...]
    failed: bool = False


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` on one line, padded or cut to exactly `width` cells (a cut ends in `…`)."""
    text = " ".join(text.split())
    size = cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - size)
    return pad + text if right else text + pad


class LineTable(ScrollView, can_focus=True):
    """Rows of fixed-width cells under a fixed header, with a row cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Last row", show=False),
        Binding("left", "sideways(-1)", "Scroll left", show=False),
        Binding("right", "sideways(1)", "Scroll right", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--odd",
        "line-table--error",
        "line-table--cursor",
    }
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
    }
    LineTable > .line-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    LineTable > .line-table--odd {
        background: $primary 10%;
    }
    LineTable > .line-table--error {
        color: $text-error;
    }
    LineTable > .line-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    LineTable:focus > .line-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    cursor_row: reactive[int] = reactive(0, init=False)

    @dataclass
    class RowHighlighted(Message):
        """The cursor moved to another row."""

        table: LineTable
        cursor_row: int
        key: Hashable

        @property
        def control(self) -> LineTable:
            """The table."""
            return self.table

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self._widths = [column.width for column in self.columns]
        self._rows: list[Row] = []
        self._strips: dict[tuple[tuple[str, ...], int], Strip] = {}
        self._header: Strip | None = None

    # -- rows ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """How many rows the table holds."""
        return len(self._rows)

    @property
    def keys(self) -> list[Hashable]:
        """The rows' keys, top to bottom."""
        return [row.key for row in self._rows]

    def row(self, index: int) -> Row:
        """The row at `index`."""
        return self._rows[index]

    def cells(self, index: int) -> dict[str, str]:
        """A row's cell texts by column key, as given (not cut to width)."""
        names = [column.key for column in self.columns]
        return dict(zip(names, self._rows[index].cells, strict=False))

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show these rows (top first); rows seen before are drawn from cache. The cursor
        stays on its index (clamped)."""
        self._rows = list(rows)
        # Only rows within a screen of the view keep their strips: a drawn row also holds
        # the styled copies Textual derives from it (stripe, cursor), and every logged call
        # kept ~13 strips alive until the table held its 200 rows.
        top, height = self.scroll_offset.y, max(self.size.height, 1)
        keep = {row.cells for row in self._rows[max(0, top - height) : top + 2 * height]}
        self._strips = {key: strip for key, strip in self._strips.items() if key[0] in keep}
        self._resized()
        self.set_reactive(LineTable.cursor_row, min(self.cursor_row, max(len(self._rows) - 1, 0)))
        self.refresh()

    def add_rows(self, rows: Sequence[Row]) -> None:
        """Add rows below the last one (the next page)."""
        self._rows.extend(rows)
        self._resized()
        self.refresh()

    def _resized(self) -> None:
        self.virtual_size = Size(self._line_width(), len(self._rows) + 1)  # + the header

    # -- widths ----------------------------------------------------------------------------

    def _line_width(self) -> int:
        return sum(self._widths) + GAP * len(self._widths)

    def _sync_widths(self) -> None:
        """Give the last column the width that is left (it changes with the scrollbar)."""
        fixed = sum(self._widths[:-1]) + GAP * len(self._widths)
        last = max(self.columns[-1].width, self.scrollable_content_region.width - fixed)
        if last != self._widths[-1]:
            self._widths[-1] = last
            self._strips.clear()
            self._header = None
            self._resized()

    def on_resize(self, event: events.Resize) -> None:
        self._sync_widths()

    # -- drawing ---------------------------------------------------------------------------

    def _line(self, cells: Sequence[str]) -> Strip:
        text = "".join(
            " " * GAP + fit(cell, width, column.right)
            for cell, width, column in zip(cells, self._widths, self.columns, strict=False)
        )
        return Strip([Segment(text)], cell_len(text))

    def _row_strip(self, row: Row) -> Strip:
        key = (row.cells, self._widths[-1])
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._line(row.cells)
        return strip

    def render_line(self, y: int) -> Strip:
        """The header on the first line, then the rows from the scroll position."""
        self._sync_widths()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            if self._header is None:
                self._header = self._line([column.title for column in self.columns])
            strip = self._header
            style = base + self.get_component_rich_style("line-table--header")
        else:
            index = scroll_y + y - 1
            if index >= len(self._rows):
                return Strip.blank(width, base)
            row = self._rows[index]
            strip = self._row_strip(row)
            style = base
            if index % 2:
                style += self.get_component_rich_style("line-table--odd")
            if row.failed:
                style += self.get_component_rich_style("line-table--error")
            if index == self.cursor_row:
                style += self.get_component_rich_style("line-table--cursor")
        return strip.crop_extend(scroll_x, scroll_x + width, None).apply_style(style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()  # a new theme: the styles applied as rows are drawn change

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh()

    # -- the cursor ------------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self.refresh()
        self._keep_in_view(new)
        if 0 <= new < len(self._rows):
            self.post_message(self.RowHighlighted(self, new, self._rows[new].key))

    def _keep_in_view(self, index: int) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)  # minus the header
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on a row (clamped)."""
        if self._rows:
            self.cursor_row = max(0, min(index, len(self._rows) - 1))

    def action_cursor(self, step: int) -> None:
        """Move the cursor up or down a row."""
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        """Move the cursor a screenful."""
        self.move_cursor(self.cursor_row + direction * max(self.size.height - 2, 1))

    def action_first(self) -> None:
        """The first row."""
        self.move_cursor(0)

    def action_last(self) -> None:
        """The last row."""
        self.move_cursor(len(self._rows) - 1)

    def action_sideways(self, direction: int) -> None:
        """Scroll the columns left or right."""
        self.scroll_to(x=self.scroll_x + direction * SIDEWAYS_STEP, animate=False)

    def row_at(self, event: events.Click) -> int | None:
        """The row index a click landed on (None: the header or below the rows)."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return None
        index = int(self.scroll_y) + offset.y - 1
        return index if 0 <= index < len(self._rows) else None

    def on_click(self, event: events.Click) -> None:
        """A click on a row puts the cursor there."""
        index = self.row_at(event)
        if index is not None:
            self.move_cursor(index)
