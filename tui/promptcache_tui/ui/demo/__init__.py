"""The demo context: a public-domain book, long enough to cache on every catalogued model.

Chapters I-III of Lewis Carroll's "Alice's Adventures in Wonderland" (1865) are about 8,300
estimated tokens, above the largest cache minimum in the catalog (4,096). The book sits
behind a 1h breakpoint; a short style note after it carries a 5m breakpoint, so editing the
note re-writes only the small last entry while the book stays cached.
"""

from __future__ import annotations

from importlib import resources

from promptcache_tui.core.context import Block, Breakpoint, Context

DEMO_NAME = "alice-demo"
DEMO_FILE = "alice.txt"
DEMO_SYSTEM = (
    "You are a careful literary assistant. Answer questions about the document below, "
    "quoting it where that helps, and say so when the answer is not in the text."
)
DEMO_STYLE = (
    "Style notes: answer in two or three short paragraphs of plain prose. Name the chapter "
    "a quotation comes from. Keep the Victorian spelling of the original when quoting."
)


def demo_text() -> str:
    """The bundled book text (UTF-8)."""
    return resources.files(__name__).joinpath(DEMO_FILE).read_text("utf-8")


def demo_context(model: str | None = None, name: str = DEMO_NAME) -> Context:
    """The demo context: instructions, the book (1h breakpoint), style notes (5m)."""
    ctx = Context(
        name=name,
        blocks=(
            Block(kind="system", text=DEMO_SYSTEM),
            Block(kind="document", text=demo_text(), name=DEMO_FILE),
            Block(kind="system", text=DEMO_STYLE),
        ),
        breakpoints=(Breakpoint(block=1, ttl="1h"), Breakpoint(block=2, ttl="5m")),
    )
    return ctx.with_changes(model=model) if model else ctx
