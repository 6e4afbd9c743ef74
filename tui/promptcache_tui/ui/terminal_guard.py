"""The last line of defence: no control character in any widget's content reaches the terminal.

Textual (8.x) joins each painted strip's text with the escape codes of its styles in
`Strip.render`; the text itself is passed through as it is, so an answer, file name or
model id carrying `ESC ]0;...` or `ESC [2J` would retitle the tab or clear the screen.
`install()` wraps that one method so that control characters in the *content* are dropped
(they measure zero cells, so the layout is unchanged) while the style codes Textual adds
stay. Where the app shows outside text on purpose (answers, notices, errors) it also makes
control characters visible beforehand (`core.sanitize`); this guard catches every view,
including ones written later.

Private API: `tests/ui/test_terminal_guard.py` fails loudly if Textual changes it.
"""

from __future__ import annotations

import re
from typing import Any

from textual.strip import Strip

# C0 controls, DEL, C1 controls, bidi overrides and isolates, line and paragraph separators.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_installed = False


def inert(text: str) -> str:
    """`text` without control characters (each is zero cells wide: the width is kept)."""
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub("", text)


def install() -> None:
    """Wrap `Strip.render` once per process (idempotent)."""
    global _installed
    if _installed:
        return
    original = Strip.render

    def render(self: Strip, console: Any) -> str:
        if self._render_cache is None:
            segments = self._segments
            if any(_CONTROL.search(segment.text) for segment in segments):
                # Render a cleaned copy and keep its output as this strip's cache.
                clean = Strip(
                    [type(s)(inert(s.text), s.style, s.control) for s in segments],
                    self.cell_length,
                )
                self._render_cache = original(clean, console)
        return original(self, console)

    Strip.render = render  # type: ignore[method-assign]
    _installed = True
