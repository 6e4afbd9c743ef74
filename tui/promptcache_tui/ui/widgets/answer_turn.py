"""An answer in the chat: Markdown, streamed into place in bounded parts.

Textual's MarkdownStream re-parses the last Markdown block on every update. A long answer that
is one block (a 150-item list, say) makes each update cost as much as the whole answer so far:
quadratic, with stalls of seconds. So an answer is a column of Markdown parts: once a part is
past `PART_CHARS`, the stream starts a new part at the next block boundary (a blank line or a
list item, never inside a code fence), and each update re-parses one bounded part.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Markdown

if TYPE_CHECKING:
    from textual.widgets.markdown import MarkdownStream

PART_CHARS = 600
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


class AnswerPart(Markdown):
    """One bounded part of an answer."""

    DEFAULT_CSS = """
    AnswerPart {
        margin: 0;
        padding: 0;
    }
    """


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
    """Writes streamed text into an AnswerTurn, one bounded Markdown part at a time."""

    def __init__(self, turn: AnswerTurn) -> None:
        self._turn = turn
        self._part_text = ""
        self._stream: MarkdownStream | None = None

    async def _open(self) -> MarkdownStream:
        parts = list(self._turn.query(AnswerPart))
        if parts and not self._part_text and not parts[-1].source:
            part = parts[-1]
        else:
            part = AnswerPart()
            await self._turn.mount(part)
        self._stream = Markdown.get_stream(part)
        return self._stream

    async def write(self, fragment: str) -> None:
        """Add streamed text, starting a new part at a block boundary when this one is long."""
        stream = self._stream or await self._open()
        cut = split_at(self._part_text, fragment)
        if cut is not None:
            head, fragment = fragment[:cut], fragment[cut:]
            if head:
                await stream.write(head)
            await stream.stop()
            self._part_text = ""
            stream = await self._open()
        self._part_text += fragment
        if fragment:
            await stream.write(fragment)

    async def stop(self) -> None:
        """Flush what is pending: the answer is complete (or cut short)."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
