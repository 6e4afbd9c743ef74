"""Work-arounds for Textual 8 bugs that cost this app memory (pyproject.toml keeps Textual < 9).

`StylesCache.get_inner_outer` (textual/_styles_cache.py) is an `lru_cache(1024)` on an
instance method, so each cache key holds the widget's `StylesCache`, and with it every row
the widget last painted, after the widget is gone. A chat replaces its widgets with every
answer: RSS grew ~1 MB per 1,500-token answer, 113 MB to 247 MB over 100 answers
(benchmarks/bench_memory.py), and `gc.collect()` freed nothing because the cache is a live
reference. Reported upstream as Textualize/textual#6665, open in 8.2.8.

The method depends on its two colours only, so caching it on them alone is the same answer
without the reference.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from textual._styles_cache import StylesCache

if TYPE_CHECKING:
    from rich.style import Style
    from textual.color import Color


def release_styles_caches() -> None:
    """Cache `StylesCache.get_inner_outer` on its colours, not on the widget's cache.

    Idempotent; does nothing once Textual no longer caches the method on `self`.
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
