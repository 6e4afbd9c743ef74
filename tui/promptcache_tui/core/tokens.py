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

# One match per estimated token: letter runs cut every 6, digit runs every 3, any other mark.
_TOKEN = re.compile(r"[A-Za-z]{1,6}|[0-9]{1,3}|\S")
# The same tokens with the whitespace before each attached, to cut text at a token count.
_PIECE = re.compile(r"\s*(?:[A-Za-z]{1,6}|[0-9]{1,3}|\S)")

# Fixed framing costs, as the API spends a few tokens on roles and turn markers.
MESSAGE_OVERHEAD = 4
REQUEST_OVERHEAD = 3


def estimate_text(text: str) -> int:
    """Estimated tokens in a piece of text."""
    # subn counts matches without building a list: ~1.5x faster than findall on 1 MB.
    return _TOKEN.subn("", text)[1]


def token_pieces(text: str) -> list[str]:
    """`text` split into pieces of exactly one estimated token each ("".join gives it back)."""
    pieces = _PIECE.findall(text)
    rest = len(text) - sum(map(len, pieces))
    if rest:  # trailing whitespace belongs to no token
        if pieces:
            pieces[-1] += text[-rest:]
        else:
            pieces.append(text)
    return pieces


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
