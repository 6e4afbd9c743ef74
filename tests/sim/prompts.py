"""Prompt builders for the simulator tests: texts whose estimated token counts are exact."""

from __future__ import annotations

from typing import Any

from promptcache_tui.core.tokens import estimate_text

# Words of at most 6 ASCII letters: one estimator token each.
_WORDS = (
    "amber",
    "basil",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "grove",
    "harbor",
    "ivory",
    "jasper",
    "kelp",
    "lumen",
    "maple",
    "nectar",
    "onyx",
    "pebble",
    "quartz",
    "raven",
    "sorrel",
    "thyme",
    "umber",
    "velvet",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
)
MODEL = "claude-sonnet-4-6"  # minimum cacheable prefix: 1024 tokens in the catalog
EPHEMERAL: dict[str, Any] = {"type": "ephemeral"}
ONE_HOUR: dict[str, Any] = {"type": "ephemeral", "ttl": "1h"}


def filler(tokens: int, seed: int = 0) -> str:
    """Prose of exactly `tokens` estimated tokens (a multiple of 10): 9 words and a period."""
    assert tokens % 10 == 0, "filler sizes are multiples of 10 tokens"
    sentences = []
    for s in range(tokens // 10):
        words = [_WORDS[(seed * 7 + s * 3 + w) % len(_WORDS)] for w in range(9)]
        sentences.append(" ".join(words) + ".")
    text = " ".join(sentences)
    assert estimate_text(text) == tokens
    return text


def text(body: str, cache: dict[str, Any] | None = None) -> dict[str, Any]:
    """A text block, with `cache_control` when `cache` is given."""
    block: dict[str, Any] = {"type": "text", "text": body}
    if cache is not None:
        block["cache_control"] = cache
    return block


def user(*blocks: dict[str, Any] | str) -> dict[str, Any]:
    """A user turn."""
    content = [text(b) if isinstance(b, str) else b for b in blocks]
    return {"role": "user", "content": content}


def assistant(*blocks: dict[str, Any] | str) -> dict[str, Any]:
    """An assistant turn."""
    content = [text(b) if isinstance(b, str) else b for b in blocks]
    return {"role": "assistant", "content": content}


def doc_request(
    tokens: int = 2000,
    *,
    question: str = "What is the quartz?",
    cache: dict[str, Any] | None = EPHEMERAL,
    model: str = MODEL,
    max_tokens: int = 64,
    seed: int = 0,
) -> dict[str, Any]:
    """A system document with one breakpoint on it, and a question."""
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": [text(filler(tokens, seed), cache)],
        "messages": [user(question)],
    }


def many_blocks(count: int, tokens_each: int = 100) -> list[dict[str, Any]]:
    """`count` distinct text blocks of `tokens_each` tokens."""
    return [text(filler(tokens_each, seed=i)) for i in range(count)]
