"""An answer in the chat: Markdown, streamed into place with `Markdown.get_stream()`."""

from __future__ import annotations

from textual.widgets import Markdown


class AnswerTurn(Markdown):
    """An answer; `-streaming` while text is still arriving."""

    DEFAULT_CSS = """
    AnswerTurn {
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: thick $secondary;
    }
    AnswerTurn.-streaming {
        border-left: thick $warning;
    }
    """
