"""An answer in the chat: Markdown, streamed into place in bounded parts.

Two costs grow with an answer if nothing bounds them. Textual's MarkdownStream re-parses the
last Markdown block on every update, so an answer that is one long list re-parses all of it
per token (a 4,000-token list did not finish streaming in 200 s). And the Markdown widget
mounts several widgets per paragraph or list item, which every frame then lays out again:
streaming 4,000 tokens at 200 tok/s stalled the event loop 100-400 ms at p99.

So a streaming answer is a column of parts, each one showing Rich's Markdown rendering of
about `PART_CHARS` characters: once a part is that long, the stream starts a new part at the
next block boundary (a blank line, a list item or a heading, never inside a code fence). Only
the last part is re-rendered, at most every `REFRESH_S`, in a thread. Parts are joined with
the blank rows Rich would put between their blocks, so the answer looks as if rendered
whole; a finished answer is one widget rendered in the same parts. Measured on that stream
(benchmarks/RESULTS.md): p99 13 ms, worst 28-37 ms, and the stream keeps up with the tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import WorkerCancelled, WorkerFailed

from promptcache_tui.ui.textual_fixes import release_painted_rows
from promptcache_tui.ui.widgets.steady import SingleLayoutPass

if TYPE_CHECKING:
    from rich.console import Console
    from rich.style import Style
    from textual.worker import Worker

PART_CHARS = 600
REFRESH_S = 0.1
# A new block starts after a newline with a blank line, a list item or a heading.
_BOUNDARY = re.compile(r"\n(?=\n|[-*+] |\d{1,9}[.)] |#{1,6} )")
_LOOKAHEAD = 12  # the longest text after "\n" that _BOUNDARY reads: nine digits, ". "
_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)]) ")
_FENCE = "```"


def split_point(text: str, start: int = 0, min_chars: int = PART_CHARS) -> int | None:
    """Where in `text` (a part so far) a new part should begin, or None to keep writing it.

    A new part begins at a block boundary at least `min_chars` in, outside any code fence.
    `start` skips text already searched: a stream searches only its newest characters (and
    the few before them that a boundary may span: a token can end on "\n-" before " item").
    """
    if len(text) < min_chars:
        return None
    for match in _BOUNDARY.finditer(text, max(start, min_chars - 1)):
        if text.count(_FENCE, 0, match.start()) % 2 == 0:
            return match.end()
    return None


def chunk_markdown(text: str, min_chars: int = PART_CHARS) -> list[str]:
    """Split a whole answer into parts the way streaming would."""
    parts = []
    while (cut := split_point(text, 0, min_chars)) is not None:
        parts.append(text[:cut])
        text = text[cut:]
    parts.append(text)
    return parts


def continues_list(previous: str, text: str) -> bool:
    """Whether part `text` carries on the list that part `previous` ends in.

    Rich puts a blank row between blocks but none between the items of one list (blank lines
    between items included), so the parts of an answer are joined with a blank row unless
    this holds.
    """
    if not _LIST_ITEM.match(text.lstrip("\n")):
        return False
    lines = previous.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if _LIST_ITEM.match(line.lstrip()):
            return True
        if line.startswith((_FENCE, "#")):
            return False
        if not line.strip():
            after = lines[i + 1] if i + 1 < len(lines) else ""
            # Unindented text after a blank line is a paragraph of its own: the list ended.
            if after.strip() and not after[:1].isspace():
                return False
    return False


def _blank(row: Strip, style: Style) -> bool:
    # Spaces on the answer's own background: not the padding row of a code block.
    return all(
        not seg.text.strip() and (seg.style is None or seg.style.bgcolor in (None, style.bgcolor))
        for seg in row
    )


def render_markdown(
    console: Console, text: str, width: int, style: Style, gap: bool = False
) -> list[Strip]:
    """Rich's Markdown rendering of `text` as rows exactly `width` cells wide.

    Blank rows at either end are dropped (Rich opens a leading list with one); `gap` puts one
    blank row on top, between this part and the one before. Pure: it reads no widget, so the
    stream runs it in a thread.
    """
    width = max(width, 1)
    lines = console.render_lines(
        Markdown(text, hyperlinks=False),
        console.options.update_width(width),
        style=style,
        pad=False,
    )
    rows = [Strip(line).crop_extend(0, width, style) for line in lines]
    start, end = 0, len(rows)
    while start < end and _blank(rows[start], style):
        start += 1
    while end > start and _blank(rows[end - 1], style):
        end -= 1
    rows = rows[start:end]
    if gap and rows:
        rows.insert(0, Strip.blank(width, style))
    return rows


def render_answer(
    console: Console, text: str, width: int, style: Style, gap: bool = False
) -> list[Strip]:
    """Rows of Markdown that may span several parts: each rendered on its own, as streamed,
    and joined as Rich would join them (`gap` above the first)."""
    rows: list[Strip] = []
    previous = None
    for part in chunk_markdown(text):
        rows += render_markdown(
            console,
            part,
            width,
            style,
            gap if previous is None else not continues_list(previous, part),
        )
        previous = part
    return rows


def estimate_rows(text: str, width: int) -> int:
    """About how many rows `text` takes at `width`, before it is rendered."""
    width = max(width - 4, 1)  # list and quote indents
    return sum(len(line) // width + 1 for line in text.splitlines()) or 1


class BackgroundRenderer:
    """Renders stored answers in a thread, the part asked for last first.

    Opening a conversation 20 long answers deep rendered all their Markdown inside layout, on
    the event loop: two screen updates of ~285 ms (the chat's scrollbar appears, narrows the
    answers, and they render again). Parts given a renderer show an estimate until their rows
    come; a part asks again on every repaint, so the answers in view are rendered first.
    """

    def __init__(self, host: Widget) -> None:
        self._host = host
        self._wanted: dict[AnswerPart, int] = {}  # part -> width, the last asked at the end
        self._worker: Worker[None] | None = None

    def want(self, part: AnswerPart, width: int) -> None:
        """Render `part` at `width` soon."""
        self._wanted.pop(part, None)
        self._wanted[part] = width
        if self._worker is None or self._worker.is_finished:
            self._worker = self._host.run_worker(
                self._run(), group="answer-render-stored", exit_on_error=False
            )

    async def _run(self) -> None:
        while self._wanted:
            part, width = self._wanted.popitem()
            if not part.is_attached or part.rendered_at(width):
                continue  # the conversation was replaced, or asked again while rendering
            text = part.text
            rows = await asyncio.to_thread(
                render_answer, self._host.app.console, text, width, part.rich_style, part.gap
            )
            if part.text == text:
                part.show_rendered(text, width, rows)


class AnswerPart(SingleLayoutPass, Widget):
    """Answer text drawn from rows rendered once per text and width.

    A streamed answer grows in several parts, of which only the last changes; a finished
    answer is one part (fewer widgets for every layout pass), rendered in the same pieces.
    """

    DEFAULT_CSS = """
    AnswerPart {
        height: auto;
        margin: 0;
        padding: 0;
    }
    """

    def __init__(
        self, text: str = "", *, gap: bool = False, renderer: BackgroundRenderer | None = None
    ) -> None:
        super().__init__()
        self.text = text
        self.gap = gap  # a blank row above: this part starts a new block (see continues_list)
        self._lines: tuple[int, str, list[Strip]] | None = None  # (width, text, rows)
        self._renderer = renderer  # renders in a thread instead of in layout
        self._estimate: tuple[int, str, list[Strip]] | None = None

    def show(self, text: str) -> None:
        """Show `text` (the part so far) as Markdown, rendered at the next layout."""
        self.text = text
        self.refresh(layout=True)

    def rendered_at(self, width: int) -> bool:
        """Whether the rows of the current text at `width` are ready."""
        return self._lines is not None and self._lines[:2] == (width, self.text)

    def show_rendered(self, text: str, width: int, lines: list[Strip]) -> None:
        """Show `text` already rendered at `width` (by `render_answer`, off the event loop)."""
        grown = self._lines is None or len(self._lines[2]) != len(lines)
        self.text = text
        self._lines = (width, text, lines)
        # Most updates add words to the last row: a repaint of this part, not a layout pass.
        self.refresh(layout=grown)

    def _rendered(self, width: int) -> list[Strip]:
        # Layout asks for the height and every repaint for rows: both read this cache, so the
        # Markdown is parsed and wrapped once per change, not once per frame.
        if not self.text:
            return []
        lines = self._lines
        if lines is not None and self.rendered_at(width):
            return lines[2]
        if self._renderer is not None:
            # Asked again on every repaint while pending: parts in view go first.
            self._renderer.want(self, width)
            if lines is not None and lines[1] == self.text:
                return lines[2]  # the rows at the old width until the new ones come
            if self._estimate is None or self._estimate[:2] != (width, self.text):
                blank = Strip.blank(width, self.rich_style)
                self._estimate = (width, self.text, [blank] * estimate_rows(self.text, width))
            return self._estimate[2]
        self._lines = (
            width,
            self.text,
            render_answer(self.app.console, self.text, width, self.rich_style, self.gap),
        )
        return self._lines[2]

    def on_unmount(self) -> None:
        # A widget is part of reference cycles (its parent, its message queue...), so once
        # removed it waits for a full pass of the cyclic collector, and would keep its rows
        # (~150 strips for a long answer, with Textual's styled copies) alive until then.
        self._lines = self._estimate = None
        release_painted_rows(self)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As many rows as the rendered Markdown has at this width."""
        return len(self._rendered(width))

    def render_line(self, y: int) -> Strip:
        """One row of the rendered Markdown."""
        width = self.size.width
        lines = self._rendered(width)
        if y >= len(lines):
            return Strip.blank(width, self.rich_style)
        line = lines[y]
        return line if line.cell_length == width else line.crop_extend(0, width, self.rich_style)


