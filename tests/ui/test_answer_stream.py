"""Streaming answers in bounded Markdown parts: same text, no giant block to re-parse."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from rich.console import Console
from rich.style import Style
from textual.app import App, ComposeResult

from promptcache_tui.ui.widgets import answer_turn
from promptcache_tui.ui.widgets.answer_turn import (
    REFRESH_S,
    AnswerPart,
    AnswerStream,
    AnswerTurn,
    chunk_markdown,
    render_answer,
    render_markdown,
    split_point,
)

LIST = "".join(f"- item {i}: the Rabbit hurried past the hedge again\n" for i in range(200))


def test_short_parts_are_never_split() -> None:
    assert split_point("short\n- next") is None


def test_split_at_a_list_item_heading_or_blank_line() -> None:
    long = "x" * 700
    assert split_point(long + "end.\n- next item") == len(long + "end.\n")
    assert split_point(long + "end.\n\nNew paragraph") == len(long + "end.\n")
    assert split_point(long + "\n12. twelfth") == len(long) + 1
    assert split_point(long + "\n## Heading") == len(long) + 1
    assert split_point(long + "a soft\nline break") is None


def test_a_boundary_waits_for_the_text_that_proves_it() -> None:
    long = "x" * 700
    assert split_point(long + "\n-") is None  # could still be "-3 degrees"
    searched = len(long + "\n-") - 12
    assert split_point(long + "\n- item", searched) == len(long) + 1


def test_never_split_inside_a_code_fence() -> None:
    fenced = "```python\n" + "x = 1\n" * 300
    assert split_point(fenced + "\n- not a list item") is None
    closed = fenced + "```\n"
    assert split_point(closed + "- a list item") == len(closed)


def test_chunking_keeps_every_character() -> None:
    parts = chunk_markdown(LIST)
    assert "".join(parts) == LIST
    assert len(parts) > 5 and all(len(p) < 800 for p in parts)
    assert all(p.startswith("- ") for p in parts)


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield AnswerTurn(classes="-streaming")


async def stream_in(fragments: list[str]) -> list[tuple[str, bool]]:
    """Stream `fragments` into an answer; return each part shown: its text, its gap above."""
    app = Host()
    async with app.run_test() as pilot:
        stream = AnswerStream(app.query_one(AnswerTurn))
        for fragment in fragments:
            await stream.write(fragment)
        await stream.stop()
        await pilot.pause()
        return [(part.text, part.gap) for part in app.query(AnswerPart)]


async def test_a_long_streamed_list_lands_in_several_parts() -> None:
    parts = await stream_in([word + " " for word in LIST.split(" ")])
    assert len(parts) > 5
    assert "".join(text for text, _ in parts).split() == LIST.split()
    assert not any(gap for _, gap in parts)  # one list: no blank rows between its parts


async def test_parts_split_where_tokens_cut_a_list_marker_in_two() -> None:
    # Tokens as a model streams them: "\n-" ends one, " item" starts the next.
    fragments = [
        piece for line in LIST.splitlines(keepends=True) for piece in (line[:1], line[1:-1], "\n")
    ]
    fragments = [f for f in fragments if f]
    parts = [text for text, _ in await stream_in(fragments)]
    assert "".join(parts) == LIST
    assert len(parts) > 5 and all(len(p) < 800 for p in parts)
    assert parts == chunk_markdown(LIST)


async def test_streamed_paragraphs_keep_their_blank_rows() -> None:
    text = SAMPLES["paragraphs"]
    parts = await stream_in([text[i : i + 7] for i in range(0, len(text), 7)])
    assert "".join(t for t, _ in parts) == text
    assert [gap for _, gap in parts] == [False] + [True] * (len(parts) - 1)


SAMPLES = {
    "a long list": LIST,
    "paragraphs": "".join(f"Paragraph {i} " + "words " * 30 + "\n\n" for i in range(20)),
    "headings, lists, numbers and code": "".join(
        f"## Heading {i}\n\nSome text "
        + "lorem " * 40
        + "\n\n- a point\n- another point "
        + "x " * 30
        + "\n1. first\n2. second\n\n```python\nprint(1)\n\nprint(2)\n```\n\n"
        for i in range(8)
    ),
    "a paragraph, then a list without a blank line": "".join(
        "Intro " + "w " * 120 + "\n\n- one\n- two " + "y " * 60 + "\n" for _ in range(8)
    ),
    "list items carried on lazily": "".join(
        "- item " + "z " * 40 + "\nlazy line " + "v " * 60 + "\n" for _ in range(12)
    ),
}


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize(
    "style", [Style(), Style(color="white", bgcolor="#1e1e1e")], ids=["plain", "on a background"]
)
def test_parts_render_exactly_like_the_whole_answer(name: str, style: Style) -> None:
    console = Console(width=60, color_system="truecolor")
    text = SAMPLES[name]
    assert len(chunk_markdown(text)) > 3
    whole = render_markdown(console, text, 60, style)
    assert render_answer(console, text, 60, style) == whole


class StoredHost(App[None]):
    def compose(self) -> ComposeResult:
        yield AnswerTurn(SAMPLES["headings, lists, numbers and code"])


async def test_a_stored_answer_is_one_widget_showing_every_row() -> None:
    app = StoredHost()
    async with app.run_test(size=(64, 30)) as pilot:
        await pilot.pause()
        [part] = app.query(AnswerPart)
        expected = render_answer(app.console, part.text, part.size.width, part.rich_style)
        assert part.size.height == len(expected) > 100
        assert [part.render_line(y) for y in range(len(expected))] == expected


class VirtualTime:
    """The renderer's clock, moved by the test: its sleeps end when the test advances it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._waiters: list[asyncio.Event] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        until = self.now + seconds
        while self.now < until:
            woken = asyncio.Event()
            self._waiters.append(woken)
            await woken.wait()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        waiters, self._waiters = self._waiters, []
        for woken in waiters:
            woken.set()


