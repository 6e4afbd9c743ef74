"""Why an observed call missed the cache, shown with the change.

Given the call that missed and an earlier call that wrote or read the cache (the previous
call of its group, or the most similar recent call of the same client), `explain_miss`
names the cause, telling apart:

- `below_minimum`: nothing was written at all: every marked prefix is under the minimum;
- `model_changed`: caches are per model;
- `tools_reordered`: the same tool definitions in another order (a different prefix);
- `content_changed`: the first block that differs, with a short diff of it (Claude Code's
  billing header, a timestamp in a system prompt...);
- `lookback_exceeded`: the earlier entry is a prefix of this call, but more than 20
  positions before every breakpoint of this call;
- `expired`: the earlier entry is a prefix of this call and reachable, but its TTL ran out
  (the gap is given);
- `first_write`: nothing earlier to compare with;
- `unexplained`: the entry should have been there (evicted early, another workspace).

`explain_session_miss` does what can be done for imported calls, which carry usage but no
request: expired, model changed, or "the prefix changed" without naming it. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from promptcache_tui.core.ttl import TTL_SECONDS

if TYPE_CHECKING:
    from promptcache_tui.core.observed import ObservedRequest

# The proxy's explanations need the advisor and the observed-request helpers; imported
# where used, because `explain_session_miss` runs in the status line after every Claude
# Code message and must not pay for them (benchmarks/bench_statusline.py).

CODES = (
    "below_minimum",
    "model_changed",
    "tools_reordered",
    "content_changed",
    "lookback_exceeded",
    "expired",
    "first_write",
    "unexplained",
)
DIFF_CONTEXT = 24  # characters of unchanged text shown before a change
DIFF_WIDTH = 72  # characters of changed text shown at most
Resolve = Callable[[str], str]  # a model name to the id its cache lives under


def _as_sent(model: str) -> str:
    return model


@dataclass(frozen=True, slots=True)
class CallBlock:
    """One block of a call's prompt, as the explanation compares them."""

    index: int
    section: str
    message_index: int | None
    block_index: int
    role: str | None
    content_hash: str
    prefix_hash: str
    content: bytes | None = None  # None when recorded without content

    @property
    def label(self) -> str:
        """`tool Bash`, `system block 1`, `message 3 (user)`."""
        from promptcache_tui.core.observed import block_label

        return block_label(
            self.section, self.message_index, self.block_index, self.role, self.content
        )


@dataclass(frozen=True, slots=True)
class CallMark:
    """A breakpoint of a call: where, with which TTL, and whether it wrote or read."""

    block: int
    ttl: str
    prefix_hash: str
    prefix_tokens: int
    cached: bool


