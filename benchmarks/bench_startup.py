"""Time to first paint and time to interactive of the TUI against a bare Textual app, in tmux.

Each run starts a detached tmux session running the program, then polls
`tmux capture-pane -p` until a string that only the first frame shows appears.
The programs alternate so that machine noise hits them alike; medians are printed.

    python benchmarks/bench_startup.py [--runs 7]

First paint: the app runs offline against a temporary data dir holding the demo context;
the store opens and the simulator starts only after the first frame, as the design requires.

Time to interactive: a prompt typed the moment the app is started (tmux send-keys right
after the session starts, before the app has even drawn) is shown as sent: on screen in
the conversation, the input empty again. The data dir holds a 30,000-word context, the
most recently used, so it is the one the prompt goes to. Target: within 1.5x of the bare
app's first frame. Bytecode caching is on for every program (the warm-up run writes the
.pyc files), as in a normal install.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BARE_APP = textwrap.dedent(
    """
    from textual.app import App, ComposeResult
    from textual.widgets import Label

    class Bare(App):
        def compose(self) -> ComposeResult:
            yield Label("bare textual ready")

    Bare().run()
    """
)
APP_MARKER = "OFFLINE SIMULATOR"
BARE_MARKER = "bare textual ready"
PROBE = "time to interactive probe"  # the prompt typed at start
EMPTY_INPUT = "Ask about the selected context"  # the input's placeholder: it was sent
BIG_CONTEXT_WORDS = 30_000
TIMEOUT_S = 20.0
POLL_S = 0.005
SIZE = ("120", "40")
# A private tmux server, kept alive by an idle session so that it does not exit (and race
# with the next run's start) each time a measured session ends.
TMUX = ["tmux", "-L", "pct-bench"]


def first_paint_ms(command: list[str], marker: str, env: dict[str, str], session: str) -> float:
    """Milliseconds from starting `command` in tmux until `marker` is on screen."""
    started = time.perf_counter()
    subprocess.run(
        [*TMUX, "new-session", "-d", "-s", session, "-x", SIZE[0], "-y", SIZE[1], *command],
        check=True,
        env=env,
    )
    try:
        deadline = started + TIMEOUT_S
        while time.perf_counter() < deadline:
            pane = subprocess.run(
                [*TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if marker in pane:
                return (time.perf_counter() - started) * 1000
            time.sleep(POLL_S)
        raise RuntimeError(f"{marker!r} did not appear within {TIMEOUT_S} s")
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", session], capture_output=True)


def interactive_ms(command: list[str], env: dict[str, str], session: str) -> float:
    """Milliseconds from starting `command` until a prompt typed at once shows as sent."""
    started = time.perf_counter()
    subprocess.run(
        [*TMUX, "new-session", "-d", "-s", session, "-x", SIZE[0], "-y", SIZE[1], *command],
        check=True,
        env=env,
    )
    try:
        # Typed before the app has drawn anything, as an impatient user would.
        subprocess.run([*TMUX, "send-keys", "-t", session, PROBE, "Enter"], check=True)
        deadline = started + TIMEOUT_S
        while time.perf_counter() < deadline:
            pane = subprocess.run(
                [*TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            # In the conversation, and the input empty again: sent, not just typed.
            if PROBE in pane and EMPTY_INPUT in pane:
                return (time.perf_counter() - started) * 1000
            time.sleep(POLL_S)
        raise RuntimeError(f"{PROBE!r} was not shown as sent within {TIMEOUT_S} s")
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", session], capture_output=True)


def prepare_data_dir(path: Path, env: dict[str, str], *, big: bool = False) -> None:
    """A data dir with the demo context in it (created through the same code the app uses);
    `big`: and a 30,000-word context, used last, that the typed prompt goes to."""
    code = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from promptcache_tui.core.context import Block, Breakpoint, Context
        from promptcache_tui.store import Store
        from promptcache_tui.ui.demo import demo_context, demo_text

        async def main():
            store = await Store.open(Path({str(path)!r}) / "promptcache.sqlite3")
            await store.contexts.add(demo_context())
            if {big!r}:
                words = demo_text().split()
                text = " ".join(words[i % len(words)] for i in range({BIG_CONTEXT_WORDS}))
                big = await store.contexts.add(
                    Context(
                        name="big-manual",
                        blocks=(
                            Block("system", "Answer from the manual."),
                            Block("document", text, name="manual.txt"),
                        ),
                        breakpoints=(Breakpoint(1, "1h"),),
                    )
                )
                await store.contexts.touch(big.id)
            await store.close()

        asyncio.run(main())
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per program (default 7)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is not installed")

    # Bytecode caching on, as in a normal install (pip compiles .pyc files): with
    # PYTHONDONTWRITEBYTECODE set, every start re-compiles every module from source.
    dropped = ("TMUX", "ANTHROPIC_API_KEY", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["TERM"] = "xterm-256color"
    subprocess.run(
        [*TMUX, "new-session", "-d", "-s", "keeper", "sleep", "3600"], check=True, env=env
    )
    try:
        times = measure(args.runs, env)
    finally:
        subprocess.run([*TMUX, "kill-server"], capture_output=True)

    bare_median = statistics.median(times["bare"])
    print(f"runs per program: {args.runs}")
    for name, label in LABELS.items():
        values = times[name]
        median = statistics.median(values)
        ratio = "" if name == "bare" else f"  {median / bare_median:.2f}x bare"
        print(
            f"{label:<44}: median {median:7.1f} ms (min {min(values):.1f}, "
            f"max {max(values):.1f}){ratio}"
        )
    print("target: first paint and time to interactive within 1.50x of the bare first frame")


LABELS = {
    "bare": "bare Textual app (one Label), first frame",
    "app": "promptcache-tui (the command), first paint",
    "direct": "promptcache-tui (run_tui, no CLI), first paint",
    "interactive": "promptcache-tui, a typed prompt shown as sent",
}


def measure(runs: int, env: dict[str, str]) -> dict[str, list[float]]:
    """First-paint times of each program, `runs` each, interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        prepare_data_dir(data_dir, env)
        big_dir = Path(tmp) / "big"
        big_dir.mkdir()
        prepare_data_dir(big_dir, env, big=True)
        bare_file = Path(tmp) / "bare.py"
        bare_file.write_text(BARE_APP)
        # The same TUI started without the click CLI in front of it (what the CLI costs).
        direct_code = (
            "from promptcache_tui.config import load_settings; "
            "from promptcache_tui.ui.launch import run_tui; "
            f"run_tui(load_settings({str(data_dir)!r}, offline=True))"
        )
        commands = {
            "bare": ([sys.executable, str(bare_file)], BARE_MARKER),
            "app": (
                [sys.executable, "-m", "promptcache_tui", "--data-dir", str(data_dir), "--offline"],
                APP_MARKER,
            ),
            "direct": ([sys.executable, "-c", direct_code], APP_MARKER),
        }
        interactive = [
            sys.executable,
            "-m",
            "promptcache_tui",
            "--data-dir",
            str(big_dir),
            "--offline",
        ]
        times: dict[str, list[float]] = {name: [] for name in LABELS}
        # One warm-up each: the first run pays for cold file caches and writes .pyc files.
        for name, (command, marker) in commands.items():
            first_paint_ms(command, marker, env, f"pct-bench-warm-{name}")
        interactive_ms(interactive, env, "pct-bench-warm-interactive")
        for run in range(runs):
            for name, (command, marker) in commands.items():
                times[name].append(first_paint_ms(command, marker, env, f"pct-{name}-{run}"))
            times["interactive"].append(interactive_ms(interactive, env, f"pct-tti-{run}"))
    return times


if __name__ == "__main__":
    main()
