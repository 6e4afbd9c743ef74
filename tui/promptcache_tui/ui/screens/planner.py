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

from promptcache_tui.calls.planning import plan_for
from promptcache_tui.core.formatting import money, span
from promptcache_tui.core.timespan import SpanError, positive_span

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

    CSS_PATH = "../styles/dialogs.tcss"
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
        with Vertical(id="planner", classes="dialog"):
            yield Static(f"TTL planner: {self.ctx.name}", classes="dialog-title", markup=False)
            yield Static("", id="planner-prefix", classes="planner-text", markup=False)
            with Horizontal(id="planner-gap-row"):
                yield Label("A call every")
                yield Input(
                    span(self.history_gap) if self.history_gap else "",
                    placeholder="90s, 4m, 1h",
                    id="planner-gap",
                )
                yield Static(self._source_text(), id="planner-source", markup=False)
            yield Static("", id="planner-error", classes="dialog-error", markup=False)
            table: DataTable[str | Text] = DataTable(cursor_type="none", id="planner-table")
            for label, width in COLUMNS:
                table.add_column(label, width=width)
            yield table
            yield Static("", id="planner-cheapest", classes="planner-text", markup=False)
            yield Static("", id="planner-unknown", classes="planner-text", markup=False)
            yield Static("", id="planner-note", classes="planner-text", markup=False)
            yield Static("", id="planner-break-even", classes="planner-text", markup=False)
            yield Label("enter to recompute · escape to close", classes="dialog-hint")

    def _source_text(self) -> str:
        if self.history_gap is None:
            return "no recent chat or ask calls to take it from: type a gap"
        return "the typical gap between your recent chat and ask calls"

    def on_mount(self) -> None:
        self.query_one("#planner-gap", Input).focus()
        if self.history_gap is not None:
            self.show_plan(self.history_gap)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            gap_s = positive_span(event.value)
        except SpanError as exc:
            self.query_one("#planner-error", Static).update(str(exc))  # said here, in place
            return
        self.query_one("#planner-error", Static).update("")
        self.query_one("#planner-source", Static).update("typed")
        self.show_plan(gap_s)

    def show_plan(self, gap_s: float) -> None:
        """Compute and show the plan for calls every `gap_s` seconds."""
        from promptcache_tui.core.context import ContextError

        try:
            result = plan_for(
                self.ctx, gap_s, self.catalog, model=self.model, ping_lead_s=self.ping_lead_s
            )
        except (ContextError, ValueError) as exc:
            self.query_one("#planner-error", Static).update(str(exc))
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
            f"one hour of calls every {span(gap_s)}"
        )
        table: DataTable[str | Text] = self.query_one("#planner-table", DataTable)
        table.clear()
        # The theme's own success colour (a table cell is Rich text, not Textual markup).
        success = self.app.get_css_variables().get("text-success", "")
        for row in result.rows:
            best = row.strategy == result.cheapest
            style = success if best else ""
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
        cheapest = self.query_one("#planner-cheapest", Static)
        unknown = self.query_one("#planner-unknown", Static)
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
        return str(self.query_one("#planner-cheapest", Static).render())

    def action_close(self) -> None:
        """Back to the main screen."""
        self.dismiss(None)
