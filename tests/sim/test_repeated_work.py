"""What the simulator remembers between requests (sim/memo.py) never changes an answer.

An agent resends the same tools and system prompt on every turn; the simulator remembers
what it derived from them (schema verdicts, token estimates) under their exact content.
These tests hold it to that: bounded, keyed on content, and the same answers as without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import OrderedDict
from typing import Any

import anthropic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptcache_tui.core.tokens import MESSAGE_OVERHEAD, estimate_block
from promptcache_tui.sim import positions
from promptcache_tui.sim.memo import Memo, content_key
from promptcache_tui.sim.positions import render_positions

from .prompts import EPHEMERAL, MODEL, filler, text, user


def _tool(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, **schema},
    }


# -- the memo itself -----------------------------------------------------------------------


def test_memo_derives_once_per_content() -> None:
    memo: Memo[str, int] = Memo(max_entries=4, max_bytes=100)
    calls: list[str] = []

    def derive(key: str) -> int:
        calls.append(key)
        return len(key)

    assert [memo.get(k, lambda k=k: derive(k)) for k in ("ab", "ab", "abc", "ab")] == [2, 2, 3, 2]
    assert calls == ["ab", "abc"]


@pytest.mark.parametrize(("entries", "kept"), [(3, 3), (4, 4), (5, 4)])
def test_memo_keeps_at_most_its_entries(entries: int, kept: int) -> None:
    memo: Memo[str, str] = Memo(max_entries=4, max_bytes=1000)
    for n in range(entries):
        memo.get(f"key{n}", lambda: "value")
    assert len(memo) == kept


@pytest.mark.parametrize(("size", "kept"), [(99, True), (100, True), (101, False)])
def test_memo_keeps_no_key_larger_than_its_byte_bound(size: int, kept: bool) -> None:
    memo: Memo[bytes, int] = Memo(max_entries=10, max_bytes=100)
    assert memo.get(b"x" * size, lambda: size) == size  # derived either way
    assert (len(memo), memo.size_bytes) == ((1, size) if kept else (0, 0))


def test_memo_drops_the_least_recently_used_past_its_byte_bound() -> None:
    memo: Memo[bytes, str] = Memo(max_entries=10, max_bytes=100)
    memo.get(b"a" * 40, lambda: "a")
    memo.get(b"b" * 40, lambda: "b")
    memo.get(b"a" * 40, lambda: "not derived again")  # a is now the most recent
    memo.get(b"c" * 20, lambda: "c")  # exactly at the bound: nothing goes
    assert (len(memo), memo.size_bytes) == (3, 100)
    memo.get(b"d", lambda: "d")  # one byte over: the oldest (b) goes
    assert memo.size_bytes == 61
    assert memo.get(b"a" * 40, lambda: "derived again") == "a"
    assert memo.get(b"b" * 40, lambda: "derived again") == "derived again"


def test_memo_counts_what_its_values_hold_where_told() -> None:
    memo: Memo[bytes, bytes] = Memo(max_entries=10, max_bytes=100, weigh=len)
    memo.get(b"k" * 10, lambda: b"v" * 40)
    assert memo.size_bytes == 50
    memo.get(b"x" * 10, lambda: b"v" * 40)
    assert memo.size_bytes == 100
    memo.get(b"y", lambda: b"")  # one byte over: the oldest goes
    assert (len(memo), memo.size_bytes) == (2, 51)
    assert memo.get(b"z", lambda: b"v" * 100) == b"v" * 100  # 101 bytes: never kept
    assert len(memo) == 2


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"x": 1}, {"x": 1.0}),
        ({"x": 1}, {"x": True}),
        ({"x": 0.0}, {"x": -0.0}),
        ({"x": "1"}, {"x": 1}),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # key order: another key (messages depend on it)
        ({"x": [1, 2]}, {"x": [2, 1]}),
        ({"x": None}, {}),
        ({"x": "é"}, {"x": "e\u0301"}),
    ],
)
def test_content_keys_tell_apart_what_json_tells_apart(a: Any, b: Any) -> None:
    assert content_key(a) != content_key(b)
    assert content_key(a) == content_key(json.loads(json.dumps(a)))


def test_content_keys_do_not_depend_on_shared_objects() -> None:
    word = "".join(["shared-", "x" * 10])
    shared = [word, word]
    copied = ["".join(["shared-", "x" * 10]), "".join(["shared-", "x" * 10])]
    assert shared[0] is shared[1] and copied[0] is not copied[1]
    assert content_key(shared) == content_key(copied)


def test_content_keys_refuse_what_is_not_plain_data() -> None:
    assert content_key({"x": object()}) is None
    assert content_key(OrderedDict(x=1)) is None


def test_memo_is_safe_across_threads() -> None:
    memo: Memo[str, int] = Memo(max_entries=50, max_bytes=10_000)
    wrong: list[tuple[str, int]] = []

    def work(offset: int) -> None:
        for n in range(2000):
            key = str((n * 7 + offset) % 120)
            value = memo.get(key, lambda key=key: int(key))
            if value != int(key):
                wrong.append((key, value))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert wrong == []
    assert len(memo) <= 50


# -- through the simulator -----------------------------------------------------------------


def test_a_schema_verdict_follows_the_content_not_the_last_answer(
    client: anthropic.Anthropic,
) -> None:
    bad = _tool("read", "Read a file.", required="path")  # `required` must be a list
    good = _tool("read", "Read a file.", required=["path"])
    messages = [user("Read the README, please.")]
    errors = []
    for _ in range(2):
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model=MODEL, max_tokens=8, messages=messages, tools=[bad])
        errors.append(caught.value.body["error"]["message"])
    assert errors[0] == errors[1]
    assert errors[0].startswith("tools.0.custom.input_schema: JSON schema is invalid.")
    answer = client.messages.create(model=MODEL, max_tokens=8, messages=messages, tools=[good])
    assert answer.stop_reason == "max_tokens"
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=8, messages=messages, tools=[bad])
    assert caught.value.body["error"]["message"] == errors[0]


def test_a_tool_changed_by_one_word_is_counted_and_cached_afresh(
    client: anthropic.Anthropic,
) -> None:
    tools = [_tool(f"tool_{n}", filler(300, seed=n)) for n in range(5)]
    tools[-1]["cache_control"] = EPHEMERAL
    ask = {"model": MODEL, "max_tokens": 4, "messages": [user("Which tool helps?")]}
    first = client.messages.create(tools=tools, **ask)
    for _ in range(3):
        again = client.messages.create(tools=tools, **ask)
        assert again.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    changed = [dict(t) for t in tools]
    changed[2]["description"] += " More."
    count = client.messages.count_tokens(model=MODEL, tools=changed, messages=ask["messages"])
    after = client.messages.create(tools=changed, **ask)
    assert after.usage.cache_read_input_tokens == 0
    assert after.usage.cache_creation_input_tokens == first.usage.cache_creation_input_tokens + 2
    total = after.usage.input_tokens + after.usage.cache_creation_input_tokens
    assert total == count.input_tokens


def test_remembered_estimates_equal_counting_again() -> None:
    system = [text("x-anthropic-billing-header: cc_version=1;"), text(filler(500), EPHEMERAL)]
    params = {
        "model": MODEL,
        "max_tokens": 8,
        "tools": [_tool(f"t{n}", filler(100, seed=n)) for n in range(3)],
        "system": system,
        "messages": [
            {"role": "user", "content": [text("Look at this: ñ, 東京, 🙂."), text("Then this.")]},
            {"role": "assistant", "content": "Done."},
            user("What next?"),
        ],
    }
    expected = [estimate_block(b) for b in [*params["tools"], *system]]
    for message in params["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        expected += [
            estimate_block(b) + (MESSAGE_OVERHEAD if not i else 0) for i, b in enumerate(blocks)
        ]
    for _ in range(3):  # the first rendering counts, the others remember
        assert [p.tokens for p in render_positions(params).positions] == expected


def test_loading_the_simulator_does_not_load_json_schema_tools() -> None:
    # The offline CLI starts the simulator in-process: jsonschema (~100 ms) and jsf load
    # only when a request has tools or an output format.
    code = (
        "import sys, promptcache_tui.sim.server, promptcache_tui.sim.inprocess; "
        "bad = [m for m in ('jsonschema', 'jsf', 'faker') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_json, max_size=6))
def test_digests_put_together_from_blocks_equal_those_of_the_whole(items: list[Any]) -> None:
    # Fingerprints stored by an earlier version compare digests of the whole list: the
    # digests built from each block's bytes must be the same bytes, or an upgrade would
    # report tools_changed for unchanged tools.
    assert positions._list_bytes([positions._bytes(i) for i in items]) == positions._bytes(items)
