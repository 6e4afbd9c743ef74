"""An answer in the chat: Markdown, streamed into place in bounded parts.

Two costs grow with an answer if nothing bounds them. Textual's MarkdownStream re-parses the
last Markdown block on every update, so an answer that is one long list re-parses all of it
per token (a 4,000-token list did not finish streaming in 200 s). And the Markdown widget
mounts several widgets per paragraph or list item, which every frame then lays out again:
streaming 4,000 tokens at 200 tok/s stalled the event loop 100-400 ms at p99.

So an answer is a column of parts, each one showing Rich's Markdown rendering of at
most about `PART_CHARS` characters: once a part is that long, the stream starts a new part at
the next block boundary (a blank line, a list item or a heading, never inside a code fence).
Only the last part is re-rendered, at most every `REFRESH_S`. Measured on the same stream:
p99 9 ms, worst 37 ms, and the stream keeps up with the tokens.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.timer import Timer

PART_CHARS = 600
REFRESH_S = 0.1
# A new block starts after a newline with a blank line, a list item or a heading.
_BOUNDARY = re.compile(r"\n(?=\n|[-*+] |\d{1,9}[.)] |#{1,6} )")
_FENCE = "```"


def split_at(part: str, fragment: str, min_chars: int = PART_CHARS) -> int | None:
    """Where in `fragment` a new part should begin, or None to keep writing this one.

    `part` is the current part's text so far. The boundary may straddle the two (a newline at
    the end of `part`), in which case the new part begins at 0.
    """
    if len(part) < min_chars or part.count(_FENCE) % 2:
        return None
    tail = part[-1:]
    for match in _BOUNDARY.finditer(tail + fragment):
        start = match.end() - len(tail)  # the first character of the new block
        if start >= 0 and (tail + fragment)[: match.start()].count(_FENCE) % 2 == 0:
            return start
    return None


def chunk_markdown(text: str, min_chars: int = PART_CHARS) -> list[str]:
    """Split a whole answer into parts the way streaming would."""
    parts = [""]
    for line in text.splitlines(keepends=True):
        cut = split_at(parts[-1], line, min_chars)
        if cut is None:
            parts[-1] += line
        else:
            parts[-1] += line[:cut]
            parts.append(line[cut:])
    return [p for p in parts if p] or [""]


class AnswerPart(Widget):
    """One bounded part of an answer: its Markdown rendered once per text and width."""

    DEFAULT_CSS = """
    AnswerPart {
        height: auto;
        margin: 0;
        padding: 0;
    }
    """

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text
        self._lines: tuple[int, str, list[Strip]] | None = None  # (width, text, lines)

    def show(self, text: str) -> None:
        """Show `text` (the part so far) as Markdown."""
        self.text = text
        self.refresh(layout=True)

    def _rendered(self, width: int) -> list[Strip]:
        # Layout asks for the height and every repaint for lines: both read this cache, so
        # the Markdown is parsed and wrapped once per change, not once per frame.
        if self._lines is None or self._lines[:2] != (width, self.text):
            console = self.app.console
            lines = console.render_lines(Markdown(self.text, hyperlinks=False),
                                         console.options.update_width(max(width, 1)),
                                         style=self.rich_style, pad=False)
            self._lines = (width, self.text, [Strip(line) for line in lines])
        return self._lines[2]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As many rows as the rendered Markdown has at this width."""
        return len(self._rendered(width)) if self.text else 0

    def render_line(self, y: int) -> Strip:
        """One row of the rendered Markdown."""
        width = self.size.width
        lines = self._rendered(width) if self.text else []
        return lines[y].crop_extend(0, width, self.rich_style) if y < len(lines) \
            else Strip.blank(width, self.rich_style)


class AnswerTurn(Vertical):
    """An answer; `-streaming` while text is still arriving."""

    DEFAULT_CSS = """
    AnswerTurn {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: thick $secondary;
    }
    AnswerTurn.-streaming {
        border-left: thick $warning;
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._text = text

    def compose(self) -> ComposeResult:
        for part in chunk_markdown(self._text):
            yield AnswerPart(part)


class AnswerStream:
    """Writes streamed text into an AnswerTurn, one bounded part at a time."""

    def __init__(self, turn: AnswerTurn) -> None:
        self._turn = turn
        self._text = ""  # the current part's text so far
        self._part: AnswerPart | None = None
        self._shown = 0.0  # when the current part was last rendered
        self._timer: Timer | None = None

    async def _current(self) -> AnswerPart:
        if self._part is None:
            parts = list(self._turn.query(AnswerPart))
            if parts and not parts[-1].text:
                self._part = parts[-1]
            else:
                self._part = AnswerPart()
                await self._turn.mount(self._part)
        return self._part

    def _render(self) -> None:
        self._timer = None
        if self._part is not None and self._part.text != self._text:
            self._part.show(self._text)
        self._shown = time.monotonic()

    async def write(self, fragment: str) -> None:
        """Add streamed text, starting a new part at a block boundary when this one is long."""
        part = await self._current()
        cut = split_at(self._text, fragment)
        if cut is not None:
            self._text += fragment[:cut]
            self._render()  # the finished part, complete
            self._text, fragment = "", fragment[cut:]
            self._part = None
            part = await self._current()
        self._text += fragment
        if time.monotonic() - self._shown >= REFRESH_S:
            self._render()
        elif self._timer is None:
            # Show the tail even if no more text comes for a while.
            self._timer = part.set_timer(REFRESH_S, self._render)

    async def stop(self) -> None:
        """Show everything: the answer is complete (or cut short)."""
        if self._timer is not None:
            self._timer.stop()
        self._render()
