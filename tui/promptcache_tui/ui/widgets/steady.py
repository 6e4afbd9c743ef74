"""Scrolling widgets that sit still while other widgets lay out.

Textual 8's ScrollView (the base of DataTable and OptionList) compares the geometry a layout
pass hands it with its own content size, which never match. So every layout pass anywhere on
the screen repaints its scrollbars, and may send it a Resize (on which a DataTable renders all
its visible rows again). Both mixins override a private Textual method: pyproject.toml keeps
Textual below 9. While an answer streams the chat lays out about ten times a second: the
usage table's scrollbar joined every repaint, which widened it from the chat column to most of
the screen (stalls at p99 24-30 ms; 16-18 ms without).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.geometry import Size


class SteadyGeometry:
    """Mixin for a ScrollView: act on a layout pass only when this widget's geometry changed."""

    _steady_geometry: tuple[Size, Size, Size, Size] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # Own content size included: new rows still update the scrollbars as before.
        geometry = (size, virtual_size, container_size, self.virtual_size)  # type: ignore[attr-defined]
        if geometry == self._steady_geometry:
            return False
        self._steady_geometry = geometry
        changed: bool = super()._size_updated(  # type: ignore[misc]
            size, virtual_size, container_size, layout
        )
        return changed


class SingleLayoutPass:
    """Mixin: take a new size from a layout pass without asking for a second pass.

    Textual sets a resized widget's `virtual_size`, a reactive that requests layout, so each
    resize schedules another full layout (and a repaint of the widget) on the next frame
    though nothing moves. A streaming answer resizes its last part, the answer and the chat
    on every update: these passes were a third of all screen updates while streaming.
    Scrollbars still update, and a scrollbar that appears or goes still lays out again.
    """

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        changed: bool = super()._size_updated(  # type: ignore[misc]
            size, virtual_size, container_size, layout=False
        )
        return changed
