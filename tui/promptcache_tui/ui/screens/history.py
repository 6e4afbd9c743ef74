"""The history screen: every logged call, filtered, totalled, charted, drilled into, exported.

Flow (workers never touch widgets; they post these messages and the handlers here do):
- open: `open_readers` (started from `compose`, so it overlaps building the widgets) ->
  `PageLoaded` for the first page, then `ReadersReady` -> `load_summary` -> `SummaryLoaded`;
  after the first page, `load_facets` -> `FacetsLoaded` fills the context and model menus;
- a filter change -> `reload()` -> `load_page` -> `PageLoaded`, and `load_summary` ->
  `SummaryLoaded` (totals; per context / model / day for the breakdown and chart tabs); a
  search with many candidates posts an estimate from a sample first, marked as such on
  screen, then the exact figures;
- the cursor or the scroll nearing the last loaded row -> `HistoryTable.NeedMore` ->
  `load_more` -> `PageLoaded(append=True)` (keyset paging: never the whole log);
- Enter on a row -> `HistoryTable.RowSelected` -> `load_call` -> `CallLoaded` (with why it
  missed and, for a proxied call, its prompt's blocks) -> `CallDetailScreen`;
- `e` -> `ExportDialog` -> `export` -> `Exported`;
- any failure -> `HistoryFailed` -> a notice.
Every result carries the generation of the filter it answers; stale ones are dropped.

The screen reads through SQLite connections of its own (WAL lets them read while the app
writes): one for pages and drill-downs, one for totals, and one per export, so a long count
(a search over a big log) never delays a page, and is interrupted when a newer filter wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.miss import MissExplanation
from promptcache_tui.core.records import IN_FLIGHT, KINDS, CallRecord
from promptcache_tui.core.records import STATUSES as FINAL_STATUSES
from promptcache_tui.core.sanitize import one_line as safe_line
from promptcache_tui.core.timespan import SpanError, since_bound, until_bound
from promptcache_tui.export import FORMATS, Exporter, format_for, open_private
from promptcache_tui.store import CallFilter, Store, StoreError
from promptcache_tui.store.calls import Facets, Summary
from promptcache_tui.store.observed import PromptNode
from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.widgets.history_charts import HistoryCharts
from promptcache_tui.ui.widgets.history_detail import CallDetail
from promptcache_tui.ui.widgets.history_summary import HistoryBreakdown, HistoryTotals
from promptcache_tui.ui.widgets.history_table import HistoryTable

Clock = Callable[[], float]
PAGE_SIZE = 100
EXPORT_CHUNK = 2000
# Typing in a text filter waits this long for a pause before it queries.
DEBOUNCE_SECONDS = 0.3
STATUSES = (*FINAL_STATUSES, IN_FLIGHT)


# -- messages ------------------------------------------------------------------------------

MIN_SEARCH = 3  # characters before a prompt search applies


@dataclass
class ReadersReady(Message):
    """The screen's own connections are open."""


@dataclass
class FacetsLoaded(Message):
    """The contexts and models the log knows, for the filter menus."""

    facets: Facets


@dataclass
class PageLoaded(Message):
    """A page of calls for the filter of `generation` (appended below, or replacing)."""

    generation: int
    records: list[CallRecord]
    append: bool
    complete: bool  # nothing after the last row
    seconds: float


@dataclass
class SummaryLoaded(Message):
    """Totals, breakdowns and per-day series for the filter of `generation` (an estimate
    first, for a search with many candidates: `summary.exact` is False, the exact follows)."""

    generation: int
    summary: Summary
    seconds: float


@dataclass
class CallLoaded(Message):
    """One call in full, for the drill-down: why it missed, its prompt's blocks if kept."""

    record: CallRecord
    miss: MissExplanation | None = None
    prompt: list[PromptNode] | None = None


@dataclass
class Exported(Message):
    """An export finished."""

    path: Path
    count: int
    seconds: float


@dataclass
class HistoryFailed(Message):
    """A worker failed; `error` is one line for a notice."""

    what: str
    error: str
    generation: int | None = None


# -- filters -------------------------------------------------------------------------------


