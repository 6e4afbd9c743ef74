"""Trial: calls served by the simulator vs calls logged, when `ask` is killed by a signal.

    python benchmarks/trial_interrupts.py --runs 4

For SIGINT, SIGTERM, SIGHUP and SIGKILL, mid-answer (the call in flight with its usage,
answer text on stdout) and at the last byte (the whole answer printed), it runs `ask` in its
own process against `promptcache-tui sim` (paced, in its own process, over HTTP), sends the
signal, then runs one more command (the next process to open the store, which settles what
a killed process left in flight). It prints, per case: calls served (the simulator's access
log), calls logged, their statuses and the exit codes. A call is lost when served > logged.
Figures, not assertions; the same cases are asserted in tests/reliability/test_interrupts.py.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SERVED = re.compile(rb'"POST /v1/messages HTTP/1\.1" 200')
KEY = "sk-ant-api03-trial-0123456789abcdef"
STORY = (
    "Aria lived in a small coastal village between towering cliffs and the endless ocean. "
    "Every morning she walked to the harbour, where the fishermen mended their nets. "
) * 60
LONG = "Tell me everything in detail about the village, the harbour and the nets."
SHORT = "Where did Aria walk every morning?"


class Pump(threading.Thread):
    """Collects a pipe's bytes as they arrive."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.data = b""

    def run(self) -> None:
        while chunk := self.stream.read1(4096):  # type: ignore[attr-defined]
            self.data += chunk


def wait_until(predicate: object, what: str, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def rows(db: Path) -> list[sqlite3.Row]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute("SELECT * FROM calls ORDER BY id"))
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def command(home: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "promptcache_tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env, "PROMPTCACHE_TUI_HOME": str(home)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=4, help="runs per signal and moment")
    parser.add_argument("--rate", type=float, default=40, help="simulator tokens per second")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="pct-trial-"))
    sim = subprocess.Popen(
        [sys.executable, "-m", "promptcache_tui", "sim", "--port", "0", "--rate",
         str(args.rate), "--data-dir", str(root / "sim")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    log = Pump(sim.stdout)
    log.start()
    wait_until(lambda: b"http://127.0.0.1:" in log.data, "the simulator")
    port = re.search(rb"http://127\.0\.0\.1:(\d+)", log.data).group(1).decode()  # type: ignore[union-attr]
    env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}"}
    story = root / "story.txt"
    story.write_text(STORY)

    totals = collections.Counter[str]()
    print(
        f"{'signal':8} {'moment':9} {'runs':>4} {'served':>6} {'logged':>6}  statuses / exit codes"
    )
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
            for moment in ("mid", "last-byte"):
                served = logged = 0
                statuses: collections.Counter[str] = collections.Counter()
                codes: collections.Counter[int] = collections.Counter()
                for run in range(args.runs):
                    home = root / f"{sig.name}-{moment}-{run}"
                    home.mkdir()
                    db = home / "promptcache.sqlite3"
                    made = command(home, "context", "add", "story", "--file", str(story), env=env)
                    made.communicate(timeout=60)
                    before = len(SERVED.findall(log.data))
                    question = LONG if moment == "mid" else SHORT
                    if moment == "last-byte":
                        ref = command(home, "ask", "story", question, env=env)
                        answer, _ = ref.communicate(timeout=120)
                    ask = command(home, "ask", "story", question, env=env)
                    out = Pump(ask.stdout)
                    out.start()
                    if moment == "mid":
                        wait_until(
                            lambda db=db: bool(rows(db)) and rows(db)[-1]["input_tokens"] > 0,
                            "the call in flight",
                        )
                        wait_until(lambda out=out: out.data, "answer text")
                    else:
                        wait_until(
                            lambda out=out, answer=answer: out.data.rstrip() == answer.rstrip(),
                            "the last byte",
                        )
                    ask.send_signal(sig)
                    codes[ask.wait(timeout=60)] += 1
                    command(home, "context", "list", env=env).communicate(timeout=60)
                    found = rows(db)
                    served += len(SERVED.findall(log.data)) - before
                    logged += len(found)
                    statuses.update(r["status"] for r in found[-1:])
                totals["served"] += served
                totals["logged"] += logged
                summary = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
                exits = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))
                print(
                    f"{sig.name:8} {moment:9} {args.runs:>4} {served:>6} {logged:>6}  "
                    f"{summary} / exit {exits}"
                )
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=20)
    lost = totals["served"] - totals["logged"]
    print(f"total: {totals['served']} served, {totals['logged']} logged, {lost} lost")
    print("(last-byte rows count the reference run too: 2 served and 2 logged per run)")


if __name__ == "__main__":
    main()