@dataclass(frozen=True, slots=True)
class CallShape:
    """What the explanation knows about one call."""

    ts: float
    model: str
    blocks: Sequence[CallBlock]
    marks: Sequence[CallMark]
    cache_read: int = 0
    cache_creation: int = 0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class MissExplanation:
    """The cause of a miss, one line (`summary`) and the evidence."""

    code: str
    summary: str
    block_index: int | None = None
    block_label: str | None = None
    before: str | None = None  # the changed block's old text around the change
    after: str | None = None  # ... and its new text
    gap_s: float | None = None  # seconds since the compared call
    previous_call_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form, for history detail and the UI."""
        return asdict(self)


class _Compared(TypedDict):
    """The evidence every explanation against an earlier call carries."""

    gap_s: float
    previous_call_id: int | None


def shape_of(
    request: ObservedRequest,
    *,
    ts: float,
    cache_read: int,
    cache_creation: int,
    cached: Sequence[bool],
    keep_content: bool = True,
    id: int | None = None,
) -> CallShape:
    """A rendered request and its outcome, as `explain_miss` takes it."""
    return CallShape(
        ts=ts,
        model=request.model,
        blocks=[
            CallBlock(
                index=b.index,
                section=b.section,
                message_index=b.message_index,
                block_index=b.block_index,
                role=b.role,
                content_hash=b.content_hash,
                prefix_hash=b.prefix_hash,
                content=b.content if keep_content else None,
            )
            for b in request.blocks
        ],
        marks=[
            CallMark(
                block=m.block,
                ttl=m.ttl,
                prefix_hash=m.prefix_hash,
                prefix_tokens=m.prefix_tokens,
                cached=flag,
            )
            for m, flag in zip(request.breakpoints, cached, strict=True)
        ],
        cache_read=cache_read,
        cache_creation=cache_creation,
        id=id,
    )


def short_diff(old: str, new: str) -> tuple[str, str]:
    """The two texts around their first difference: a little common context, then the change.

    `…` marks text left out. Common text before the change is cut to `DIFF_CONTEXT`
    characters, the changed part to `DIFF_WIDTH`, and a little common text after it is kept
    when it fits.
    """
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]:
        end += 1

    def excerpt(text: str) -> str:
        lead = max(0, start - DIFF_CONTEXT)
        head = ("…" if lead else "") + text[lead:start]
        middle = text[start : len(text) - end]
        if len(middle) > DIFF_WIDTH:
            return head + middle[:DIFF_WIDTH] + "…"
        room = max(0, DIFF_WIDTH - len(middle))
        tail_end = len(text) - end + min(end, room, DIFF_CONTEXT)
        tail = text[len(text) - end : tail_end]
        more = "…" if tail_end < len(text) else ""
        return head + middle + tail + more

    return excerpt(old), excerpt(new)


def compact_diff(before: str, after: str) -> str:
    """One change on one line, `old → new`: the old excerpt up to the end of its change,
    then the new text from just before its change (`…cc_version=2.1.197.d87 → .1f0…`)."""
    limit = min(len(before), len(after))
    start = 0
    while start < limit and before[start] == after[start]:
        start += 1
    end = 0
    while end < limit - start and before[-1 - end] == after[-1 - end]:
        end += 1
    lead = before[max(0, start - 1) : start]  # a character of context: where it goes
    old = before[: len(before) - end]
    new = after[start : len(after) - end]
    more = "…" if end else ""
    if not new:
        return f"{old}{more} → (removed)"
    return f"{old} → {lead}{new}{more}"


def miss_line(found: MissExplanation) -> str:
    """Why a call missed, in one line of text from outside made safe for a terminal: the
    summary, with a changed block's diff as `old → new` where both texts were kept."""
    from promptcache_tui.core.sanitize import one_line

    if found.before is None or found.after is None:
        return one_line(found.summary)
    before, after = one_line(found.before), one_line(found.after)
    diff = compact_diff(before, after)
    shown = f": {one_line(found.after)}"
    summary = one_line(found.summary)
    if shown in summary:
        return summary.replace(shown, f": {diff}", 1)
    return f"{summary}: {diff}"


def _gap_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _first_difference(old: Sequence[CallBlock], new: Sequence[CallBlock]) -> int:
    """The first block index where the two prompts' prefixes part (len of the shorter if none)."""
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a.prefix_hash != b.prefix_hash:
            return i
    return min(len(old), len(new))


def common_prefix_blocks(old: Sequence[CallBlock], new: Sequence[CallBlock]) -> int:
    """How many leading blocks two prompts share (for picking the call to compare with)."""
    return _first_difference(old, new)


def pick_previous(current: CallShape, candidates: Sequence[CallShape]) -> CallShape | None:
    """The earlier call to explain a miss against: the one sharing the longest prefix.

    Ties go to the one sharing more blocks anywhere, then to the most recent. Only calls that
    wrote or read something count; a candidate sharing nothing at all is no comparison.
    """
    mine = Counter(b.content_hash for b in current.blocks)
    best: tuple[int, int, float] | None = None
    chosen = None
    for other in candidates:
        if not any(m.cached for m in other.marks) or other.ts > current.ts:
            continue
        shared = sum((mine & Counter(b.content_hash for b in other.blocks)).values())
        score = (common_prefix_blocks(other.blocks, current.blocks), shared, other.ts)
        if shared == 0 and score[0] == 0:
            continue
        if best is None or score > best:
            best, chosen = score, other
    return chosen


def _is_reordered(old: Sequence[CallBlock], new: Sequence[CallBlock]) -> bool:
    before = [b.content_hash for b in old if b.section == "tools"]
    after = [b.content_hash for b in new if b.section == "tools"]
    return len(before) > 1 and before != after and Counter(before) == Counter(after)


