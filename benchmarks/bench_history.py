"""Benchmarks for the call history: CLI commands, the history screen, and database size.

    python benchmarks/seed_history.py --data-dir /tmp/pct-200k --calls 200000
    python benchmarks/seed_history.py --data-dir /tmp/pct-1m --calls 1000000
    python benchmarks/bench_history.py --empty /tmp/pct-empty --small /tmp/pct-200k \\
        --large /tmp/pct-1m

Prints Markdown for benchmarks/RESULTS.md:
1. whole CLI commands (`history`, `stats`, ...) on an empty log and on --small, as medians of
   interleaved subprocess runs, and their ratio (the target: at most 1.5x);
2. the history screen on --large, headless: time to the first page painted after the screen
   is pushed, and for each filter change the time to its page, to its first totals (an
   estimate, marked as such, for a search with many candidates) and to its exact totals
   (targets: 300 ms and 500 ms);
3. bytes per call, from the file sizes of --small and --large and from SQLite's dbstat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

CLI_COMMANDS = (
    ("history",),
    ("history", "--format", "json"),
    ("history", "--context", "handbook"),
    ("history", "--status", "error"),
    ("stats",),
    ("stats", "--by", "day"),
    ("stats", "--by", "model", "--since", "30d"),
)


def _db(data_dir: Path) -> Path:
    return data_dir / "promptcache.sqlite3"


# -- 1. the CLI ----------------------------------------------------------------------------


def _run_cli(data_dir: Path, words: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "promptcache_tui", "--data-dir", str(data_dir), *words],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def bench_cli(empty: Path, small: Path, runs: int) -> list[str]:
    """Median wall time of each command on both logs, runs interleaved so noise hits both."""
    lines = ["| command | empty log (ms) | 200k calls (ms) | ratio |", "|---|---:|---:|---:|"]
    for command in CLI_COMMANDS:
        words = list(command)
        label = " ".join(command)
        for data_dir in (empty, small):  # warm the page cache and create the empty database
            _run_cli(data_dir, words)
        times: dict[Path, list[float]] = {empty: [], small: []}
        for _ in range(runs):
            for data_dir in (empty, small):
                times[data_dir].append(_run_cli(data_dir, words))
        a, b = statistics.median(times[empty]), statistics.median(times[small])
        lines.append(f"| `{label}` | {a * 1000:.0f} | {b * 1000:.0f} | {b / a:.2f}x |")
    return lines


# -- 2. the screen -------------------------------------------------------------------------

SCREEN_CHANGES: tuple[tuple[str, dict[str, str]], ...] = (
    ("context = handbook", {"filter-context": "handbook"}),
    ("model = claude-opus-4-6 (1%)", {"filter-model": "claude-opus-4-6"}),
    ("kind = warm", {"filter-kind": "warm"}),
    ("status = error (2%)", {"filter-status": "error"}),
    ("kind = warm + status = error", {"filter-kind": "warm", "filter-status": "error"}),
    (
        "context + model + status (sparse)",
        {
            "filter-context": "handbook",
            "filter-model": "claude-haiku-4-5",
            "filter-status": "error",
        },
    ),
    (
        "from 2026-03-01 to 2026-03-31 (whole days)",
        {"filter-since": "2026-03-01", "filter-until": "2026-03-31"},
    ),
    (
        "from 2026-03-01T13:30 to 2026-03-31T08:00 (partial days)",
        {"filter-since": "2026-03-01T13:30", "filter-until": "2026-03-31T08:00"},
    ),
    ("from 7d", {"filter-since": "7d"}),
    ("search 'refund' (5% of prompts)", {"filter-search": "refund"}),
    ("search 'section 12' (0.8%)", {"filter-search": "section 12"}),
    ("search 'zzz-nothing' (no match)", {"filter-search": "zzz-nothing"}),
    ("search 'What' (half the prompts)", {"filter-search": "What"}),
    ("search 'Q4' (2 characters: the screen waits for 3)", {"filter-search": "Q4"}),
    ("context = novel + search 'refund'", {"filter-context": "novel", "filter-search": "refund"}),
    ("search 'refund', breakdown tab shown", {"filter-search": "refund", "tab": "tab-breakdown"}),
    ("search 'What', breakdown tab shown", {"filter-search": "What", "tab": "tab-breakdown"}),
    ("context = handbook, charts tab shown", {"filter-context": "handbook", "tab": "tab-charts"}),
)


async def bench_screen(db_path: Path, repeats: int, only: list[str] | None = None) -> list[str]:
    """Drive the real HistoryScreen headless; time first page and each filter change
    (`only`: just the changes whose label contains one of these words)."""
    changes = [c for c in SCREEN_CHANGES if not only or any(word in c[0] for word in only)]
    from textual.app import App, ComposeResult
    from textual.widgets import Input, Label, Select, TabbedContent
    from textual.widgets.select import InvalidSelectValueError

    from promptcache_tui.ui.screens.history import HistoryScreen, PageLoaded, SummaryLoaded

    marks: dict[str, float] = {}

    import promptcache_tui.ui.screens.history as history_module

    class TimedHistory(HistoryScreen):
        """The real screen, noting when each answer has been painted."""

        # Textual reads a relative CSS_PATH beside the subclass's file: point it back.
        CSS_PATH = str(Path(history_module.__file__).parent / str(HistoryScreen.CSS_PATH))

        def on_page_loaded(self, message: PageLoaded) -> None:
            super().on_page_loaded(message)
            if message.generation == self.generation and not message.append:
                self.call_after_refresh(
                    marks.__setitem__, f"page{message.generation}", time.perf_counter()
                )

        def on_summary_loaded(self, message: SummaryLoaded) -> None:
            super().on_summary_loaded(message)
            if message.generation == self.generation:
                # The first figures painted (maybe an estimate), and the exact ones.
                self.call_after_refresh(
                    marks.setdefault, f"sum{message.generation}", time.perf_counter()
                )
                if getattr(message.summary, "exact", True):  # (a baseline without estimates)
                    self.call_after_refresh(
                        marks.__setitem__, f"exact{message.generation}", time.perf_counter()
                    )

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield Label("host")

    async def until(pilot: Any, key: str, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while key not in marks:
            if time.perf_counter() > deadline:
                raise TimeoutError(key)
            # Not pilot.pause(): it forces a screen update each time, which is not what a
            # user's terminal does and would slow the screen it measures.
            await asyncio.sleep(0.002)
        return marks[key]

    rows: list[str] = [
        "| change | page (ms) | first totals (ms) | exact totals (ms) | calls |",
        "|---|---:|---:|---:|---:|",
    ]
    firsts: list[tuple[float, float, float]] = []
    results: dict[str, list[tuple[float, float, float, int]]] = {label: [] for label, _ in changes}
    skipped: set[str] = set()
    for _ in range(repeats):
        app = Host()
        async with app.run_test(size=(160, 44)) as pilot:
            marks.clear()
            screen = TimedHistory(db_path=db_path)
            started = time.perf_counter()
            await app.push_screen(screen)
            first = await until(pilot, "page1") - started
            totals = await until(pilot, "sum1") - started
            exact = await until(pilot, "exact1") - started
            firsts.append((first, totals, exact))
            await asyncio.sleep(0.2)

            async def apply(values: dict[str, str], scr: HistoryScreen = screen) -> None:
                for widget_id, value in values.items():
                    if widget_id == "tab":
                        with scr.query_one(TabbedContent).prevent(TabbedContent.TabActivated):
                            scr.query_one(TabbedContent).active = value
                        continue
                    widget = scr.query_one(f"#{widget_id}")
                    if isinstance(widget, Select):
                        # The menus offer what the log holds: a log without this context or
                        # model (an empty one) has no such option to pick. The filter is
                        # timed all the same, as the screen's form holds it.
                        with widget.prevent(Select.Changed), suppress(InvalidSelectValueError):
                            widget.value = value
                        setattr(scr._form, widget_id.removeprefix("filter-"), value)
                    elif isinstance(widget, Input):
                        with widget.prevent(Input.Changed):
                            widget.value = value
                        setattr(scr._form, widget_id.removeprefix("filter-"), value)

            for label, values in changes:
                await apply(values)
                started = time.perf_counter()
                before = screen.generation
                screen.reload()  # what a Select change or an Enter in a field calls
                generation = screen.generation
                if generation == before:  # the screen did not apply it (a 2-character search)
                    skipped.add(label)
                    screen.action_clear_filters()
                    continue
                page = await until(pilot, f"page{generation}") - started
                summary = await until(pilot, f"sum{generation}") - started
                exact = await until(pilot, f"exact{generation}") - started
                calls = screen.summary.totals.calls if screen.summary else 0
                results[label].append((page, summary, exact, calls))
                screen.action_clear_filters()
                screen.query_one(TabbedContent).active = "tab-calls"
                await until(pilot, f"exact{screen.generation}")
                await asyncio.sleep(0.1)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f}"

    rows.insert(
        2,
        f"| open the screen | {ms([f[0] for f in firsts])} | {ms([f[1] for f in firsts])} | "
        f"{ms([f[2] for f in firsts])} | all |",
    )
    for label, values in results.items():
        if label in skipped:
            rows.append(f"| {label} | not applied | | | |")
            continue
        rows.append(
            f"| {label} | {ms([v[0] for v in values])} | {ms([v[1] for v in values])} | "
            f"{ms([v[2] for v in values])} | {values[0][3]:,} |"
        )
    return rows


# -- 3. size -------------------------------------------------------------------------------


def bench_size(small: Path, large: Path) -> list[str]:
    """Bytes per call: marginal file growth, and per table and index (dbstat, if built in)."""

    def calls(path: Path) -> int:
        with sqlite3.connect(_db(path)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    n_small, n_large = calls(small), calls(large)
    size_small, size_large = _db(small).stat().st_size, _db(large).stat().st_size
    added = (
        f"{(size_large - size_small) / (n_large - n_small):,.0f} bytes per added call"
        if n_large != n_small
        else "no bytes per call: both logs hold as many calls"
    )
    lines = [
        f"- file: {size_small / 1e6:,.0f} MB at {n_small:,} calls, {size_large / 1e6:,.0f} MB at"
        f" {n_large:,} calls: {added} (WAL checkpointed)",
    ]
    with sqlite3.connect(_db(large)) as conn:
        text = conn.execute("SELECT AVG(LENGTH(prompt)), AVG(LENGTH(answer)) FROM calls").fetchone()
        lines.append(
            f"- of which text the user typed or got back: prompt {text[0] or 0:.0f} + "
            f"answer {text[1] or 0:.0f} bytes on average in this seed"
        )
        groups = conn.execute("SELECT COUNT(*) FROM call_rollup").fetchone()[0]
        lines.append(
            f"- rollup rows: {groups:,} (one per day x context x model x kind x status"
            " seen; bounded by the calendar, not by the number of calls)"
        )
        try:
            parts = conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.OperationalError:
            parts = []
    if parts and n_large:
        lines += ["", f"| table / index | bytes per call at {n_large:,} |", "|---|---:|"]
        for name, size in parts:
            if size >= 4096 * 4:
                lines.append(f"| {name} | {size / n_large:,.1f} |")
    return lines


def _checkpoint(data_dir: Path) -> None:
    with sqlite3.connect(_db(data_dir)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main(argv: list[str] | None = None) -> None:
    """Run what the given data dirs allow; print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--empty", type=Path, required=True, help="a data dir with no calls")
    parser.add_argument("--small", type=Path, required=True, help="seeded with 200k calls")
    parser.add_argument("--large", type=Path, required=True, help="seeded with 1M calls")
    parser.add_argument("--cli-runs", type=int, default=21)
    parser.add_argument("--screen-repeats", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], choices=["cli", "screen", "size"])
    parser.add_argument(
        "--only", nargs="*", default=[], help="screen changes whose label contains one of these"
    )
    args = parser.parse_args(argv)
    args.empty.mkdir(parents=True, exist_ok=True)
    import textual

    print(
        f"machine: `{platform.machine()}`, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, Textual "
        f"{textual.__version__}\n"
    )
    sections: list[tuple[str, Callable[[], list[str] | Awaitable[list[str]]]]] = [
        ("cli", lambda: bench_cli(args.empty, args.small, args.cli_runs)),
        ("screen", lambda: bench_screen(_db(args.large), args.screen_repeats, args.only)),
        ("size", lambda: bench_size(args.small, args.large)),
    ]
    for data_dir in (args.small, args.large):
        _checkpoint(data_dir)
    for name, job in sections:
        if name in args.skip:
            continue
        result = job()
        lines = asyncio.run(result) if asyncio.iscoroutine(result) else result
        print("\n".join(lines))  # type: ignore[arg-type]
        print()


if __name__ == "__main__":
    main()
