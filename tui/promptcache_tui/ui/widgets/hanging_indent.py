"""Lines that wrap with a hanging indent (a Textual Visual).

An OptionList wraps a long prompt to its width from the first column, so a long name in
the sidebar continued under its `● ` marker instead of under its own first letter. This
Visual renders each line of its content as Content would, except a line too long for the
width: that one is wrapped beside its first `indent` cells (the marker, or the indent the
line starts with), so its continuation lines start under its text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.strip import Strip
from textual.visual import Visual

if TYPE_CHECKING:
    from textual.content import Content
    from textual.css.styles import RulesMap
    from textual.style import Style
    from textual.visual import RenderOptions


class HangingIndent(Visual):
    """`content`, each of its lines wrapped under the text after its first `indent` cells."""

    def __init__(self, content: Content, indent: int = 2) -> None:
        self.content = content
        self.indent = indent

    def __str__(self) -> str:
        """The text as written, unwrapped (what the prompt's text was before it hung)."""
        return self.content.plain

    def _hangs(self, line: Content, rules: RulesMap, width: int) -> bool:
        """Whether `line` wraps at `width` (and there is room to indent what follows)."""
        return width > self.indent + 1 and line.get_height(rules, width) > 1

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_minimal_width(self, rules: RulesMap) -> int:
        return self.content.get_minimal_width(rules) + self.indent

    def get_height(self, rules: RulesMap, width: int) -> int:
        height = 0
        for line in self.content.split("\n"):
            if self._hangs(line, rules, width):
                height += line[self.indent :].get_height(rules, width - self.indent)
            else:
                height += line.get_height(rules, width)
        return height

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        """Each line as Content renders it; a wrapping one beside its lead cells."""
        rules = options.rules
        rich_style = style.rich_style
        strips: list[Strip] = []
        for line in self.content.split("\n"):
            if not self._hangs(line, rules, width):
                strips += line.render_strips(width, None, style, options)
                continue
            lead = line[: self.indent].render_strips(self.indent, 1, style, options)
            first = lead[0].extend_cell_length(self.indent, rich_style)
            gutter = Strip.blank(self.indent, rich_style)
            body = line[self.indent :].render_strips(width - self.indent, None, style, options)
            strips += [
                Strip.join([first if n == 0 else gutter, part]) for n, part in enumerate(body)
            ]
        return strips if height is None else strips[:height]