def explain_miss(
    current: CallShape,
    previous: CallShape | None,
    *,
    min_tokens: int | None,
    expiry: Mapping[str, float] | None = None,
    resolve: Resolve = _as_sent,
) -> MissExplanation | None:
    """Why `current` missed the cache; None when it did not, or marked nothing.

    A call misses when it reads nothing, or partly, when it reads less than it would have
    had nothing changed: an entry `previous` left, reachable from one of this call's
    breakpoints, is gone because a block before it changed (e.g. a timestamp at the end of
    the system prompt). `previous` is the call to compare with (see `pick_previous`);
    `expiry` maps a prefix hash to when the ledger believed its entry expired just before
    `current` (refreshes by other calls included); without it the previous call's own
    time + TTL is used. `resolve` maps a model name to its cache's id (the catalog's
    `cache_id`): an alias and its dated id are one model, not a model change.
    """
    from promptcache_tui.core.advisor import LOOKBACK_BLOCKS

    if not current.marks:
        return None
    if current.cache_read > 0:
        return _partial(current, previous, resolve)
    if current.cache_creation == 0:
        longest = max(m.prefix_tokens for m in current.marks)
        floor = f"{min_tokens}" if min_tokens is not None else "the model's minimum"
        return MissExplanation(
            "below_minimum",
            f"under the minimum: nothing was written (longest marked prefix about {longest} "
            f"tokens, minimum {floor})",
        )
    if previous is None:
        return MissExplanation("first_write", "first write: no earlier call to compare with")
    gap = current.ts - previous.ts
    base: _Compared = {"gap_s": round(gap, 3), "previous_call_id": previous.id}
    if resolve(previous.model) != resolve(current.model):
        return MissExplanation(
            "model_changed",
            f"model changed: {previous.model} -> {current.model} (caches are per model)",
            **base,
        )
    split = _first_difference(previous.blocks, current.blocks)
    entries = [m for m in previous.marks if m.cached]
    shared = [m for m in entries if m.block < split]
    if not shared:
        return _changed(current, previous, split, entries, gap, base)
    reachable = [m for m in shared if _reaches(current, m)]
    if not reachable:
        entry = max(shared, key=lambda m: m.block)
        nearest = min((m.block for m in current.marks if m.block >= entry.block), default=None)
        distance = f"{nearest - entry.block} blocks" if nearest is not None else "no breakpoint"
        return MissExplanation(
            "lookback_exceeded",
            f"lookback exceeded: the cached prefix ends at block {entry.block}, this call's "
            f"nearest breakpoint is {distance} later (lookups reach {LOOKBACK_BLOCKS - 1} back)",
            block_index=entry.block,
            **base,
        )
    ends = [
        (expiry or {}).get(m.prefix_hash, previous.ts + TTL_SECONDS.get(m.ttl, 300))
        for m in reachable
    ]
    if all(end <= current.ts for end in ends):
        ttl = max((m.ttl for m in reachable), key=lambda t: TTL_SECONDS.get(t, 300))
        return MissExplanation(
            "expired",
            f"expired: {_gap_text(gap)} since the previous call, past its {ttl} TTL",
            **base,
        )
    return MissExplanation(
        "unexplained",
        "missed although the same prefix should still be cached (evicted early, or another "
        "workspace or key)",
        **base,
    )


def _reaches(current: CallShape, entry: CallMark) -> bool:
    """Whether one of `current`'s breakpoints looks back far enough to find `entry`."""
    from promptcache_tui.core.advisor import LOOKBACK_BLOCKS

    return any(0 <= mine.block - entry.block < LOOKBACK_BLOCKS for mine in current.marks)


def _partial(
    current: CallShape, previous: CallShape | None, resolve: Resolve
) -> MissExplanation | None:
    """A call that read something, but less than it would have with nothing changed."""
    if previous is None or resolve(previous.model) != resolve(current.model):
        return None
    split = _first_difference(previous.blocks, current.blocks)
    if split >= len(current.blocks):
        return None  # this prompt is a prefix of the earlier one: nothing of it changed
    lost = [m for m in previous.marks if m.cached and m.block >= split and _reaches(current, m)]
    if not lost:
        return None  # the conversation only grew
    gap = current.ts - previous.ts
    base: _Compared = {"gap_s": round(gap, 3), "previous_call_id": previous.id}
    found = _changed(current, previous, split, [], gap, base)
    return MissExplanation(
        found.code,
        "partly missed: " + found.summary,
        block_index=found.block_index,
        block_label=found.block_label,
        before=found.before,
        after=found.after,
        gap_s=found.gap_s,
        previous_call_id=found.previous_call_id,
    )


