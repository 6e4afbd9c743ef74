"""The TTL planner for the selected context: expected cost per hour of each caching strategy.

The gap between calls comes from the context's recent chat and ask calls, or is typed by the
user (90s, 4m, 1h). The arithmetic is `core.planner` through `calls.planning`; this screen
only asks and shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from promptcache_tui.calls.planning import gap_text, plan_for
from promptcache_tui.core.formatting import money
from promptcache_tui.core.planner import parse_gap

if TYPE_CHECKING:
    from promptcache_tui.core.catalog import Catalog
    from promptcache_tui.core.context import Context
    from promptcache_tui.core.planner import Plan

STRATEGIES = {
    "none": "no caching",
    "5m": "5m TTL",
    "1h": "1h TTL",
    "5m+keep-warm": "5m + keep-warm",
}
COLUMNS = (
    ("strategy", 16),
    ("cost / hour", 11),
    ("calls", 5),
    ("writes", 6),
    ("reads", 5),
    ("pings", 5),
    ("", 11),
)


def gap_note(gap_s: float) -> str:
    """What the gap means for each TTL, in a sentence."""
    if gap_s >= 3600:
        return (
            "Your calls are an hour or more apart: no entry survives between them "
            "unless it is kept warm."
        )
    if gap_s >= 300:
        return (
            "Your calls are 5 minutes or more apart: a 5m entry expires between them "
            "(keep-warm pings it first); a 1h entry survives."
        )
    return "Your calls come within 5 minutes: either TTL is read back between calls."


class PlannerScreen(ModalScreen[None]):
    """Cost per hour of no caching, 5m, 1h and 5m with keep-warm, the cheapest marked."""

    DEFAULT_CSS = """
    PlannerScreen { align: center middle; }
    PlannerScreen > Vertical {
        width: 96;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    PlannerScreen .dialog-title { text-style: bold; }
    PlannerScreen #planner-prefix { color: $text-muted; }
    PlannerScreen #planner-gap-row { height: 3; margin-top: 1; }
    PlannerScreen #planner-gap-row > Label { width: auto; padding: 1 1 0 0; }
    PlannerScreen #planner-gap { width: 18; }
    PlannerScreen #planner-source { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    PlannerScreen #planner-error { color: $error; height: auto; }
    PlannerScreen #planner-table { height: auto; margin-top: 1; }
    PlannerScreen #planner-cheapest { text-style: bold; color: $success; margin-top: 1; }
    PlannerScreen #planner-unknown { color: $warning; }
    PlannerScreen .planner-text { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="planner.close"),
    ]

    def __init__(
        self,
        ctx: Context,
        model: str,
        catalog: Catalog,
        history_gap: float | None,
        *,
        ping_lead_s: float = 30.0,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.model = model
        self.catalog = catalog
        self.history_gap = history_gap
        self.ping_lead_s = ping_lead_s
        self.plan: Plan | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"TTL planner: {self.ctx.name}", classes="dialog-title", markup=False)
            yield Static("", id="planner-prefix", classes="planner-text", markup=False)
            with Horizontal(id="planner-gap-row"):
                yield Label("A call every")
                yield Input(
                    gap_text(self.history_gap) if self.history_gap else "",
                    placeholder="90s, 4m, 1h",
                    id="planner-gap",
                )
                yield Label(self._source_text(), id="planner-source", markup=False)
            yield Label("", id="planner-error", markup=False)
            table: DataTable[str | Text] = DataTable(cursor_type="none", id="planner-table")
            for label, width in COLUMNS:
                table.add_column(label, width=width)
            yield table
            yield Label("", id="planner-cheapest", markup=False)
            yield Label("", id="planner-unknown", markup=False)
            yield Static("", id="planner-note", classes="planner-text", markup=False)
            yield Static("", id="planner-break-even", classes="planner-text", markup=False)
            yield Label("enter to recompute · escape to close", classes="dialog-hint")

    def _source_text(self) -> str:
        if self.history_gap is None:
            return "no recent chat or ask calls to take it from: type a gap"
        return "the typical gap between your recent chat and ask calls"

    def on_mount(self) -> None:
        settle = getattr(self.app, "settle_cursor", None)
        if settle is not None:
            settle(self)
        self.query_one("#planner-gap", Input).focus()
        if self.history_gap is not None:
            self.show_plan(self.history_gap)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            if not event.value.strip():
                raise ValueError("type the time between your calls first: e.g. 90s, 4m or 1h")
            gap_s = parse_gap(event.value)
        except ValueError as exc:
            self.query_one("#planner-error", Label).update(str(exc))
            self.notify(str(exc), title="Bad gap", severity="error")
            return
        self.query_one("#planner-error", Label).update("")
        self.query_one("#planner-source", Label).update("typed")
        self.show_plan(gap_s)

    def show_plan(self, gap_s: float) -> None:
        """Compute and show the plan for calls every `gap_s` seconds."""
        from promptcache_tui.core.context import ContextError

        try:
            result = plan_for(
                self.ctx, gap_s, self.catalog, model=self.model, ping_lead_s=self.ping_lead_s
            )
        except (ContextError, ValueError) as exc:
            self.query_one("#planner-error", Label).update(str(exc))
            self.notify(str(exc), title="Cannot plan", severity="error")
            return
        self.plan = result
        info = self.catalog.get(self.model)
        price = (
            f" at ${info.input:.2f}/MTok input"
            if info and info.input is not None
            else " (price unknown)"
        )
        self.query_one("#planner-prefix", Static).update(
            f"~{result.prefix_tokens:,} cached tokens (estimated) on {self.model}{price}; "
            f"one hour of calls every {gap_text(gap_s)}"
        )
        table: DataTable[str | Text] = self.query_one("#planner-table", DataTable)  # type: ignore[assignment]
        table.clear()
        for row in result.rows:
            best = row.strategy == result.cheapest
            style = "green" if best else ""
            cells = [
                STRATEGIES.get(row.strategy, row.strategy),
                money(row.cost_per_hour),
                str(row.calls),
                str(row.writes),
                str(row.reads),
                str(row.pings),
                "<- cheapest" if best else "",
            ]
            table.add_row(
                *[
                    Text(cell, style=style, justify="right" if 0 < i < 6 else "left")
                    for i, cell in enumerate(cells)
                ]
            )
        cheapest = self.query_one("#planner-cheapest", Label)
        unknown = self.query_one("#planner-unknown", Label)
        if result.prefix_tokens == 0:
            cheapest.update("No breakpoints: nothing is cached, every strategy costs the same.")
        elif result.cheapest is None:
            cheapest.update("cheapest: cost unknown")
        else:
            cheapest.update(f"cheapest: {STRATEGIES.get(result.cheapest, result.cheapest)}")
        unknown.update(
            ""
            if result.cheapest is not None
            else f"cost unknown: {self.model} has no price in the model catalog "
            "(add it to models.toml in the data dir)"
        )
        self.query_one("#planner-note", Static).update(gap_note(gap_s))
        self.query_one("#planner-break-even", Static).update(f"Break-even: {result.break_even}.")

    @property
    def cheapest_text(self) -> str:
        """The cheapest line shown (for tests)."""
        return str(self.query_one("#planner-cheapest", Label).render())

    def action_close(self) -> None:
        """Back to the main screen."""
        self.dismiss(None)
