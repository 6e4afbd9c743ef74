"""Streaming answers in bounded Markdown parts: same text, no giant block to re-parse."""

from __future__ import annotations

from textual.app import App, ComposeResult

from promptcache_tui.ui.widgets.answer_turn import (
    AnswerPart,
    AnswerStream,
    AnswerTurn,
    chunk_markdown,
    split_at,
)

LIST = "".join(f"- item {i}: the Rabbit hurried past the hedge again\n" for i in range(200))


def test_short_parts_are_never_split() -> None:
    assert split_at("short", "\n- next") is None


def test_split_at_a_list_item_or_blank_line() -> None:
    long = "x" * 700
    assert split_at(long, "end.\n- next item") == len("end.\n")
    assert split_at(long, "end.\n\nNew paragraph") == len("end.\n")
    assert split_at(long + "\n", "- next") == 0  # boundary straddles the two
    assert split_at(long, "a soft\nline break") is None


def test_never_split_inside_a_code_fence() -> None:
    fenced = "```python\n" + "x = 1\n" * 300
    assert split_at(fenced, "\n- not a list item") is None


def test_chunking_keeps_every_character() -> None:
    parts = chunk_markdown(LIST)
    assert "".join(parts) == LIST
    assert len(parts) > 5 and all(len(p) < 800 for p in parts)
    assert all(p.startswith("- ") for p in parts)


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield AnswerTurn(classes="-streaming")


async def test_a_long_streamed_list_lands_in_several_parts() -> None:
    app = Host()
    async with app.run_test() as pilot:
        stream = AnswerStream(app.query_one(AnswerTurn))
        for word in LIST.split(" "):
            await stream.write(word + " ")
        await stream.stop()
        await pilot.pause()
        parts = list(app.query(AnswerPart))
        assert len(parts) > 5
        text = "".join(p.text for p in parts)
        assert text.split() == LIST.split()