def _changed(
    current: CallShape,
    previous: CallShape,
    split: int,
    entries: Sequence[CallMark],
    gap: float,
    base: _Compared,
) -> MissExplanation:
    """The change at block `split` came before every entry the previous call left."""
    from promptcache_tui.core.observed import block_text

    expired = entries and all(
        previous.ts + TTL_SECONDS.get(m.ttl, 300) <= current.ts for m in entries
    )
    also = f" (and {_gap_text(gap)} had passed: past the TTL too)" if expired else ""
    if split >= len(current.blocks):
        first = min(m.block for m in entries) if entries else split
        return MissExplanation(
            "content_changed",
            f"prompt ends before the cached prefix (block {first}){also}",
            block_index=split,
            **base,
        )
    if _is_reordered(previous.blocks, current.blocks) and current.blocks[split].section == "tools":
        return MissExplanation(
            "tools_reordered",
            f"tools reordered: the same tool definitions in another order{also}",
            block_index=split,
            block_label=current.blocks[split].label,
            **base,
        )
    new = current.blocks[split]
    old = previous.blocks[split] if split < len(previous.blocks) else None
    if old is not None and old.content_hash == new.content_hash:
        # Same content, other place: something before it was inserted or removed.
        return MissExplanation(
            "content_changed",
            f"{new.label} moved: blocks before it were added or removed{also}",
            block_index=split,
            block_label=new.label,
            **base,
        )
    before = after = None
    if old is not None and old.content is not None and new.content is not None:
        before, after = short_diff(block_text(old.content), block_text(new.content))
    what = f"{new.label} changed" if old is not None else f"{new.label} added"
    shown = f": {after}" if after is not None else ""
    return MissExplanation(
        "content_changed",
        f"{what}{shown}{also}",
        block_index=split,
        block_label=new.label,
        before=before,
        after=after,
        **base,
    )


@dataclass(frozen=True, slots=True)
class SessionCall:
    """An imported call: usage only (no request), in time order."""

    ts: float
    model: str
    cache_read: int
    write_5m: int
    write_1h: int
    id: int | None = None

    @property
    def wrote_ttl(self) -> str | None:
        """The TTL of this call's write: the larger part of its 5m / 1h split."""
        if self.write_5m <= 0 and self.write_1h <= 0:
            return None
        return "1h" if self.write_1h >= self.write_5m else "5m"


def explain_session_miss(
    current: SessionCall,
    previous: SessionCall | None,
    ttl: str | None,
    resolve: Resolve = _as_sent,
) -> MissExplanation | None:
    """Why an imported call read nothing, from usage alone.

    `previous` is the session's call before it and `ttl` the TTL its cache had then (from
    the last write). Without the request, a change can be detected but not named.
    `resolve` as for `explain_miss`: an alias and its dated id are one model.
    """
    if current.cache_read > 0 or (current.write_5m + current.write_1h) == 0:
        return None
    if previous is None:
        return MissExplanation("first_write", "first write of the session")
    gap = current.ts - previous.ts
    base: _Compared = {"gap_s": round(gap, 3), "previous_call_id": previous.id}
    if resolve(previous.model) != resolve(current.model):
        return MissExplanation(
            "model_changed",
            f"model changed: {previous.model} -> {current.model} (caches are per model)",
            **base,
        )
    if ttl is not None and gap >= TTL_SECONDS.get(ttl, 300):
        return MissExplanation(
            "expired",
            f"expired: {_gap_text(gap)} since the previous call, past its {ttl} TTL",
            **base,
        )
    return MissExplanation(
        "content_changed",
        "the prefix changed since the previous call (a transcript does not say which block; "
        "watch through the proxy to see it)",
        **base,
    )
