"""What the chat's place shows for an observed group: what it is, its totals, what to do.

The chat talks to named contexts only. An observed group (calls through the recording proxy,
or a Claude Code session) cannot be sent a prompt from here, so instead of an input this
pane says what the group is, sums its calls, names its latest miss with the change, and
offers the ways on: Save as context (then chat, edit, plan), rename, its history. Keys do
the same (f6, f3, ctrl+r); the buttons only post the screen's actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from promptcache_tui.core.formatting import local_time, money, percent
from promptcache_tui.core.sanitize import one_line

if TYPE_CHECKING:
    from promptcache_tui.core.miss import MissExplanation
    from promptcache_tui.core.records import CallRecord
    from promptcache_tui.store.calls import Totals
    from promptcache_tui.store.observed import ObservedGroup

PROXY_TEXT = (
    "Calls your own program made through the recording proxy (promptcache-tui proxy), "
    "grouped by client, model and tools + system prompt. New calls show here within a "
    "second, with their cost, what they cached and why they missed."
)
CLAUDE_CODE_TEXT = (
    "A Claude Code session, imported from its transcript (import claude-code --follow, or "
    "the status line, keeps it current). A transcript keeps usage, not the prompt: to save "
    "a prefix as a context, or to see which block changed when a call missed, run Claude "
    "Code through the proxy (ANTHROPIC_BASE_URL=http://127.0.0.1:8788 claude)."
)
CHAT_TEXT = (
    "There is no chat with observed traffic. Save as context copies a call's prefix "
    "(its tools, system prompt and messages up to a breakpoint) into a named context: "
    "chat with it, move its breakpoints in the editor (f2), plan its TTL (f9)."
)


def summary_text(
    group: ObservedGroup,
    totals: Totals | None,
    records: list[CallRecord],
    now: float,
    misses: dict[int, MissExplanation] | None = None,
) -> Content:
    """The group in a few lines: name, who and what, totals, its latest miss (with the
    change, where it is known)."""
    from promptcache_tui.core.miss import miss_line

    kind = "through the proxy" if group.kind == "proxy" else "Claude Code session"
    who = [kind, group.client or "unknown client", group.model or "?"]
    if group.kind == "claude-code" and group.project:
        who.append(group.project)
    parts: list[str | tuple[str, str]] = [
        (one_line(group.name), "bold"),
        ("\n" + one_line(" · ".join(who)), "$text-muted"),
    ]
    if totals is not None and totals.calls:
        last = f" · last {local_time(group.last_ts, now)}" if group.last_ts else ""
        parts.append(
            f"\n{totals.calls:,} call{'s' if totals.calls != 1 else ''} · cost "
            f"{money(totals.cost_usd)} · saved {money(totals.saved_usd)} · hit "
            f"{percent(totals.hit_rate)}{last}"
        )
    # A first write is how a cache starts, not a miss to explain.
    missed = next(
        (
            r
            for r in records
            if r.cache_miss_reason
            and r.status == "ok"
            and not r.cache_miss_reason.startswith("first write")
        ),
        None,
    )
    if missed is not None:
        parts.append(
            (f"\nlatest miss ({local_time(missed.ts, now)}): ", "$text-warning"),
        )
        found = (misses or {}).get(missed.id) if missed.id is not None else None
        parts.append(miss_line(found) if found else one_line(missed.cache_miss_reason or ""))
    return Content.assemble(*parts)


class ObservedPane(VerticalScroll):
    """An observed group where the chat would be: what it is and what can be done with it."""

    DEFAULT_CSS = """
    ObservedPane {
        padding: 1 1;
    }
    ObservedPane > Static { margin-bottom: 1; }
    ObservedPane > #observed-about, ObservedPane > #observed-chat { color: $text-muted; }
    ObservedPane > Horizontal { height: auto; margin-bottom: 1; }
    ObservedPane Button { margin-right: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.group: ObservedGroup | None = None
        self.totals: Totals | None = None
        self.misses: dict[int, MissExplanation] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="observed-summary")
        yield Static("", id="observed-about", markup=False)
        yield Static(CHAT_TEXT, id="observed-chat", markup=False)
        with Horizontal(id="observed-actions"):
            yield Button("Save as context · f6", id="observed-save", compact=True)
            yield Button("Rename · f3", id="observed-rename", compact=True)
            yield Button("History · ctrl+r", id="observed-history", compact=True)

    def show(
        self,
        group: ObservedGroup,
        totals: Totals | None,
        records: list[CallRecord],
        now: float,
        misses: dict[int, MissExplanation] | None = None,
    ) -> None:
        """Say what this group is (again, when its calls changed)."""
        self.group = group
        if totals is not None:
            self.totals = totals
        if misses is not None:
            self.misses = dict(misses)
        self.query_one("#observed-summary", Static).update(
            summary_text(group, self.totals, records, now, self.misses)
        )
        proxied = group.kind == "proxy"
        self.query_one("#observed-about", Static).update(
            PROXY_TEXT if proxied else CLAUDE_CODE_TEXT
        )
        self.query_one("#observed-chat", Static).display = proxied
        self.query_one("#observed-save", Button).display = proxied

    @property
    def text(self) -> str:
        """What the pane says (for tests)."""
        return "\n".join(str(s.render()) for s in self.query(Static) if s.display)

    def focus_first(self) -> None:
        """Put the focus on the first action (the keys work anywhere on the screen)."""
        for button in self.query(Button):
            if button.display:
                button.focus()
                return

    @on(Button.Pressed)
    async def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = {
            "observed-save": "save_as_context",
            "observed-rename": "rename_context",
            "observed-history": "history",
        }.get(event.button.id or "")
        if action is not None:
            await self.screen.run_action(action)
