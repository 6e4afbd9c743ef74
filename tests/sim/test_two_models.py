"""Two independent models of the caching rules, cross-checked on random conversations.

The client's side: `core/prefix.render` lays a request out, `core/ttl.predict_call` says
from the TTL ledger what each breakpoint will read and write, the ledger records it. The
server's side: the simulator's engine on its own rendering (`sim/positions.py`). They share
only the token estimator. Hypothesis builds conversations that evolve step by step (tools,
system blocks, turns of many blocks, `{"role": "system"}` messages, images, thinking
blocks resent in assistant turns, tool-result turns that continue a tool-use loop, context
editing that keeps all thinking, breakpoints and TTLs, settings, top-level caching, model
switches, gaps in time) and every step must
agree: the layout and token counts, each breakpoint's state before the call, what is read
and written, the usage, and each entry's expiry after it. A disagreement is a bug in one. The
simulator's side takes the request as its server does (`_model_checked`: earlier thinking
dropped by `sim/request.py`); the client's side renders the request as sent, and drops it
with its own code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.prefix import render, total_tokens
from promptcache_tui.core.ttl import TTLLedger, predict_call, settle
from promptcache_tui.sim.engine import CacheEngine, MemoryStore
from promptcache_tui.sim.positions import render_positions
from promptcache_tui.sim.request import keeps_all_thinking, traits_of, without_earlier_thinking

CATALOG = load_catalog()
# Catalogued models with a known minimum (the client cannot know the simulator's default).
MODELS = (
    "claude-sonnet-4-6",  # 1024
    "claude-opus-5",  # 512, fast mode
    "claude-opus-4-8",  # 1024, fast mode
    "claude-fable-5",  # 512
    "claude-fable-5-1",  # 512: another model, not an alias
    "claude-haiku-4-5",  # 4096
    "claude-haiku-4-5-20251001",  # an alias: the same cache as claude-haiku-4-5
)
FAST = {"claude-opus-5", "claude-opus-4-8"}
SIZES = (1, 3, 40, 250, 500, 900, 2500)  # tokens per block: prefixes cross every minimum
GAPS = (0.0, 1.0, 120.0, 299.0, 299.999, 300.0, 300.001, 600.0, 3599.999, 3600.0, 3601.0)
START = 1_750_000_000.0


def _tag(n: int) -> str:
    """A letters-only word (one estimated token) unique to content `n`."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = "q"
    while True:
        out += letters[n % len(letters)]
        n //= len(letters)
        if not n:
            return out


