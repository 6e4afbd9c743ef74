"""Benchmark: chained prefix hashes of a 1 MB prompt with 4 breakpoints, on both sides.

The client's rendering (core/prefix, used by the ledger) and the simulator's own
(sim/positions, used by the engine on every request).

Run: python benchmarks/bench_prefix_hash.py   (prints milliseconds; not a test)
"""

from __future__ import annotations

import hashlib
import statistics
import time
from typing import Any

from promptcache_tui.core.prefix import canonical_json, render, total_tokens
from promptcache_tui.core.tokens import estimate_block
from promptcache_tui.sim.positions import render_positions

PROMPT_BYTES = 1_000_000
BLOCKS = 40  # ~25 KB each: documents split into sections, as contexts usually are
ROUNDS = 7


def build_prompt() -> dict[str, Any]:
    """~1 MB of prose over system and message blocks, with 4 breakpoints spread along it."""
    sentence = "Prompt caching keeps a prefix warm for five minutes, then it expires. "
    chunk = sentence * (PROMPT_BYTES // BLOCKS // len(sentence))
    marker = {"type": "ephemeral"}
    system = [{"type": "text", "text": f"Section {i}. {chunk}"} for i in range(BLOCKS // 2)]
    system[-1]["cache_control"] = marker
    content = [{"type": "text", "text": f"Part {i}. {chunk}"} for i in range(BLOCKS // 2)]
    for index in (5, 12, len(content) - 1):
        content[index]["cache_control"] = marker
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "system": system,
        "messages": [{"role": "user", "content": content}],
    }


def main() -> None:
    """Render (hash + estimate) every prefix of the prompt ROUNDS times; print timings."""
    params = build_prompt()
    size = sum(len(b["text"].encode()) for b in params["system"])
    size += sum(len(b["text"].encode()) for b in params["messages"][0]["content"])
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        blocks = render(params)
        timings.append((time.perf_counter() - started) * 1000)
    all_blocks = params["system"] + params["messages"][0]["content"]
    hashing, estimating = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        digest = b""
        for block in all_blocks:
            digest = hashlib.sha256(digest + canonical_json(block)).digest()
        hashing.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for block in all_blocks:
            estimate_block(block)
        estimating.append((time.perf_counter() - started) * 1000)
    simulator = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        render_positions(params)
        simulator.append((time.perf_counter() - started) * 1000)
    marked = sum(1 for b in blocks if b.cache_control)
    print(
        f"prompt: {size / 1e6:.2f} MB in {len(blocks)} blocks, {marked} breakpoints, "
        f"{total_tokens(blocks)} estimated tokens"
    )
    print(
        f"render + chained hashes of every prefix: median {statistics.median(timings):.1f} ms, "
        f"best {min(timings):.1f} ms over {ROUNDS} rounds"
    )
    print(
        f"  of which chained SHA-256 over canonical JSON: median "
        f"{statistics.median(hashing):.1f} ms; token estimate: median "
        f"{statistics.median(estimating):.1f} ms"
    )
    print(
        f"the simulator's own positions and keys: median {statistics.median(simulator):.1f} ms, "
        f"best {min(simulator):.1f} ms"
    )


if __name__ == "__main__":
    main()
