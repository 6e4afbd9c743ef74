"""A breakpoint's prefix estimate depends only on the blocks before it (the editor's numbers)."""

from __future__ import annotations

import itertools
import json

from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.request import block_tokens, context_breakpoints

TOOLS = json.dumps([{"name": "lookup", "description": "Find a term.", "input_schema": {}}])
BLOCKS = (
    Block("tools", TOOLS),
    Block("system", "You answer from the manual. " * 40),
    Block("document", "Chapter one. The pump starts. " * 300, name="manual.md"),
    Block("example", "How do I start the pump?", role="user"),
    Block("example", "Press the green button.", role="assistant"),
    Block("example", "And to stop it?", role="user"),
)


def running(ctx: Context) -> list[int]:
    return list(itertools.accumulate(block_tokens(ctx)))


def test_it_agrees_with_the_request_at_every_breakpoint_of_a_valid_context() -> None:
    for marks in itertools.combinations(range(len(BLOCKS)), 4):
        ctx = Context(
            name="manual",
            blocks=BLOCKS,
            breakpoints=tuple(Breakpoint(i, "5m") for i in marks),
        )
        planned = context_breakpoints(ctx)
        prefix = running(ctx)
        assert [bp.prefix_tokens for bp in planned] == [prefix[i] for i in marks]


def test_a_ttl_or_an_invalid_order_elsewhere_changes_no_estimate() -> None:
    base = Context(name="m", blocks=BLOCKS, breakpoints=(Breakpoint(2, "5m"), Breakpoint(5, "5m")))
    before = running(base)
    # A 1h after a 5m cannot be sent (it is a problem the editor shows), yet every estimate
    # stays what it was: none depends on a TTL.
    after = running(base.with_changes(breakpoints=(Breakpoint(2, "5m"), Breakpoint(5, "1h"))))
    assert after == before
    # The footer's total is the last prefix.
    assert sum(block_tokens(base)) == before[-1]


def test_unfinished_tool_json_still_has_an_estimate() -> None:
    ctx = Context(name="m", blocks=(Block("tools", '[{"name": "loo'), BLOCKS[1]))
    tokens = block_tokens(ctx)
    assert tokens[0] > 0 and len(tokens) == 2