@dataclass
class Conversation:
    """The evolving prompt; `marks` are slots with a breakpoint, in any order."""

    model: str = "claude-sonnet-4-6"
    tools: list[int] = field(default_factory=list)  # content ids
    web_search: bool = False
    system: list[int] = field(default_factory=list)
    turns: list[tuple[str, list[int]]] = field(default_factory=list)
    images: set[int] = field(default_factory=set)  # turns holding an image first
    thoughts: set[int] = field(default_factory=set)  # assistant turns opening with thinking
    results: set[int] = field(default_factory=set)  # user turns of tool results only
    marks: list[tuple[Any, ...]] = field(default_factory=list)
    hour_marks: int = 0  # how many of the first breakpoints are 1h
    automatic: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)
    next_id: int = 0

    def new(self, size: int) -> int:
        self.next_id += 1
        self.sizes[self.next_id] = size
        return self.next_id

    def text(self, content: int) -> str:
        return " ".join([_tag(content)] + ["a"] * (self.sizes[content] - 1))

    def slots(self) -> list[tuple[Any, ...]]:
        """Every markable slot, in prompt order."""
        out: list[tuple[Any, ...]] = [("tools", i) for i in range(len(self.tools))]
        out += [("system", i) for i in range(len(self.system))]
        for t, (_, blocks) in enumerate(self.turns):
            offset = 1 if t in self.images else 0
            out += [("messages", t, b) for b in range(len(blocks) + offset)]
        return out

    def params(self) -> dict[str, Any]:
        """The request, with at most four valid breakpoints (1h ones first)."""
        order = {slot: i for i, slot in enumerate(self.slots())}
        marks = sorted({m for m in self.marks if m in order}, key=order.__getitem__)
        limit = 3 if self.automatic else 4
        marks = marks[:limit]
        ttl = {m: ("1h" if i < self.hour_marks else "5m") for i, m in enumerate(marks)}

        def marker(slot: tuple[Any, ...]) -> dict[str, Any]:
            if slot not in ttl:
                return {}
            return {"cache_control": {"type": "ephemeral", "ttl": ttl[slot]}}

        params: dict[str, Any] = {"model": self.model, "max_tokens": 16}
        tools = [
            {
                "name": f"tool_{_tag(c)}",
                "description": self.text(c),
                "input_schema": {"type": "object"},
                **marker(("tools", i)),
            }
            for i, c in enumerate(self.tools)
        ]
        if self.web_search:
            tools.insert(0, {"type": "web_search_20250305", "name": "web_search"})
        if tools:
            params["tools"] = tools
        if self.system:
            params["system"] = [
                {"type": "text", "text": self.text(c), **marker(("system", i))}
                for i, c in enumerate(self.system)
            ]
        messages = []
        for t, (role, blocks) in enumerate(self.turns):
            content: list[dict[str, Any]] = []
            if t in self.thoughts and role == "assistant":  # never markable: no slot
                thought = {"type": "thinking", "thinking": f"Plan {_tag(t)}.", "signature": "s"}
                content.append(thought)
            if t in self.images:
                image = {"type": "base64", "media_type": "image/png", "data": f"iVBOR{t}"}
                content.append({"type": "image", "source": image, **marker(("messages", t, 0))})
            offset = 1 if t in self.images else 0
            for b, c in enumerate(blocks):
                mark = marker(("messages", t, b + offset))
                if t in self.results and role == "user":
                    result = [{"type": "text", "text": self.text(c)}]
                    tool_use_id = f"toolu_{_tag(c)}"
                    block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": result}
                    content.append({**block, **mark})
                else:
                    content.append({"type": "text", "text": self.text(c), **mark})
            messages.append({"role": role, "content": content})
        params["messages"] = messages
        if self.automatic:
            last = self.slots()[-1]
            # Top-level caching on the last block: a 5m entry, unless every other is 1h.
            auto_ttl = "1h" if marks and len(marks) == self.hour_marks else "5m"
            if last in ttl and ttl[last] != auto_ttl:
                auto_ttl = ttl[last]
            params["cache_control"] = {"type": "ephemeral", "ttl": auto_ttl}
        params.update({k: v for k, v in self.settings.items() if v is not None})
        if self.model not in FAST:
            params.pop("speed", None)
        return params


# -- the edits hypothesis draws ---------------------------------------------------------------

sizes = st.sampled_from(SIZES)
edit = st.one_of(
    st.tuples(st.just("turn"), st.integers(1, 24), sizes, st.integers(0, 9)),
    st.tuples(st.just("system"), sizes),
    st.tuples(st.just("tool"), sizes),
    st.tuples(st.just("change"), st.integers(0, 10_000), sizes),
    st.tuples(st.just("mark"), st.lists(st.integers(0, 10_000), max_size=5), st.integers(0, 4)),
    st.tuples(st.just("model"), st.sampled_from(MODELS)),
    st.tuples(
        st.just("setting"),
        st.sampled_from(
            ["speed", "tool_choice", "thinking", "effort", "web_search", "image", "keep_all"]
        ),
    ),
    # Thinking resent at the start of an assistant turn; a user turn of tool results only.
    st.tuples(st.just("thought"), st.integers(0, 100)),
    st.tuples(st.just("results"), st.integers(0, 100)),
    st.tuples(st.just("automatic")),
    st.tuples(st.just("drop_turn")),
)
step = st.tuples(st.lists(edit, min_size=1, max_size=3), st.sampled_from(GAPS))