@dataclass
class FilterForm:
    """What the filter bar holds, as typed."""

    context: str | None = None
    model: str | None = None
    kind: str | None = None
    status: str | None = None
    since: str = ""
    until: str = ""
    search: str = ""
    session: str | None = None  # an observed group's key (opened from the dashboard)
    errors: dict[str, str] = field(default_factory=dict)

    def to_filter(self, now: datetime) -> CallFilter:
        """A CallFilter; a field that does not parse is left out and named in `errors`."""
        self.errors = {}
        since = until = None
        if self.since.strip():
            try:
                since = since_bound(self.since, now, what="'from'")
            except SpanError as exc:
                self.errors["since"] = str(exc)
        if self.until.strip():
            try:
                until = until_bound(self.until, now, what="'to'")
            except SpanError as exc:
                self.errors["until"] = str(exc)
        search = self.search.strip()
        if 0 < len(search) < MIN_SEARCH:
            # The trigram index needs 3 characters; shorter terms would scan every prompt.
            self.errors["search"] = f"type at least {MIN_SEARCH} characters to search prompts"
            search = ""
        return CallFilter(
            context=self.context,
            model=self.model,
            kind=self.kind,
            status=self.status,
            since=since,
            until=until,
            search=search or None,
            session=self.session,
        )


# -- dialogs -------------------------------------------------------------------------------


class CallDetailScreen(ModalScreen[None]):
    """One call in full; Escape closes it."""

    CSS_PATH = "../styles/history.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="history.detail.close"),
    ]

    def __init__(
        self,
        record: CallRecord,
        miss: MissExplanation | None = None,
        prompt: list[PromptNode] | None = None,
    ) -> None:
        super().__init__()
        self.record = record
        self.miss = miss
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="call-detail-dialog"):
            yield CallDetail(self.record, id="call-detail", miss=self.miss, prompt=self.prompt)
            yield Label("Escape closes · arrows and PgUp/PgDn scroll", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(CallDetail).focus()

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)


class ExportDialog(ModalScreen[tuple[Path, str] | None]):
    """Ask where to export the filtered calls, and in which format."""

    CSS_PATH: ClassVar = ["../styles/dialogs.tcss", "../styles/history.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="history.export.cancel"),
    ]

    def __init__(self, default_path: str, calls: int | None) -> None:
        super().__init__()
        self.default_path = default_path
        self.calls = calls

    def compose(self) -> ComposeResult:
        what = "the filtered calls" if self.calls is None else f"{self.calls:,} filtered calls"
        with Vertical(id="export", classes="dialog"):
            yield Static(f"Export {what}", classes="dialog-title")
            with Horizontal():
                yield Input(
                    self.default_path, placeholder="file path (.csv or .json)", id="export-path"
                )
                yield Select(
                    [(f, f) for f in FORMATS],
                    value=format_for(self.default_path),
                    allow_blank=False,
                    id="export-format",
                )
            yield Static("", id="export-error", classes="dialog-error", markup=False)
            with Horizontal(id="export-buttons", classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Changed, "#export-path")
    def _follow_extension(self, event: Input.Changed) -> None:
        fmt = format_for(event.value, "")
        if fmt:
            self.query_one("#export-format", Select).value = fmt

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-ok")
    def _submit(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self.query_one("#export-error", Static).update("type a file path")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self.query_one("#export-error", Static).update(f"{path} is a directory")
            return
        fmt = self.query_one("#export-format", Select).value
        self.dismiss((path, str(fmt)))

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)


# -- the screen ----------------------------------------------------------------------------


