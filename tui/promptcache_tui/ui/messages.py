"""Every message the UI passes around, as small dataclasses.

The flow of one chat call:
`PromptSubmitted -> CallStarted -> TextDelta* -> CallFinished(record) -> UsageLogged`
(`CallFailed` replaces the last two when the call could not even be attempted).
A warm call, from the warm key or a keep-warm ping:
`WarmFinished(record) -> UsageLogged` (or `WarmFailed`); it never touches a conversation.
Observed traffic: `GroupsLoaded` (the sidebar's groups), `GroupLoaded` (one selected), and
once a second, when any process logged something, `CallsFollowed` (ui/parts/follow.py).
Workers only ever post these; the part that receives them (and then the screen, as they
bubble up) owns the widgets and the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from promptcache_tui.calls.service import CallService
    from promptcache_tui.core.catalog import Catalog
    from promptcache_tui.core.context import Context
    from promptcache_tui.core.miss import MissExplanation
    from promptcache_tui.core.records import CallRecord
    from promptcache_tui.core.request import Turn
    from promptcache_tui.core.ttl import CacheEvent
    from promptcache_tui.store import ContextSummary, Store
    from promptcache_tui.store.calls import Totals
    from promptcache_tui.store.conversations import ConversationSummary
    from promptcache_tui.store.observed import ObservedGroup
    from promptcache_tui.store.watch import CallWatch


@dataclass
class BackendReady(Message):
    """The store is open, the catalog loaded and the call service ready."""

    store: Store
    catalog: Catalog
    service: CallService


@dataclass
class BackendFailed(Message):
    """The store or the simulator could not start; `error` is one line."""

    error: str


@dataclass
class ContextsLoaded(Message):
    """The contexts list, most recently used first, and which one to select. The first load
    also brings the watch that follows the log from then on, and the observed groups."""

    summaries: list[ContextSummary]
    select_id: int | None = None
    watch: CallWatch | None = None
    groups: list[ObservedGroup] | None = None


@dataclass
class GroupsLoaded(Message):
    """Observed groups for the sidebar: all of them (`complete`), or some that changed."""

    groups: list[ObservedGroup]
    complete: bool


@dataclass
class GroupLoaded(Message):
    """A selected observed group: its caches, its recent calls, why they missed, totals."""

    group: ObservedGroup
    records: list[CallRecord]
    misses: dict[int, MissExplanation]
    totals: Totals


@dataclass
class CallsFollowed(Message):
    """What any process logged since the last poll: new calls and calls that settled
    (oldest first), their cache events, why they missed, the observed groups they belong
    to (refreshed), and the totals of the group `shown` when its calls changed."""

    added: list[CallRecord]
    settled: list[CallRecord]
    events: list[CacheEvent]  # what those calls wrote or read, for the ledger
    misses: dict[int, MissExplanation]
    groups: list[ObservedGroup]
    shown: str | None = None
    totals: Totals | None = None


@dataclass
class SaveReady(Message):
    """A call to save as a context, with its breakpoints' labels and a name to suggest."""

    group: ObservedGroup
    record: CallRecord
    labels: list[str]  # one per breakpoint of the call, in order
    suggestion: str


@dataclass
class GroupRenamed(Message):
    """An observed group was renamed."""

    key: str
    notice: str


@dataclass
class ContextLoaded(Message):
    """A selected context with its latest conversation, recent calls and cache events."""

    context: Context
    conversation_id: int | None
    turns: list[Turn]
    records: list[CallRecord]
    events: list[CacheEvent]


@dataclass
class TokensCounted(Message):
    """Live: the context's prefix tokens, counted with count_tokens (for these hashes)."""

    hashes: tuple[str, ...]
    model: str
    counts: list[int]


@dataclass
class ConversationLoaded(Message):
    """A stored conversation to resume."""

    conversation_id: int
    turns: list[Turn]


@dataclass
class ConversationsListed(Message):
    """The selected context's stored conversations, to pick one from."""

    context: str
    conversations: list[ConversationSummary]


@dataclass
class PromptSubmitted(Message):
    """The user pressed Enter in the chat input."""

    text: str


@dataclass
class PromptWaiting(Message):
    """A prompt sent before the store was open is shown, waiting to go out."""


@dataclass
class CallStarted(Message):
    """A call is on its way; the conversation it belongs to now exists."""

    conversation_id: int


@dataclass
class TextDelta(Message):
    """A piece of the streamed answer."""

    text: str


@dataclass
class CallFinished(Message):
    """The call service logged the call (status ok or error)."""

    record: CallRecord
    prompt: str


@dataclass
class CallFailed(Message):
    """The call could not be made at all (a store or context problem); nothing was logged."""

    prompt: str
    error: str


@dataclass
class UsageLogged(Message):
    """A logged call for the usage panel."""

    record: CallRecord


@dataclass
class ContextSaved(Message):
    """A context was created, edited, renamed or duplicated; select it."""

    context_id: int | None
    notice: str = ""
    chat: bool = False  # show its chat (the view shown where only one fits)


@dataclass
class WarmFinished(Message):
    """A prefill-only warm call was logged (status ok or error); `ping`: sent by keep-warm."""

    record: CallRecord
    context_id: int
    ping: bool


@dataclass
class WarmFailed(Message):
    """A warm call could not be made at all (nothing was logged)."""

    context_id: int
    context: str
    error: str
    ping: bool


@dataclass
class KeepWarmSaved(Message):
    """The keep-warm flag of a context was stored (`error` set when it was not)."""

    context: Context
    error: str | None = None


@dataclass
class PlannerReady(Message):
    """What the TTL planner needs: the context, its model and the gap found in its history."""

    context: Context
    model: str
    gap_s: float | None


@dataclass
class KeepWarmStatus(Message):
    """Keep-warm's counter changed (None: nothing to show)."""

    text: str | None


@dataclass
class PrefixesLoaded(Message):
    """The sidebar items' breakpoint hashes (by item key) and the cache events behind them."""

    hashes: dict[str, tuple[str, ...]]
    events: list[CacheEvent]