def apply(conv: Conversation, change: tuple[Any, ...]) -> None:
    """One edit of the conversation (indices wrap around what exists)."""
    kind = change[0]
    if kind == "turn":
        _, count, size, flavour = change
        role = "assistant" if conv.turns and conv.turns[-1][0] == "user" else "user"
        if flavour == 0 and conv.turns:
            role = "system"  # a mid-conversation system message
        conv.turns.append((role, [conv.new(size if b == 0 else 1) for b in range(count)]))
    elif kind == "system":
        conv.system.append(conv.new(change[1]))
    elif kind == "tool":
        conv.tools.append(conv.new(change[1]))
    elif kind == "change":
        everything = [("tools", i) for i in range(len(conv.tools))]
        everything += [("system", i) for i in range(len(conv.system))]
        everything += [
            ("messages", t, b)
            for t, (_, blocks) in enumerate(conv.turns)
            for b in range(len(blocks))
        ]
        if everything:
            where = everything[change[1] % len(everything)]
            fresh = conv.new(change[2])
            if where[0] == "tools":
                conv.tools[where[1]] = fresh
            elif where[0] == "system":
                conv.system[where[1]] = fresh
            else:
                conv.turns[where[1]][1][where[2]] = fresh
    elif kind == "mark":
        slots = conv.slots()
        if slots:
            conv.marks = [slots[i % len(slots)] for i in change[1]]
        conv.hour_marks = change[2]
    elif kind == "model":
        conv.model = change[1]
    elif kind == "setting":
        name = change[1]
        if name == "speed":
            conv.settings["speed"] = None if conv.settings.get("speed") else "fast"
        elif name == "tool_choice":
            conv.settings["tool_choice"] = (
                None if conv.settings.get("tool_choice") else {"type": "any"}
            )
        elif name == "thinking":
            conv.settings["thinking"] = (
                None if conv.settings.get("thinking") else {"type": "adaptive"}
            )
        elif name == "effort":
            conv.settings["output_config"] = (
                None if conv.settings.get("output_config") else {"effort": "low"}
            )
        elif name == "web_search":
            conv.web_search = not conv.web_search
        elif name == "keep_all":
            keep = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
            conv.settings["context_management"] = (
                None if conv.settings.get("context_management") else keep
            )
        elif conv.turns:
            conv.images ^= {len(conv.turns) - 1}
    elif kind in ("thought", "results"):
        role = "assistant" if kind == "thought" else "user"
        turns = [t for t, (r, _) in enumerate(conv.turns) if r == role]
        if turns:
            chosen = conv.thoughts if kind == "thought" else conv.results
            chosen ^= {turns[change[1] % len(turns)]}
    elif kind == "automatic":
        conv.automatic = not conv.automatic
    elif kind == "drop_turn" and conv.turns:
        conv.turns.pop()
        for turns in (conv.images, conv.thoughts, conv.results):
            turns.discard(len(conv.turns))