class HistoryScreen(Screen[None]):
    """Logged calls with filters, totals, breakdowns, charts, drill-down and export."""

    CSS_PATH = "../styles/history.tcss"
    AUTO_FOCUS = "#history-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="history.back"),
        Binding("slash", "focus_search", "Search", id="history.search"),
        Binding("f", "focus_filters", "Filters", id="history.filters"),
        Binding(
            "c",
            "clear_filters",
            "Clear",
            show=False,
            id="history.clear",
            tooltip="Clear every filter: all calls again",
        ),
        Binding("e", "export", "Export", id="history.export"),
        Binding(
            "r",
            "refresh",
            "Refresh",
            show=False,
            id="history.refresh",
            tooltip="Read the log again (calls logged since the screen opened)",
        ),
        Binding("1", "show_tab('tab-calls')", "Calls", id="history.tab_calls", show=False),
        Binding(
            "2", "show_tab('tab-breakdown')", "Breakdown", id="history.tab_breakdown", show=False
        ),
        Binding("3", "show_tab('tab-charts')", "Charts", id="history.tab_charts", show=False),
    ]

    def __init__(
        self,
        store: Store | None = None,
        *,
        db_path: Path | None = None,
        clock: Clock | None = None,
        page_size: int = PAGE_SIZE,
        group: tuple[str, str] | None = None,
    ) -> None:
        """`store` (or `db_path`) names the database; the screen reads it through
        connections of its own. `clock` gives "now" for spans like 7d (default: the wall
        clock). `group` (key, name): open on an observed group's calls (`c` clears it with
        the other filters). The screen needs nothing else of the app that shows it."""
        super().__init__()
        self._db_path = store.db.path if store is not None else db_path
        self._clock = clock
        self.page_size = page_size
        self.group = group
        self.filters = CallFilter(session=group[0] if group else None)
        self.generation = self._first_generation = 1
        self.summary: Summary | None = None  # the latest figures (maybe an estimate)
        self._summary_generation = 0  # the filter `summary` answers
        self._counting_grouped = True  # the count on its way has breakdowns
        self.page_pending = True  # a page for the current generation is on its way
        self.totals_pending = True  # totals for the current generation are on their way
        self.last_page_seconds: float | None = None
        self.last_summary_seconds: float | None = None
        self._pages: Store | None = None
        self._totals: Store | None = None
        self._more_pending = False
        self._last_key: tuple[str, int] | None = None
        self._form = FilterForm(session=group[0] if group else None)
        self._debounce: Timer | None = None
        self._fresh_tabs: set[str] = set()  # tabs showing the current summary
        self._facets_loaded = False
        self._closed = False  # unmounted: a connection still opening must close at once

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Start reading now: the first page is fetched while the widgets are being built, so
        # it is usually there for the first frame.
        self.open_readers(self.generation, self.filters)
        yield Header()
        with Horizontal(id="history-filters"):
            # Compact (one row each): the bar is one row wide, two on a narrow terminal.
            yield Select[str]([], prompt="any context", id="filter-context", compact=True)
            yield Select[str]([], prompt="any model", id="filter-model", compact=True)
            yield Select[str](
                [(k, k) for k in KINDS], prompt="any kind", id="filter-kind", compact=True
            )
            yield Select[str](
                [(s, s) for s in STATUSES], prompt="any status", id="filter-status", compact=True
            )
            yield Input(placeholder="from: 7d, date", id="filter-since", compact=True)
            yield Input(placeholder="to: date", id="filter-until", compact=True)
            yield Input(placeholder="search prompts (/)", id="filter-search", compact=True)
        yield HistoryTotals("counting…", id="history-totals")
        with TabbedContent(initial="tab-calls"):
            with TabPane("Calls", id="tab-calls"):
                yield HistoryTable(id="history-table")
                yield Label("", id="history-status")
            # Filled when first shown, and kept current only while shown: redrawing hidden
            # tables and charts would compete with the next page for the UI thread.
            yield TabPane("Breakdown", id="tab-breakdown")
            yield TabPane("Charts", id="tab-charts")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"History: {safe_line(self.group[1])}" if self.group else "History"

    async def on_unmount(self) -> None:
        """Close the screen's own connections."""
        self._closed = True
        for store in (self._pages, self._totals):
            if store is not None:
                with contextlib.suppress(Exception):  # best effort: the app goes on
                    await store.close()
        self._pages = self._totals = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp((self._clock or wall_clock)(), UTC)

    def _resolve_path(self) -> Path:
        if self._db_path is None:
            raise StoreError("no database to read: pass a store or a path to HistoryScreen")
        return self._db_path

    # -- workers -----------------------------------------------------------------------

    @work(exclusive=True, group="history-open", exit_on_error=False)
    async def open_readers(self, generation: int, filters: CallFilter) -> None:
        """Open the page connection and read the first page, then open the totals one."""
        try:
            path = self._resolve_path()
            self._pages = await self._open(path)
            if self._pages is None:
                return
            # The second connection opens while the first page is read.
            _, self._totals = await asyncio.gather(
                self._fetch_page(generation, filters, None), self._open(path)
            )
            if self._totals is None:
                return
        except Exception as exc:
            self.post_message(HistoryFailed("open the history", one_line(exc), generation))
            return
        self.post_message(ReadersReady())

    async def _open(self, path: Path) -> Store | None:
        """A connection, unless the screen closed while it was opening (then none)."""
        store = await Store.open(path)
        if self._closed:
            await store.close()
            return None
        return store

    @work(exclusive=True, group="history-facets", exit_on_error=False)
    async def load_facets(self) -> None:
        """Contexts and models for the filter menus."""
        if self._pages is None:
            return
        try:
            facets = await self._pages.cancellable(lambda store: store.calls.facets())
        except Exception as exc:
            self.post_message(HistoryFailed("list contexts and models", one_line(exc)))
            return
        self.post_message(FacetsLoaded(facets))

    @work(exclusive=True, group="history", exit_on_error=False)
    async def load_page(self, generation: int, filters: CallFilter) -> None:
        """The first page of a filter."""
        await self._fetch_page(generation, filters, None)

    @work(exclusive=True, group="history-more", exit_on_error=False)
    async def load_more(
        self, generation: int, filters: CallFilter, before: tuple[str, int]
    ) -> None:
        """The page after `before`."""
        await self._fetch_page(generation, filters, before)

    async def _fetch_page(
        self, generation: int, filters: CallFilter, before: tuple[str, int] | None
    ) -> None:
        if self._pages is None:
            return
        started = time.perf_counter()
        try:
            # One row more than a page tells whether there is a next page.
            rows = await self._pages.cancellable(
                lambda store: store.calls.history(filters, limit=self.page_size + 1, before=before),
            )
        except Exception as exc:
            self.post_message(HistoryFailed("load calls", one_line(exc), generation))
            return
        self.post_message(
            PageLoaded(
                generation,
                rows[: self.page_size],
                before is not None,
                len(rows) <= self.page_size,
                time.perf_counter() - started,
            )
        )

    @work(exclusive=True, group="history-summary", exit_on_error=False)
    async def load_summary(self, generation: int, filters: CallFilter, grouped: bool) -> None:
        """Totals of a filter, and (if `grouped`) its breakdowns and charts."""
        if self._totals is None:
            return
        started = time.perf_counter()
        try:
            # A search with many candidates: an estimate at once, while the exact count runs.
            summary = None
            if filters.search:
                summary = await self._totals.cancellable(
                    lambda store: store.calls.estimate(filters, grouped=grouped)
                )
                if summary is not None:
                    self.post_message(
                        SummaryLoaded(generation, summary, time.perf_counter() - started)
                    )
            if summary is None or not summary.exact:
                summary = await self._totals.cancellable(
                    lambda store: store.calls.summary(filters, grouped=grouped)
                )
                self.post_message(SummaryLoaded(generation, summary, time.perf_counter() - started))
        except Exception as exc:
            self.post_message(HistoryFailed("count calls", one_line(exc), generation))

    @work(exclusive=True, group="history-call", exit_on_error=False)
    async def load_call(self, call_id: int) -> None:
        """One call in full."""
        if self._pages is None:
            return
        try:
            record = await self._pages.cancellable(lambda store: store.calls.get(call_id))
            miss = prompt = None
            if record is not None and record.cache_miss_reason:
                miss = await self._pages.cancellable(lambda store: store.observed.miss(call_id))
            if record is not None and record.kind == "proxy":
                prompt = await self._pages.cancellable(lambda store: store.observed.prompt(call_id))
        except Exception as exc:
            self.post_message(HistoryFailed("load the call", one_line(exc)))
            return
        if record is None:
            self.post_message(HistoryFailed("load the call", f"call {call_id} is gone"))
            return
        self.post_message(CallLoaded(record, miss, prompt))

    @work(exclusive=True, group="history-export", exit_on_error=False)
    async def export(self, path: Path, fmt: str, filters: CallFilter) -> None:
        """Write every call of `filters` to `path`, chunk by chunk, off the event loop.

        It reads through a connection of its own, so browsing goes on while it runs.
        """
        started = time.perf_counter()
        # Write beside the target and rename at the end: a failed export leaves no half file.
        partial = path.with_name(path.name + ".part")
        try:
            handle = await asyncio.to_thread(open_private, partial)  # 0600, like the database
        except OSError as exc:
            self.post_message(HistoryFailed("export", f"cannot write {path}: {exc.strerror}"))
            return
        try:
            async with await Store.open(self._resolve_path()) as store:
                exporter = Exporter(handle, fmt)
                async for chunk in store.calls.iter_history(filters, chunk=EXPORT_CHUNK):
                    await asyncio.to_thread(exporter.write, chunk)
            count = await asyncio.to_thread(exporter.close)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException as exc:
            handle.close()
            partial.unlink(missing_ok=True)
            if isinstance(exc, Exception):
                self.post_message(HistoryFailed("export", one_line(exc)))
                return
            raise
        self.post_message(Exported(path, count, time.perf_counter() - started))

    # -- results -----------------------------------------------------------------------

    def on_readers_ready(self, message: ReadersReady) -> None:
        if self.generation != self._first_generation:
            self.load_page(self.generation, self.filters)  # the filter changed meanwhile
        self._load_summary()

    def on_facets_loaded(self, message: FacetsLoaded) -> None:
        for select_id, values in (
            ("#filter-context", message.facets.contexts),
            ("#filter-model", message.facets.models),
        ):
            select = self.query_one(select_id, Select)
            current = select.value
            with select.prevent(Select.Changed):
                select.set_options([(v, v) for v in values])
                if current in values:
                    select.value = current

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self.generation:
            return  # an answer to a filter that has since changed
        table = self.query_one(HistoryTable)
        table.show(message.records, append=message.append, complete=message.complete)
        if message.records:
            last = message.records[-1]
            self._last_key = (last.ts, int(last.id or 0))
        if message.append:
            self._more_pending = False
        else:
            self.page_pending = False
            self.last_page_seconds = message.seconds
        if not self._facets_loaded:
            # The menus can wait: the first page goes first on the shared connection.
            self._facets_loaded = True
            self.load_facets()
        self._show_status()

    def on_summary_loaded(self, message: SummaryLoaded) -> None:
        if message.generation != self.generation:
            return
        summary = message.summary
        self.summary = summary
        self._summary_generation = message.generation
        # An estimate leaves the exact figures pending: the status line and the export
        # dialog only ever quote exact ones.
        self.totals_pending = not summary.exact
        if summary.exact:
            self.last_summary_seconds = message.seconds
        self.query_one(HistoryTotals).show(summary.totals, summary.sample)
        self._fresh_tabs.clear()
        if summary.exact:
            self._refresh_tab()
        else:
            # The estimate's line first: filling the breakdown's tables takes a frame or two.
            self.call_after_refresh(self._refresh_tab)
        self._show_status()

    def _load_summary(self) -> None:
        """Count the current filter: with breakdowns unless they are costly and not shown.

        Breakdowns come from the rollup almost for free; with a search they need a sort of
        every matching row, so they wait until the breakdown or charts tab asks for them.
        """
        grouped = not self.filters.search or self.query_one(TabbedContent).active != "tab-calls"
        self.totals_pending = True
        self._counting_grouped = grouped
        self.load_summary(self.generation, self.filters, grouped)

    @on(TabbedContent.TabActivated)
    def _refresh_tab(self) -> None:
        """Draw the breakdown or the charts of the current summary, if that tab is shown.

        An estimate fills the breakdown (which says so); the charts wait for exact figures.
        """
        summary = self.summary
        active = self.query_one(TabbedContent).active
        if (
            summary is None
            or self._summary_generation != self.generation
            or active in self._fresh_tabs
            or active == "tab-calls"
            or (active == "tab-charts" and not summary.exact)
        ):
            return  # (a count on its way draws the tab when it lands)
        if not summary.grouped:
            if not (self.totals_pending and self._counting_grouped):
                self._load_summary()  # its arrival draws this tab
            return
        self._fresh_tabs.add(active)
        pane = self.query_one(f"#{active}", TabPane)
        if active == "tab-breakdown":
            found = pane.query(HistoryBreakdown)
            if found:
                found.first().show(summary)
            else:
                pane.mount(HistoryBreakdown(summary, id="history-breakdown"))
        elif active == "tab-charts":
            charts = pane.query(HistoryCharts)
            if charts:
                charts.first().show(summary.by_day)
            else:
                pane.mount(HistoryCharts(summary.by_day, id="history-charts"))

    def on_call_loaded(self, message: CallLoaded) -> None:
        self.app.push_screen(CallDetailScreen(message.record, message.miss, message.prompt))

    def on_exported(self, message: Exported) -> None:
        self.notify(f"exported {message.count:,} calls to {message.path}", title="Export done")

    def on_history_failed(self, message: HistoryFailed) -> None:
        if message.generation is not None and message.generation != self.generation:
            return
        if message.generation is not None:
            # Nothing more is coming for what failed: stop showing it as on its way.
            if message.what != "count calls":
                self.page_pending = False
                self._more_pending = False
            if message.what != "load calls":
                self.totals_pending = False
            self._show_status()
        self.notify(message.error, title=f"Cannot {message.what}", severity="error", timeout=10)

    def _show_status(self) -> None:
        table = self.query_one(HistoryTable)
        total = None if self.totals_pending or self.summary is None else self.summary.totals.calls
        if self.page_pending:
            text = "loading…"
        elif not table.row_count:
            text = (
                "no calls match these filters"
                if not self.filters.is_empty
                else "no calls logged yet"
            )
        else:
            shown = f"{table.row_count:,}"
            of = f" of {total:,}" if total is not None else ""
            more = "" if table.complete else " · more load as you scroll"
            text = f"showing {shown}{of} calls, newest first{more} · Enter: details"
        if self.filters.session is not None and self.group is not None:
            text += f" · group {safe_line(self.group[1])} (c shows every call)"
        self.query_one("#history-status", Label).update(Content(text))  # names: no markup

    # -- filters -----------------------------------------------------------------------

    def reload(self, *, force: bool = False) -> None:
        """Apply the filter bar: a new page and new totals, if the filter changed."""
        filters = self._form.to_filter(self._now())
        for name in ("since", "until", "search"):
            self.query_one(f"#filter-{name}", Input).set_class(
                name in self._form.errors, "-invalid"
            )
        if filters == self.filters and not force:
            return
        self.filters = filters
        self.generation += 1
        self.page_pending = self.totals_pending = True
        self._more_pending = False
        self._last_key = None
        self.workers.cancel_group(self, "history-more")
        self.query_one(HistoryTotals).pending()
        self._show_status()
        if self._totals is None:
            return  # still opening: `on_readers_ready` loads what is current then
        self.load_page(self.generation, filters)
        self._load_summary()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if event.select.id is None or not event.select.id.startswith("filter-"):
            return
        name = event.select.id.removeprefix("filter-")
        value = None if event.value == Select.NULL else str(event.value)
        setattr(self._form, name, value)
        self.reload()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id is None or not event.input.id.startswith("filter-"):
            return
        setattr(self._form, event.input.id.removeprefix("filter-"), event.value)
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, self.reload)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id is None or not event.input.id.startswith("filter-"):
            return
        if self._debounce is not None:
            self._debounce.stop()
        self.reload()
        for error in self._form.errors.values():
            self.notify(error, severity="warning")
        if not self._form.errors:
            self.query_one(HistoryTable).focus()

    @on(HistoryTable.NeedMore)
    def _need_more(self) -> None:
        table = self.query_one(HistoryTable)
        if self._more_pending or self.page_pending or table.complete or self._last_key is None:
            return
        self._more_pending = True
        self.load_more(self.generation, self.filters, self._last_key)

    @on(HistoryTable.RowSelected)
    def _row_selected(self, event: HistoryTable.RowSelected) -> None:
        self.load_call(event.call_id)

    # -- actions -----------------------------------------------------------------------

    def action_back(self) -> None:
        """Leave the filter bar for the table; from elsewhere, close the screen."""
        focused = self.focused
        if focused is not None and any(
            node.id == "history-filters" for node in focused.ancestors_with_self
        ):
            self.query_one(HistoryTable).focus()
            return
        self.dismiss(None)

    def action_focus_search(self) -> None:
        """Put the cursor in the prompt search."""
        self.query_one("#filter-search", Input).focus()

    def action_focus_filters(self) -> None:
        """Go to the first filter."""
        self.query_one("#filter-context", Select).focus()

    def action_clear_filters(self) -> None:
        """Every call again."""
        for select in self.query("#history-filters Select").results(Select):
            with select.prevent(Select.Changed):
                select.clear()
        for field_input in self.query("#history-filters Input").results(Input):
            with field_input.prevent(Input.Changed):
                field_input.value = ""
        self._form = FilterForm()
        self.title = "History"
        self.reload()

    def action_refresh(self) -> None:
        """Read the log again (calls logged since the screen opened)."""
        self.load_facets()
        self.reload(force=True)

    def action_show_tab(self, tab: str) -> None:
        """Switch to the calls, breakdown or charts tab."""
        self.query_one(TabbedContent).active = tab

    def action_export(self) -> None:
        """Ask for a path, then export every call of the current filter."""
        stamp = self._now().strftime("%Y-%m-%d")
        default = str(Path.cwd() / f"promptcache-history-{stamp}.csv")
        calls = None if self.totals_pending or self.summary is None else self.summary.totals.calls
        filters = self.filters

        def chosen(answer: tuple[Path, str] | None) -> None:
            if answer is not None:
                self.notify(f"exporting to {answer[0]}…")
                self.export(answer[0], answer[1], filters)

        self.app.push_screen(ExportDialog(default, calls), chosen)