class AnswerTurn(SingleLayoutPass, Vertical):
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

    def __init__(
        self,
        text: str = "",
        *,
        classes: str | None = None,
        renderer: BackgroundRenderer | None = None,
    ) -> None:
        super().__init__(classes=classes)
        self._text = text
        self._renderer = renderer

    def compose(self) -> ComposeResult:
        yield AnswerPart(self._text, renderer=self._renderer)

    def on_unmount(self) -> None:
        release_painted_rows(self)  # its border and padding: a row for each of the answer's


class AnswerStream:
    """Writes streamed text into an AnswerTurn, one bounded part at a time.

    The Markdown of a growing part is rendered in a thread, at most every `REFRESH_S`, and the
    finished rows are handed to the part: the event loop only lays out and paints.
    """

    def __init__(self, turn: AnswerTurn) -> None:
        self._turn = turn
        self._text = ""  # the current part's text so far
        self._part: AnswerPart | None = None
        self._wanted: dict[AnswerPart, str] = {}  # the newest text of each part not yet shown
        self._renderer: Worker[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._first = True  # no part written yet

    async def _current(self, gap: bool = False) -> AnswerPart:
        if self._part is None:
            # A turn starts with one empty part (AnswerTurn.compose): the stream fills it first.
            parts = list(self._turn.query(AnswerPart))
            if self._first and len(parts) == 1 and not parts[0].text:
                self._part = parts[0]
            else:
                self._part = AnswerPart(gap=gap)
                await self._turn.mount(self._part)
            self._first = False
        return self._part

    def _want(self, part: AnswerPart, text: str) -> None:
        self._wanted[part] = text
        self._wake.set()
        if self._renderer is None:
            self._renderer = self._turn.run_worker(
                self._render_loop(), group="answer-render", exit_on_error=False
            )

    async def _render_loop(self) -> None:
        """Render wanted parts in order, in a thread; the live part at most every `REFRESH_S`."""
        loop = asyncio.get_running_loop()
        shown = -REFRESH_S  # when the live part was last rendered
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._wanted:
                part = next(iter(self._wanted))
                wait = shown + REFRESH_S - loop.time()
                if part is self._part and not self._closing and wait > 0:
                    await asyncio.sleep(wait)  # text keeps arriving: the newest is rendered
                    continue
                text = self._wanted.pop(part)
                if part.text == text:
                    continue
                if part is self._part:
                    shown = loop.time()
                width = self._turn.content_size.width
                if width <= 0:  # not laid out yet: the part renders at its first layout
                    part.show(text)
                else:
                    lines = await asyncio.to_thread(
                        render_answer,
                        self._turn.app.console,
                        text,
                        width,
                        part.rich_style,
                        part.gap,
                    )
                    part.show_rendered(text, width, lines)
            if self._closing:
                return

    async def write(self, fragment: str) -> None:
        """Add streamed text, starting a new part at a block boundary when this one is long."""
        part = await self._current()
        searched = max(0, len(self._text) - _LOOKAHEAD)
        self._text += fragment
        while (cut := split_point(self._text, searched)) is not None:
            finished, self._text, searched = self._text[:cut], self._text[cut:], 0
            self._want(part, finished)
            self._part = None
            part = await self._current(gap=not continues_list(finished, self._text))
        self._want(part, self._text)

    async def stop(self) -> None:
        """Show everything: the answer is complete (or cut short)."""
        if self._part is not None:
            self._want(self._part, self._text)
        self._closing = True
        self._wake.set()
        if self._renderer is not None:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await self._renderer.wait()
        # Whatever the renderer could not show (it failed, or was cancelled) renders in place.
        for part, text in self._wanted.items():
            part.show(text)
        self._wanted.clear()