def _check_step(
    engine: CacheEngine, store: MemoryStore, ledger: TTLLedger, params: dict[str, Any], now: float
) -> None:
    model = params["model"]
    cache_id = CATALOG.cache_id(model)
    minimum = CATALOG.min_cache_tokens(model)
    blocks = render(params, keeps_thinking=CATALOG.keeps_earlier_thinking(model))
    # The simulator's server drops earlier thinking before its engine sees the request.
    if not (traits_of(CATALOG.get(model)).keeps_thinking or keeps_all_thinking(params)):
        params = dict(without_earlier_thinking(params))
    rendering = render_positions(params)
    # The layout: the same positions and the same running token counts.
    assert [b.prefix_tokens for b in blocks] == [p.prefix_tokens for p in rendering.positions]
    assert total_tokens(blocks) == rendering.total_tokens
    top = params.get("cache_control")
    prediction = predict_call(
        ledger, model, blocks, minimum, now=now, automatic_ttl=top["ttl"] if top else None
    )
    keys = [p.key for p in rendering.positions]
    # Before the call: each breakpoint's own entry, warm on both sides or on neither.
    for point in prediction.points:
        live = bool(store.lookup(cache_id, [keys[point.block_index]], now))
        assert (point.state_before == "warm") == live, point

    prepared = engine.prepare(params)
    sim_points = [p.block.index for p in prepared.breakpoints]
    assert sim_points == [p.block_index for p in prediction.points]
    # What is read and written, and the usage.
    index_of = {key: i for i, key in enumerate(keys)}
    read = sorted({index_of[k] for k in prepared.read_keys})
    assert read == sorted({p.read_index for p in prediction.points if p.read_index is not None})
    written = [index_of[w.key] for w in prepared.writes]
    assert written == [p.block_index for p in prediction.points if p.writes]
    usage = prepared.usage
    assert usage.cache_read_input_tokens == prediction.read_tokens
    assert (usage.cache_creation_5m, usage.cache_creation_1h) == (
        prediction.write_5m,
        prediction.write_1h,
    )
    # What the call is logged as having cached, from the usage, is the prediction.
    flags = settle(
        prediction,
        cache_read=usage.cache_read_input_tokens,
        cache_creation=usage.cache_creation_input_tokens,
        ok=True,
        min_tokens=minimum,
    )
    assert flags == tuple(p.cached for p in prediction.points)

    engine.commit(prepared, "msg")
    ledger.record_all(prediction.events(now))
    # After the call: each breakpoint's entry lives as long on both sides.
    for point in prediction.points:
        entry = store.entries.get((cache_id, keys[point.block_index]))
        state = ledger.state(model, point.prefix_hash, now)
        sim_live = entry is not None and entry.expires_at > now
        assert (state.state == "warm") == sim_live, point
        if sim_live:
            assert entry is not None and state.expires_at == entry.expires_at


@settings(
    max_examples=250,
    deadline=None,
    database=None,  # nothing written into the worktree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(sizes, min_size=1, max_size=3),
    st.lists(step, min_size=1, max_size=10),
)
# Found by this test: a 5m write then, at the same instant, a 1h breakpoint reading it.
@example(first_system=[2500], steps=[([("system", 1)], 0.0), ([("mark", [0], 1)], 0.0)])
def test_the_ledger_predicts_what_the_simulator_does(
    first_system: list[int], steps: list[tuple[list[tuple[Any, ...]], float]]
) -> None:
    clock = [START]
    store = MemoryStore()
    engine = CacheEngine(store, CATALOG, lambda: clock[0])
    ledger = TTLLedger(lambda: clock[0], resolve=CATALOG.cache_id)
    conv = Conversation()
    conv.system = [conv.new(size) for size in first_system]
    conv.turns = [("user", [conv.new(40)])]
    conv.marks = [("system", len(first_system) - 1)]
    for edits, gap in steps:
        for change in edits:
            apply(conv, change)
        if not conv.turns:
            conv.turns = [("user", [conv.new(3)])]
        _check_step(engine, store, ledger, conv.params(), clock[0])
        clock[0] += gap


def test_the_simulator_never_loads_the_clients_rendering() -> None:
    import subprocess
    import sys

    code = (
        "import sys, promptcache_tui.sim.server, promptcache_tui.sim.inprocess\n"
        "print(sorted(m for m in sys.modules if m.startswith('promptcache_tui.core')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "promptcache_tui.core.prefix" not in loaded
    assert "promptcache_tui.core.ttl" not in loaded
    assert "promptcache_tui.core.tokens" in loaded  # the shared stand-in for the tokenizer
