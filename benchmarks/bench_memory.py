"""Memory of the TUI over a long session: RSS after 10, 50 and 100 long answers.

    python benchmarks/bench_memory.py [--answers 100] [--tokens 1500] [--mode one|new|both]
        [--size 160x45]
    python benchmarks/bench_memory.py --tracemalloc 50   # top growth between answer 50 and the last

Runs the real app headless (`App.run_test`, 160x45 unless --size) against the in-process
simulator with no pacing (rate 0), on the demo context, and asks for answers capped at
--tokens (the simulator answers long when asked "in detail"). `one` keeps one conversation;
`new` starts a new one (ctrl+n) after every answer. Frames are encoded to terminal escape
codes as for a real terminal; only the write is dropped. RSS is read from /proc/self/status
once the answer is shown and the chat has rendered it. Targets (issue 16): under 0.1 MB per
answer over answers 50-100, and RSS at 100 answers within 1.3x of RSS at 10.

`--tracemalloc N` traces allocations from answer N on (slow) and prints the 25 lines that grew
most between answer N and the last one, with the stack of the largest.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench_streaming import TerminalCost, settled
from promptcache_tui.config import Settings
from promptcache_tui.store import Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.demo import demo_context

SUBJECTS = ("Alice", "the Rabbit", "the Queen", "the Duchess", "the Mouse", "the Caterpillar")
MARKS = (1, 10, 20, 30, 50, 75, 100, 150, 200)


def rss_mb() -> float:
    """This process's resident set size, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


# glibc's struct mallinfo2, field by field (all size_t).
_MALLINFO2 = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"


def malloc_mb() -> str:
    """glibc's heap (mallinfo2): bytes in use, free but kept, and mapped; '?' elsewhere."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2.split()]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return "?"
    mb = 2**20
    return (
        f"in use {info.uordblks / mb:.1f} MB, free {info.fordblks / mb:.1f} MB, "
        f"mmap {info.hblkhd / mb:.1f} MB"
    )


def question(i: int) -> str:
    """A different question each time, each asking for a long answer."""
    first, second = SUBJECTS[i % len(SUBJECTS)], SUBJECTS[(i + 1) % len(SUBJECTS)]
    return f"Question {i}: tell me everything about {first}, {second} and the book in detail"


async def idle(app: PromptCacheApp) -> None:
    """Wait until no answer is streaming or rendering (plain sleeps: no forced refreshes)."""
    busy_groups = {"call", "answer-render", "answer-render-stored"}
    while app.main.busy or any(
        w.group in busy_groups and not w.is_finished for w in app.main.workers
    ):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)  # a frame or two to paint what came last


async def session(
    answers: int, tokens: int, new_each: bool, trace_from: int | None, size: tuple[int, int]
) -> None:
    # Removed afterwards, whatever happens: runs must not pile up in /tmp.
    with tempfile.TemporaryDirectory(prefix="pct-memory-") as scratch:
        data_dir = Path(scratch)
        settings = Settings(data_dir=data_dir, max_tokens=tokens)
        async with await Store.open(settings.db_path) as store:
            ctx = await store.contexts.add(demo_context())
            assert ctx.id is not None
            await store.contexts.touch(ctx.id)
        app = PromptCacheApp(settings, sim_rate=0, cursor_blink=False)
        figures: dict[int, float] = {}
        report: list[str] = []  # printed after the app: it captures stdout while it runs
        snapshot: tracemalloc.Snapshot | None = None
        started = time.perf_counter()
        async with app.run_test(size=size) as pilot:
            deadline = time.monotonic() + 60
            while not (app.ready and app.main.ctx is not None and settled(app)):
                if time.monotonic() > deadline:
                    raise TimeoutError("the app did not start")
                await asyncio.sleep(0.05)
            await idle(app)
            figures[0] = rss_mb()
            for i in range(1, answers + 1):
                app.main.query_one("PromptInput").value = question(i)  # type: ignore[attr-defined]
                await pilot.press("enter")
                await asyncio.sleep(0.05)
                await idle(app)
                if new_each:
                    await app.main.action_new_conversation()
                    await idle(app)
                if i in MARKS or i == answers:
                    figures[i] = rss_mb()
                    widgets = len(list(app.main.query("*")))
                    report.append(
                        f"  answer {i:>3}: RSS {figures[i]:6.1f} MB, {widgets} widgets, "
                        f"{sys.getallocatedblocks():,} Python blocks, malloc {malloc_mb()}"
                    )
                if trace_from is not None and i == trace_from:
                    # Traced from here on: what is still allocated at the end is the growth.
                    gc.collect()
                    tracemalloc.start(25)
                    snapshot = tracemalloc.take_snapshot()
            async with await Store.open(settings.db_path) as store:
                records = await store.calls.history(limit=answers)
                output = [r.usage.output_tokens for r in records if r.status == "ok"]
            if snapshot is not None:
                gc.collect()
                growth = tracemalloc.take_snapshot()
                report += report_growth(snapshot, growth, answers - trace_from)  # type: ignore[operator]
        elapsed = time.perf_counter() - started
        mode = "a new conversation after every answer" if new_each else "one conversation"
        print(
            f"{mode}, {size[0]}x{size[1]}: {len(output)} answers ok of {answers}, "
            f"{min(output, default=0)}-{max(output, default=0)} output tokens each, {elapsed:.0f} s"
        )
        print("\n".join(report))
        line = ", ".join(f"{n}: {mb:.0f} MB" for n, mb in figures.items())
        print(f"  RSS at start (0) and after N answers: {line}")
        if 50 in figures and answers >= 100:
            per = (figures[100] - figures[50]) / 50
            print(
                f"  over answers 50-100: {per:+.3f} MB per answer (target < 0.1); "
                f"RSS at 100 / RSS at 10: {figures[100] / figures[10]:.2f}x (target <= 1.3x)"
            )


def report_growth(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, answers: int
) -> list[str]:
    """The allocation sites that grew most between two snapshots, and the largest's stack."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    lines = [f"  traced growth over {answers} answers: {total / 1e6:+.2f} MB"]
    for stat in after.compare_to(before, "lineno")[:25]:
        frame = stat.traceback[0]
        lines.append(
            f"    {stat.size_diff / 1e3:+9.1f} kB {stat.count_diff:+7d} blocks  "
            f"{frame.filename}:{frame.lineno}"
        )
    lines.append("  stack of the largest:")
    top = after.compare_to(before, "traceback")[0]
    lines += [f"    {line}" for line in top.traceback.format(limit=25)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=1500, help="output tokens per answer")
    parser.add_argument("--mode", choices=["one", "new", "both"], default="both")
    parser.add_argument("--size", default="160x45", help="terminal columns x rows")
    parser.add_argument(
        "--tracemalloc", type=int, metavar="N", help="trace and report growth after answer N"
    )
    args = parser.parse_args()
    if args.mode == "both":
        # Each session in a process of its own: the second would start from the first's heap.
        for mode in ("one", "new"):
            argv = [sys.executable, __file__, "--mode", mode, "--answers", str(args.answers)]
            argv += ["--tokens", str(args.tokens), "--size", args.size]
            if args.tracemalloc is not None:
                argv += ["--tracemalloc", str(args.tracemalloc)]
            subprocess.run(argv, check=True)
        return
    columns, rows = (int(n) for n in args.size.split("x"))
    TerminalCost.install()
    new_each = args.mode == "new"
    asyncio.run(session(args.answers, args.tokens, new_each, args.tracemalloc, (columns, rows)))


if __name__ == "__main__":
    main()