class VirtualAsyncio:
    """`asyncio` as answer_turn sees it, its clock and sleep virtual (the rest is asyncio)."""

    def __init__(self, clock: VirtualTime) -> None:
        self._clock = clock

    def __getattr__(self, name: str) -> object:
        return getattr(asyncio, name)

    def get_running_loop(self) -> VirtualTime:
        return self._clock

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)


async def test_the_growing_part_is_rendered_about_ten_times_a_second_not_per_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = VirtualTime()
    renders: list[tuple[float, str]] = []  # (the renderer's time, the text it showed)
    show_rendered = AnswerPart.show_rendered

    def counted(part: AnswerPart, text: str, width: int, lines: list) -> None:  # type: ignore[type-arg]
        renders.append((clock.now, text))
        show_rendered(part, text, width, lines)

    monkeypatch.setattr(AnswerPart, "show_rendered", counted)
    monkeypatch.setattr(answer_turn, "asyncio", VirtualAsyncio(clock))
    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        stream = AnswerStream(app.query_one(AnswerTurn))
        words = ("The Rabbit hurried past " * 40).split(" ")  # one part: no block boundary
        for word in words:  # 2 ms apart on the renderer's clock: 500 tokens a second
            await stream.write(word + " ")
            clock.advance(0.002)
            await pilot.pause()  # the renderer gets its turn after every token
        elapsed = clock.now
        stopping = asyncio.create_task(stream.stop())
        await pilot.pause()
        clock.advance(REFRESH_S)  # a renderer waiting out its interval sees the stop
        await stopping
    # The live part is rendered at most once per REFRESH_S of the renderer's clock, plus
    # the first render and the last one (the answer complete): not once per token.
    live = [at for at, _ in renders[:-1]]
    assert all(b - a >= REFRESH_S - 1e-9 for a, b in itertools.pairwise(live)), live
    assert 2 <= len(renders) <= elapsed / REFRESH_S + 2 < len(words) / 4
    assert renders[-1][1].split() == " ".join(words).split()
