"""Cache diagnostics: where a request's prompt diverged from a previous request's.

As the cache-diagnostics page describes it: a request that carries a `diagnostics` object
has a small fingerprint of its prompt stored under its message id (a request without one
stores nothing). A later request naming it in `diagnostics.previous_message_id` is
compared with it, and the response says where they first diverged. The comparison is
about the structure of the two prompts, whether or not this call hit the cache: two
uncached calls whose system prompts differ still report `system_changed`.

Order of the comparison, first difference wins:

1. `unavailable` when either request uses what the API cannot fingerprint:
   `context_management`, `output_config`, `output_format`, or beta headers (other than the
   cache-diagnosis beta itself);
2. `model_changed` (the model id, aliases resolved), `tools_changed` (the tools as sent),
   `system_changed` (system blocks, or the system-tier settings: speed, citations);
3. `unavailable` when only `tool_choice`, `thinking` or `output_config.effort` differ;
4. `messages_changed` when an earlier message differs (or the number of images, which keys
   the messages tier), rather than messages only being appended; else no divergence.

`cache_missed_input_tokens` approximates what would have been read had the prefix matched:
what the previous request had cached (read + written), less what this one read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from promptcache_tui.sim.positions import Rendering

# The opt-in header of the diagnostics beta is not a feature that changes the prompt.
DIAGNOSTICS_BETA_PREFIX = "cache-diagnosis-"
_UNFINGERPRINTED = ("context_management", "output_config", "output_format")
_KEY_CHARS = 16  # of each message position's key: plenty to tell prompts apart, small to store


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the diagnostics remember about one request's prompt."""

    model: str
    tools: str
    system: str
    settings: str  # tool_choice, thinking, effort
    images: int
    message_keys: tuple[str, ...]  # key prefixes of the message positions, in order
    opaque: bool  # used something the API cannot fingerprint
    cached_tokens: int  # read + written by that request

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["message_keys"] = list(self.message_keys)
        return data

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Fingerprint | None:
        """Rebuild from `to_dict()` output; None for a fingerprint of an older shape."""
        try:
            return cls(
                model=str(raw["model"]),
                tools=str(raw["tools"]),
                system=str(raw["system"]),
                settings=str(raw["settings"]),
                images=int(raw["images"]),
                message_keys=tuple(str(k) for k in raw["message_keys"]),
                opaque=bool(raw["opaque"]),
                cached_tokens=int(raw["cached_tokens"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _betas(header: str | Sequence[str] | None) -> list[str]:
    if header is None:
        return []
    items = header.split(",") if isinstance(header, str) else list(header)
    return [b.strip() for b in items if b.strip()]


def fingerprint(
    params: Mapping[str, Any],
    model_id: str,
    rendering: Rendering,
    cached_tokens: int,
    betas: str | Sequence[str] | None = None,
) -> Fingerprint:
    """The fingerprint of a rendered request."""
    features = [b for b in _betas(betas) if not b.startswith(DIAGNOSTICS_BETA_PREFIX)]
    opaque = bool(features) or any(params.get(k) is not None for k in _UNFINGERPRINTED)
    return Fingerprint(
        model=model_id,
        tools=rendering.tools_digest,
        system=rendering.system_digest,
        settings=rendering.message_settings_digest,
        images=rendering.image_count,
        message_keys=tuple(p.key[:_KEY_CHARS] for p in rendering.in_section("messages")),
        opaque=opaque,
        cached_tokens=cached_tokens,
    )


def _divergence(previous: Fingerprint, current: Fingerprint) -> str | None:
    if previous.opaque or current.opaque:
        return "unavailable"
    if previous.model != current.model:
        return "model_changed"
    if previous.tools != current.tools:
        return "tools_changed"
    if previous.system != current.system:
        return "system_changed"
    if previous.settings != current.settings:
        return "unavailable"
    if previous.images != current.images:
        return "messages_changed"
    kept = current.message_keys[: len(previous.message_keys)]
    return None if kept == previous.message_keys else "messages_changed"


def diagnose(
    previous: Fingerprint | None, current: Fingerprint, read_tokens: int
) -> dict[str, Any] | None:
    """The `cache_miss_reason` object, or None when the prompts did not diverge."""
    if previous is None:
        return {"type": "previous_message_not_found"}
    kind = _divergence(previous, current)
    if kind is None:
        return None
    if kind == "unavailable":
        return {"type": kind}
    return {"type": kind, "cache_missed_input_tokens": max(0, previous.cached_tokens - read_tokens)}
