"""CPU of the open TUI while nothing happens, following the log once a second.

The dashboard follows calls logged by any process (the proxy, `ask`, `import claude-code
--follow`) with a once-a-second check of the database in a worker, and ticks its countdowns
once a second; idle, that must cost next to nothing. This starts the TUI in a private tmux
server on a data dir with the demo context, three calls of a program through the recording
proxy and an imported Claude Code session (the tests' data, `tests/ui/observed.py`), then
reads the process's CPU time (every thread: user + system, from /proc) over a window:

1. the demo context selected (the countdowns of the list ticking, the log followed);
2. the proxied group selected (its breakpoint's countdown ticking as well).

    python benchmarks/bench_idle.py [--seconds 60]

Prints the CPU used as a percentage of one core for each. On a loaded machine the figure
rises with the scheduler's noise: read it on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TMUX = ["tmux", "-L", "pct-bench-idle"]
SESSION = "idle"
TIMEOUT_S = 30.0


def seed(data_dir: Path) -> None:
    """The demo context and the observed traffic of the UI tests, at the wall clock's time."""
    from tests.ui.harness import FakeClock, seed_demo
    from tests.ui.observed import seed_observed

    from promptcache_tui.config import load_settings

    async def run() -> None:
        settings = load_settings(data_dir, offline=True)
        await seed_demo(settings)
        await seed_observed(settings, FakeClock(time.time()))

    asyncio.run(run())


def screen() -> str:
    return subprocess.run(
        [*TMUX, "capture-pane", "-t", SESSION, "-p"], capture_output=True, text=True
    ).stdout


def wait_for(text: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while text not in screen():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {text!r} on screen:\n{screen()}")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process, every thread included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(pid: int, seconds: float) -> float:
    """Percent of one core used over `seconds`."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started) * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="each window (default 60)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        seed(data_dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        env["PROMPTCACHE_TUI_HOME"] = str(data_dir)
        command = [sys.executable, "-m", "promptcache_tui", "--offline"]
        subprocess.run(
            [*TMUX, "new-session", "-d", "-s", SESSION, "-x", "120", "-y", "36", *command],
            check=True,
            env=env,
            cwd=tmp,
        )
        try:
            pane = subprocess.run(
                [*TMUX, "list-panes", "-t", SESSION, "-F", "#{pane_pid}"],
                capture_output=True,
                text=True,
                check=True,
            )
            pid = int(pane.stdout.split()[0])
            wait_for("alice-demo")
            time.sleep(3)  # the first frame's work and the backend's start are done
            shown = measure(pid, args.seconds)
            print(f"demo context selected, idle: {shown:.2f}% of one core over {args.seconds:g} s")
            keys = [["C-l"], ["Down"], ["Enter"]]  # the list, the proxied group, choose it
            for key in keys:
                subprocess.run([*TMUX, "send-keys", "-t", SESSION, *key], check=True)
                time.sleep(0.5)
            wait_for("of the latest call that cached")
            time.sleep(2)
            shown = measure(pid, args.seconds)
            print(f"proxied group selected, idle: {shown:.2f}% of one core over {args.seconds:g} s")
        finally:
            subprocess.run([*TMUX, "kill-server"], capture_output=True)


if __name__ == "__main__":
    main()
