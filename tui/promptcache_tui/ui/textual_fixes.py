"""Work-arounds for Textual 8 behaviour that cost this app memory (pyproject.toml keeps
Textual below 9: these reach into its internals). Measured with benchmarks/bench_memory.py,
100 answers of 1,500 tokens in one conversation: RSS grew 113 MB -> 247 MB, ~1 MB an answer.

- `release_styles_caches`: an `lru_cache` kept every removed widget's painted rows alive
  (Textualize/textual#6665, open in 8.2.8); `gc.collect()` freed nothing.
- `strips_free_themselves`: most painted rows referred to themselves through their own
  caches, so they were freed only by the cyclic collector's full passes.
- `release_painted_rows`: a removed widget is cyclic garbage; its rows need not wait with it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from textual._styles_cache import StylesCache
from textual.strip import Strip

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from rich.style import Style
    from textual.color import Color
    from textual.widget import Widget


def release_styles_caches() -> None:
    """Cache `StylesCache.get_inner_outer` on its colours, not on the widget's cache.

    The method is an `lru_cache(1024)` on an instance method, so each key held a widget's
    `StylesCache` and every row the widget last painted, long after the widget was removed:
    the chat replaces its widgets with every answer. The method reads its two colours only,
    so caching on them alone gives the same answer without the reference. Idempotent; does
    nothing once Textual no longer caches the method on `self`.
    """
    method: Any = StylesCache.get_inner_outer
    if getattr(method, "keyed_on_colours", False) or not hasattr(method, "cache_info"):
        return
    original = method.__wrapped__  # (self, base_background, background); `self` unused

    @lru_cache(maxsize=1024)
    def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
        return original(None, base_background, background)  # type: ignore[no-any-return]

    def get_inner_outer(
        self: StylesCache, base_background: Color, background: Color
    ) -> tuple[Style, Style]:
        return inner_outer(base_background, background)

    get_inner_outer.keyed_on_colours = True  # type: ignore[attr-defined]
    StylesCache.get_inner_outer = get_inner_outer  # type: ignore[assignment,method-assign]


def strips_free_themselves() -> None:
    """Stop `Strip.divide` and `Strip.crop_extend` caching a strip inside itself.

    Both return the strip itself when the cut or crop is the whole strip (most of a frame's
    rows) and store it in the strip's own cache: a reference cycle, so no painted row was
    freed when it was dropped, only by the cyclic collector's rare full passes. Returning
    it without the cache entry gives the same result, and the row is freed at once.
    """
    if getattr(Strip.divide, "frees_itself", False):
        return
    divide, crop_extend = Strip.divide, Strip.crop_extend

    def divide_whole(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        length = self.cell_length
        inside = [cut for cut in cuts if cut <= length]  # as Strip.divide reads them
        if inside == [length]:
            return [self]
        return divide(self, inside)

    def crop_extend_whole(self: Strip, start: int, end: int, style: Style | None) -> Strip:
        if start <= 0 and end == self.cell_length:
            return self
        return crop_extend(self, start, end, style)

    divide_whole.frees_itself = True  # type: ignore[attr-defined]
    Strip.divide = divide_whole  # type: ignore[method-assign]
    Strip.crop_extend = crop_extend_whole  # type: ignore[method-assign]


def release_painted_rows(widget: Widget) -> None:
    """Drop the styled rows Textual cached for a widget being removed (`Widget._styles_cache`,
    private). A removed widget is cyclic garbage, so they would otherwise live until the
    collector's next full pass: for the chat's answers, ~10 MB floated at 100 answers."""
    widget._styles_cache.clear()
