"""Why an observed call missed: the cause named, with the change shown."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from promptcache_tui.core.miss import (
    CallShape,
    MissExplanation,
    SessionCall,
    compact_diff,
    explain_miss,
    explain_session_miss,
    miss_line,
    pick_previous,
    shape_of,
    short_diff,
)
from promptcache_tui.core.observed import observe_request
from tests.observe.shapes import claude_code_request

T0 = 1_796_000_000.0  # a fixed instant: no test depends on today's date


def shape(
    params: dict[str, Any],
    *,
    ts: float = T0,
    read: int = 0,
    write: int = 30_000,
    cached: bool | None = None,
    keep_content: bool = True,
    id: int | None = None,
) -> CallShape:
    request = observe_request(params)
    flag = (read + write > 0) if cached is None else cached
    return shape_of(
        request,
        ts=ts,
        cache_read=read,
        cache_creation=write,
        cached=[flag] * len(request.breakpoints),
        keep_content=keep_content,
        id=id,
    )


def test_claude_codes_billing_header_is_named_with_its_diff() -> None:
    before = shape(claude_code_request(suffix="7b2"), id=7)
    after = shape(claude_code_request(suffix="363"), ts=T0 + 40)
    found = explain_miss(after, before, min_tokens=1024)
    assert found is not None
    assert found.code == "content_changed"
    assert found.block_label == "system block 0"
    assert found.block_index == 24  # after the 24 tools
    assert "cc_version=2.1.197.7b2" in (found.before or "")
    assert "cc_version=2.1.197.363" in (found.after or "")
    assert found.summary.startswith("system block 0 changed: ")
    assert found.previous_call_id == 7
    assert found.gap_s == 40


def test_a_timestamp_in_the_system_prompt_is_shown_as_a_partial_miss() -> None:
    # The tools and the first system blocks are still read; the rest is written again.
    before = shape(claude_code_request(system_extra="Current time: 2026-12-01T10:00:00Z."))
    after = shape(
        claude_code_request(system_extra="Current time: 2026-12-01T10:04:31Z."),
        ts=T0 + 271,
        read=28_000,
        write=2_000,
    )
    found = explain_miss(after, before, min_tokens=1024)
    assert found is not None and found.code == "content_changed"
    assert found.summary.startswith("partly missed: system block 2 changed: ")
    assert found.block_label == "system block 2"
    assert found.before is not None and found.after is not None
    assert "10:00:00Z" in found.before and "10:04:31Z" in found.after
    assert found.before.startswith("…")  # the long unchanged start is cut
    assert len(found.after) < 140


def test_without_content_the_block_is_named_but_not_shown() -> None:
    before = shape(claude_code_request(suffix="aaa"), keep_content=False)
    after = shape(claude_code_request(suffix="bbb"), ts=T0 + 5, keep_content=False)
    found = explain_miss(after, before, min_tokens=1024)
    assert found is not None and found.code == "content_changed"
    assert found.block_index == 24 and found.before is None and found.after is None
    assert found.summary == "system block 0 changed"


def test_a_changed_model_is_named_before_any_content() -> None:
    before = shape(claude_code_request(model="claude-opus-4-8"))
    after = shape(claude_code_request(model="claude-sonnet-4-6", suffix="x"), ts=T0 + 1)
    found = explain_miss(after, before, min_tokens=1024)
    assert found is not None and found.code == "model_changed"
    assert "claude-opus-4-8 -> claude-sonnet-4-6" in found.summary


@pytest.mark.parametrize(
    ("ttl", "gap", "code"),
    [
        ("5m", 299.0, "unexplained"),
        ("5m", 300.0, "expired"),
        ("5m", 301.0, "expired"),
        ("1h", 3599.0, "unexplained"),
        ("1h", 3600.0, "expired"),
    ],
)
def test_the_gap_against_the_ttl(ttl: str, gap: float, code: str) -> None:
    before = shape(claude_code_request(ttl=ttl))
    after = shape(claude_code_request(ttl=ttl, turns=4), ts=T0 + gap)
    found = explain_miss(after, before, min_tokens=1024)
    assert found is not None and found.code == code
    if code == "expired":
        assert f"past its {ttl} TTL" in found.summary


def test_a_refresh_by_another_call_keeps_the_entry_alive() -> None:
    before = shape(claude_code_request())
    after = shape(claude_code_request(turns=4), ts=T0 + 400)
    refreshed = {m.prefix_hash: T0 + 600 for m in before.marks}
    found = explain_miss(after, before, min_tokens=1024, expiry=refreshed)
    assert found is not None and found.code == "unexplained"


def test_nothing_written_means_under_the_minimum() -> None:
    before = shape(claude_code_request())
    tiny = shape(claude_code_request(tool_count=0), ts=T0 + 1, write=0)
    found = explain_miss(tiny, before, min_tokens=4096)
    assert found is not None and found.code == "below_minimum"
    assert "minimum 4096" in found.summary


def test_a_hit_or_a_call_without_breakpoints_needs_no_explanation() -> None:
    before = shape(claude_code_request())
    # The conversation grew: everything the earlier call cached is read.
    grown = shape(claude_code_request(turns=4), read=30_000, write=500)
    assert explain_miss(grown, before, min_tokens=1) is None
    assert explain_miss(shape(claude_code_request(), read=500), None, min_tokens=1) is None
    bare = claude_code_request()
    for block in bare["system"]:
        block.pop("cache_control", None)
    bare["messages"][-1]["content"][-1].pop("cache_control")
    assert explain_miss(shape(bare), before, min_tokens=1) is None


def test_first_write_without_an_earlier_call() -> None:
    found = explain_miss(shape(claude_code_request()), None, min_tokens=1024)
    assert found is not None and found.code == "first_write"


def test_reordered_tools_are_told_apart_from_changed_tools() -> None:
    params = claude_code_request()
    swapped = copy.deepcopy(params)
    swapped["tools"][0], swapped["tools"][1] = swapped["tools"][1], swapped["tools"][0]
    found = explain_miss(shape(swapped, ts=T0 + 1), shape(params), min_tokens=1024)
    assert found is not None and found.code == "tools_reordered"
    assert found.block_index == 0
    edited = copy.deepcopy(params)
    edited["tools"][3]["description"] += " Also handles symlinks."
    found = explain_miss(shape(edited, ts=T0 + 1), shape(params), min_tokens=1024)
    assert found is not None and found.code == "content_changed"
    assert found.block_label == "tool CronDelete"
    assert "Also handles symlinks." in (found.after or "")


def _conversation(blocks: int, mark: int | None) -> dict[str, Any]:
    """A system prefix with a breakpoint, then one user message of `blocks` text blocks."""
    content = [{"type": "text", "text": f"note {i}"} for i in range(blocks)]
    if mark is not None:
        content[mark]["cache_control"] = {"type": "ephemeral"}
    return {
        "model": "claude-sonnet-4-6",
        "system": [
            {"type": "text", "text": "Rules. " * 900, "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [{"role": "user", "content": content}],
    }


@pytest.mark.parametrize(("distance", "code"), [(19, "unexplained"), (20, "lookback_exceeded")])
def test_lookback_counts_twenty_positions(distance: int, code: str) -> None:
    # The previous call cached the system block (block 0); this call only marks a block
    # `distance` positions later, so the lookup reaches the entry at 19 and not at 20.
    before = shape(_conversation(1, None))
    params = _conversation(distance, distance - 1)
    params["system"][0].pop("cache_control")
    after = shape(params, ts=T0 + 10)
    found = explain_miss(after, before, min_tokens=1024)
    assert found is not None and found.code == code
    if code == "lookback_exceeded":
        assert "20 blocks later" in found.summary


def test_the_most_similar_earlier_call_is_compared() -> None:
    main_a = shape(claude_code_request(suffix="aaa"), id=1)
    title_a = shape(
        {
            "model": "claude-opus-4-8",
            "system": [{"type": "text", "text": "Generate a title. " * 500}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Say hi", "cache_control": {"type": "ephemeral"}}
                    ],
                }
            ],
        },
        ts=T0 + 1,
        id=2,
    )
    uncached = shape(claude_code_request(suffix="bbb"), ts=T0 + 2, cached=False, write=0, id=3)
    main_b = shape(claude_code_request(suffix="bbb"), ts=T0 + 3)
    assert pick_previous(main_b, [main_a, title_a, uncached]) is main_a
    assert pick_previous(main_b, [title_a]) is None  # nothing in common: no comparison


def test_short_diff_keeps_context_and_cuts_long_changes() -> None:
    old, new = short_diff("abc " * 20 + "OLD tail", "abc " * 20 + "NEW tail")
    assert old.startswith("…") and "OLD tail" in old and "NEW tail" in new
    old, new = short_diff("same", "same and " + "x" * 200)
    assert new.endswith("…") and len(new) <= 4 + 72 + 1


@pytest.mark.parametrize(
    ("old", "new", "shown"),
    [
        # Claude Code's billing header: the old excerpt to its change, then the new part.
        (
            "…der: cc_version=2.1.197.d87; cc_entrypoint=cli; cch…",
            "…der: cc_version=2.1.197.1f0; cc_entrypoint=cli; cch…",
            "…der: cc_version=2.1.197.d87 → .1f0…",
        ),
        ("Today is 2026-11-20.", "Today is 2026-11-21.", "Today is 2026-11-20 → 21…"),
        ("abc", "abcdef", "abc → cdef"),  # text added at the end
        ("abcdef", "abc", "abcdef → (removed)"),  # text removed at the end
        ("xbc", "ybc", "x → y…"),  # a change at the very start
    ],
)
def test_a_change_reads_old_then_new_on_one_line(old: str, new: str, shown: str) -> None:
    assert compact_diff(old, new) == shown


def test_the_miss_line_shows_the_change_and_is_safe_for_a_terminal() -> None:
    before = shape(claude_code_request(suffix="d87"), id=7)
    after = shape(claude_code_request(suffix="1f0"), ts=T0 + 40)
    found = explain_miss(after, before, min_tokens=1024)
    assert found is not None
    assert miss_line(found) == ("system block 0 changed: …der: cc_version=2.1.197.d87 → .1f0…")
    # A partial miss keeps its wording; text from outside cannot drive the terminal.
    hostile = MissExplanation(
        "content_changed",
        "partly missed: system block 2 changed: …at \x1b[2J10:04…",
        before="…at \x1b[2J10:00…",
        after="…at \x1b[2J10:04…",
    )
    line = miss_line(hostile)
    assert "\x1b" not in line
    assert line == "partly missed: system block 2 changed: …at \\x1b[2J10:00 → 04…"
    # Other causes read as their summary.
    expired = MissExplanation("expired", "expired: 7m12s since the previous call, past its 5m TTL")
    assert miss_line(expired) == expired.summary
    no_text = MissExplanation("content_changed", "system block 0 changed", block_label="x")
    assert miss_line(no_text) == "system block 0 changed"


def test_imported_calls_tell_expiry_from_change() -> None:
    first = SessionCall(ts=T0, model="claude-opus-4-8", cache_read=0, write_5m=0, write_1h=900)
    later = SessionCall(
        ts=T0 + 3600, model="claude-opus-4-8", cache_read=0, write_5m=0, write_1h=900
    )
    found = explain_session_miss(later, first, "1h")
    assert found is not None and found.code == "expired"
    sooner = SessionCall(ts=T0 + 60, model="claude-opus-4-8", cache_read=0, write_5m=50, write_1h=0)
    found = explain_session_miss(sooner, first, "1h")
    assert found is not None and found.code == "content_changed"
    hit = SessionCall(ts=T0 + 60, model="claude-opus-4-8", cache_read=9, write_5m=0, write_1h=0)
    assert explain_session_miss(hit, first, "1h") is None
    other = SessionCall(ts=T0 + 60, model="claude-haiku-4-5", cache_read=0, write_5m=9, write_1h=0)
    found = explain_session_miss(other, first, "1h")
    assert found is not None and found.code == "model_changed"
