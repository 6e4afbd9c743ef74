"""Cache diagnostics: why a request could not reuse the prefix of a previous one.

Each response's prompt is remembered as a small fingerprint under its message id. A later
request that sends `diagnostics.previous_message_id` is compared with it, tier by tier in
the order the cache is keyed: model, tools, system, then the other prompt-affecting
parameters (`tool_choice`, `thinking`: reported as `unavailable`), then messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from promptcache_tui.core.prefix import RenderedBlock, canonical_json

_TIER_FIELDS = ("tool_choice", "thinking")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the diagnostics need to remember about one request's prompt."""

    model: str  # catalog id, plus the speed mode (a change of either is `model_changed`)
    tools: str
    system: str
    tier: str
    message_blocks: int  # rendered message blocks
    last_message_hash: str  # chained prefix hash of the last message block ("" if none)
    cached_tokens: int  # read + written by that request: what a follow-up could reuse

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Fingerprint:
        """Rebuild from `to_dict()` output."""
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__})


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def _strip(value: Any) -> Any:
    # cache_control is not part of any key: moving a marker changes nothing.
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k != "cache_control"}
    return value


def fingerprint(
    params: Mapping[str, Any], model_id: str, blocks: Sequence[RenderedBlock], cached_tokens: int
) -> Fingerprint:
    """The fingerprint of a rendered request."""
    system = params.get("system")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}] if system else []
    messages = [b for b in blocks if b.section == "messages"]
    return Fingerprint(
        model=f"{model_id}/{params.get('speed') or 'standard'}",
        tools=_digest([_strip(t) for t in params.get("tools") or []]),
        system=_digest([_strip(b) for b in system or []]),
        tier=_digest({k: params.get(k) for k in _TIER_FIELDS}),
        message_blocks=len(messages),
        last_message_hash=messages[-1].prefix_hash if messages else "",
        cached_tokens=cached_tokens,
    )


def _divergence(
    previous: Fingerprint, current: Fingerprint, message_hashes: Sequence[str]
) -> str | None:
    # The first tier that differs, in the order the cache is keyed.
    if previous.model != current.model:
        return "model_changed"
    if previous.tools != current.tools:
        return "tools_changed"
    if previous.system != current.system:
        return "system_changed"
    if previous.tier != current.tier:
        return "unavailable"
    if previous.message_blocks == 0:
        return None
    kept = previous.message_blocks <= len(message_hashes)
    if kept and message_hashes[previous.message_blocks - 1] == previous.last_message_hash:
        return None  # the previous messages are all there, unchanged: only appended to
    return "messages_changed"


def diagnose(
    previous: Fingerprint | None,
    current: Fingerprint,
    read_tokens: int,
    message_hashes: Sequence[str],
) -> dict[str, Any] | None:
    """The `cache_miss_reason` object, or None when there is nothing to explain.

    A reason is given when the prompt differs from the previous request's and, because of
    it, this request read less than the previous one had cached. A change past everything
    that was cached (a new question after the same context) misses nothing: None.
    `message_hashes` are the current request's chained prefix hashes of its message blocks.
    """
    if previous is None:
        return {"type": "previous_message_not_found"}
    kind = _divergence(previous, current, message_hashes)
    # Approximation: what the previous request had cached, less what this one still read.
    missed = previous.cached_tokens - read_tokens
    if kind is None or missed <= 0:
        return None
    if kind == "unavailable":
        return {"type": kind}
    return {"type": kind, "cache_missed_input_tokens": missed}
