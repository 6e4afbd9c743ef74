"""A deterministic token estimator.

Claude's tokenizer is not public, so offline counts are estimates. The rule, chosen to sit
near ~4 characters per token on English prose (the figure Anthropic quotes):

- a run of ASCII letters costs 1 token per started 6 letters ("the" 1, "village" 2);
- a run of digits costs 1 token per started 3 digits;
- every other non-space character (punctuation, symbols) costs 1 token;
- every non-ASCII letter (CJK, Hangul, accented letters...) costs 1 token;
- whitespace is free.

Typical error against real counts: within about 15% on English prose and code, worse on
rare scripts. The simulator uses the same function, so offline counts are self-consistent:
`count_tokens` agrees exactly with the usage the simulator reports for the same prompt.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PIECES = re.compile(r"[A-Za-z]+|[0-9]+|\S")

# Fixed framing costs, as the API spends a few tokens on roles and turn markers.
MESSAGE_OVERHEAD = 4
REQUEST_OVERHEAD = 3


def estimate_text(text: str) -> int:
    """Estimated tokens in a piece of text."""
    total = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first.isascii() and first.isalpha():
            total += (len(piece) + 5) // 6
        elif first.isdigit() and first.isascii():
            total += (len(piece) + 2) // 3
        else:
            total += 1
    return total


def block_text(block: Any) -> str:
    """The text a content block contributes to the prompt (JSON for non-text blocks)."""
    if isinstance(block, str):
        return block
    if isinstance(block, dict):
        kind = block.get("type")
        if kind == "text":
            return str(block.get("text", ""))
        payload = {k: v for k, v in block.items() if k != "cache_control"}
        return json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return str(block)


def estimate_block(block: Any) -> int:
    """Estimated tokens in one content block, tool definition or system block."""
    return estimate_text(block_text(block))
