"""Named cached contexts: ordered blocks with up to four cache breakpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Literal

from promptcache_tui.core.errors import UserError
from promptcache_tui.core.ttl import TTL_SECONDS

Ttl = Literal["5m", "1h"]
MAX_BREAKPOINTS = 4
BLOCK_KINDS = ("tools", "system", "document", "example")
# Rendering order of the API: tools -> system (instructions and documents) -> messages.
SECTION_OF = {"tools": "tools", "system": "system", "document": "system", "example": "messages"}
SECTION_RANK = {"tools": 0, "system": 1, "messages": 2}
MAX_NAME_LENGTH = 64
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ContextError(UserError, ValueError):
    """A context is invalid; the message is one line for the user."""


_TTLS: dict[str, Ttl] = {"5m": "5m", "1h": "1h"}


def as_ttl(value: str) -> Ttl:
    """`value` as a breakpoint TTL (5m or 1h); ContextError for anything else."""
    found = _TTLS.get(value)
    if found is None:
        raise ContextError(f"invalid TTL {value!r}: use 5m or 1h")
    return found


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of a context: instructions, a document, tool definitions or an example turn."""

    kind: str  # one of BLOCK_KINDS
    text: str  # tools: a JSON array of tool definitions
    name: str = ""  # document file name or label
    role: str = "user"  # example turns only: "user" | "assistant"

    @property
    def section(self) -> str:
        """Where the API renders this block: tools, system or messages."""
        return SECTION_OF[self.kind]

    def label(self) -> str:
        """A short human label."""
        if self.kind == "document":
            return f"document {self.name}" if self.name else "document"
        if self.kind == "example":
            return f"example ({self.role})"
        return self.kind


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """A cache breakpoint after block `block` (an index into the context's blocks)."""

    block: int
    ttl: Ttl = "5m"


@dataclass(frozen=True, slots=True)
class Context:
    """A named, cacheable prompt prefix."""

    name: str
    blocks: tuple[Block, ...] = ()
    breakpoints: tuple[Breakpoint, ...] = ()
    model: str = "claude-sonnet-4-6"
    id: int | None = None
    keep_warm: bool = False
    created_at: str | None = field(default=None, compare=False)
    last_used_at: str | None = field(default=None, compare=False)

    def sorted_breakpoints(self) -> tuple[Breakpoint, ...]:
        """Breakpoints in prompt order."""
        return tuple(sorted(self.breakpoints, key=lambda b: b.block))

    def with_changes(self, **changes: object) -> Context:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


def validate_name(name: str) -> str:
    """Return `name` if it is a valid context name, else raise ContextError."""
    if not NAME_RE.fullmatch(name or ""):
        raise ContextError(
            f"invalid context name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def unused_name(base: str, taken: Collection[str], *, sep: str = "-") -> str:
    """`base` if no context has that name, else `base{sep}2`, `base{sep}3`... (names compare
    case-insensitively, as the store does); the stem is shortened to keep a valid length."""
    folded = {name.casefold() for name in taken}
    for number in range(1, len(folded) + 2):
        tail = "" if number == 1 else f"{sep}{number}"
        name = base[: MAX_NAME_LENGTH - len(tail)] + tail
        if name.casefold() not in folded:
            return name
    raise AssertionError("unreachable: one of len(taken) + 1 names is free")


def name_from(text: str, fallback: str, *, limit: int = 40) -> str:
    """A valid context name made from free text (an observed group's name, `client ·
    first words (24 tools)`): the words after the client, lower case, ASCII letters and
    digits joined by '-', cut at a word to `limit`; `fallback` when nothing is left."""
    text = text.split(" · ", 1)[-1]
    text = re.sub(r"\([^)]*\)", " ", text)  # "(24 tools)"
    name = ""
    for word in re.findall(r"[A-Za-z0-9]+", text.lower()):
        longer = f"{name}-{word}" if name else word
        if len(longer) > limit:
            break
        name = longer
    return name if NAME_RE.fullmatch(name) else fallback


def parse_tools(text: str) -> list[dict[str, object]]:
    """Parse a tools block: a JSON array of tool definitions (each with a name)."""
    try:
        tools = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContextError(f"tool definitions are not valid JSON: {exc.msg}") from exc
    if isinstance(tools, dict):
        tools = [tools]
    if (
        not isinstance(tools, list)
        or not tools
        or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools)
    ):
        raise ContextError("tool definitions must be a JSON list of objects with a name")
    return tools


def check_context(ctx: Context) -> list[str]:
    """Every reason the context cannot be sent as it is (empty list when it can)."""
    problems: list[str] = []
    if not NAME_RE.fullmatch(ctx.name or ""):
        problems.append(f"invalid context name {ctx.name!r}")
    if not ctx.blocks:
        problems.append("a context needs at least one block")
    ranks = [SECTION_RANK[b.section] for b in ctx.blocks if b.kind in SECTION_OF]
    if any(b.kind not in SECTION_OF for b in ctx.blocks):
        problems.append("unknown block kind")
    elif ranks != sorted(ranks):
        problems.append("blocks must be ordered tools, then system and documents, then examples")
    for block in ctx.blocks:
        if block.kind == "example" and block.role not in ("user", "assistant"):
            problems.append(f"example role must be user or assistant, not {block.role!r}")
        if block.kind == "tools":
            try:
                parse_tools(block.text)
            except ContextError as exc:
                problems.append(str(exc))
    if len(ctx.breakpoints) > MAX_BREAKPOINTS:
        problems.append(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {len(ctx.breakpoints)}."
        )
    seen: set[int] = set()
    for bp in ctx.breakpoints:
        if bp.ttl not in TTL_SECONDS:
            problems.append(f"invalid TTL {bp.ttl!r}: use 5m or 1h")
        if not 0 <= bp.block < len(ctx.blocks):
            problems.append(f"breakpoint after block {bp.block + 1} points past the last block")
        elif not ctx.blocks[bp.block].text.strip():
            problems.append("cache_control cannot be set for empty text blocks")
        if bp.block in seen:
            problems.append(f"two breakpoints on block {bp.block + 1}")
        seen.add(bp.block)
    ttls = [bp.ttl for bp in ctx.sorted_breakpoints()]
    if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
        problems.append("a 1h breakpoint must come before every 5m breakpoint")
    return problems


def require_valid(ctx: Context) -> Context:
    """Return `ctx` if it can be sent, else raise ContextError with the first problem."""
    problems = check_context(ctx)
    if problems:
        raise ContextError(problems[0])
    return ctx
