"""Start-up of `promptcache-tui statusline` (Claude Code runs it after every message)
against `python -c pass`, on a session of 500 API responses.

    python benchmarks/bench_statusline.py [--runs 21] [--messages 500]

Four programs, run in turns (hyperfine-style: a warm-up, then `--runs` timed runs each,
interleaved so that machine noise hits them alike), each from spawn to exit:

- `python -c pass`: the interpreter alone (the yardstick: target within 5x);
- first run: a 500-response transcript the status line has never read (its database
  exists, empty; the session has no state file yet): reads it all, logs 500 calls;
- incremental: the state after that first run, and one more message appended (a user
  turn and a two-line response): reads only the new bytes, logs one call;
- nothing new: the same input again, as Claude Code's `refreshInterval` runs it: no read,
  no database.

Each timed run gets a fresh copy of its starting state (made before the clock starts).
The command is the installed console script, with Claude Code's JSON document on stdin,
exactly as Claude Code runs it (minus its `sh -c`). Bytecode caching is on, as in a normal
install. Prints each figure (median, min, max) and its ratio to `python -c pass`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.observe.transcript import Session  # noqa: E402 (the real transcript shape, once)

SESSION = "5d1c2b4e-1f0a-4c3e-9b7d-6a8e2f1c0b9a"
TARGET = 5.0


def write_session(projects: Path, responses: int) -> Session:
    """A long session: each turn a user message with a tool result of ~2 KB, then a
    response in two lines (thinking + text), reading the cache and writing a little."""
    session = Session(projects, SESSION)
    start = 1_795_000_000.0
    context = 20_000
    filler = "lorem ipsum dolor sit amet " * 80
    for i in range(responses):
        ts = _iso(start + i * 20)
        session.user(ts, f"step {i}: {filler}")
        session.response(
            _iso(start + i * 20 + 5),
            message_id=f"msg_{i:06d}",
            request_id=f"req_{i:06d}",
            write_1h=context if i == 0 else 600,
            read=0 if i == 0 else context + 600 * (i - 1),
            output=180,
            partial_output=12,
            blocks=("thinking", "text"),
        )
    session.write()
    return session


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def one_more(session: Session, index: int) -> None:
    """Append one message (a user turn and its two-line response) to the transcript."""
    before = len(session.lines)
    ts = 1_795_000_000.0 + index * 20
    session.user(_iso(ts), f"step {index}")
    session.response(
        _iso(ts + 5),
        message_id=f"msg_{index:06d}",
        request_id=f"req_{index:06d}",
        write_1h=600,
        read=20_000 + 600 * (index - 1),
        output=180,
        blocks=("thinking", "text"),
    )
    session.append("".join(line + "\n" for line in session.lines[before:]))


@dataclass
class Run:
    """One timed run: wall and CPU time of the command, what it printed, and when the
    logging it started in the background was done (None: it started none)."""

    wall_ms: float
    cpu_ms: float
    out: str
    logged_ms: float | None = None


def run_once(
    command: list[str], stdin: Path, env: dict[str, str], logged: Callable[[], bool] | None = None
) -> Run:
    """Run `command` with `stdin`, from spawn to exit; then wait for `logged()`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, stdin.open("rb") as inp:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdin=inp, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = (time.perf_counter() - started) * 1000
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, problems = out.read(), err.read()
    if child.returncode != 0 or problems:
        raise RuntimeError(f"{command} failed: {child.returncode} {problems!r}")
    run = Run(wall, (usage.ru_utime + usage.ru_stime) * 1000, printed.decode().strip())
    if logged is not None:
        deadline = started + 120
        while not logged():
            if time.perf_counter() > deadline:
                raise RuntimeError("the background logging never finished")
            time.sleep(0.002)
        run.logged_ms = (time.perf_counter() - started) * 1000
    return run


def log_reached(data_dir: Path, transcript: Path) -> Callable[[], bool]:
    """Whether the status line's logger has logged `transcript` as it is now."""
    state = data_dir / "statusline" / f"{SESSION}.log.json"
    size = transcript.stat().st_size

    def done() -> bool:
        try:
            files = json.loads(state.read_bytes())["files"]
        except (OSError, ValueError, KeyError):
            return False
        return files.get(str(transcript), {}).get("size") == size

    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per program")
    parser.add_argument("--messages", type=int, default=500, help="API responses in the session")
    args = parser.parse_args()
    program = shutil.which("promptcache-tui", path=str(Path(sys.executable).parent))
    if program is None:
        sys.exit("promptcache-tui is not installed in this Python's environment")
    dropped = ("PYTHONDONTWRITEBYTECODE", "PROMPTCACHE_TUI_NOW", "NO_COLOR")
    env = {k: v for k, v in os.environ.items() if k not in dropped}

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        session = write_session(base / "claude" / "projects", args.messages)
        size = session.path.stat().st_size
        lines_before = len(session.lines)
        stdin = base / "stdin.json"
        stdin.write_text(
            json.dumps(
                {
                    "session_id": SESSION,
                    "transcript_path": str(session.path),
                    "cwd": session.cwd,
                    "model": {"id": "claude-opus-4-8", "display_name": "Opus 4.8"},
                    "workspace": {"current_dir": session.cwd, "project_dir": session.cwd},
                    "version": "2.1.197",
                    "cost": {"total_cost_usd": 1.0, "total_duration_ms": 1000},
                }
            )
        )
        # An empty database, created once (as by any earlier promptcache-tui command).
        empty = base / "empty"
        subprocess.run(
            [program, "history", "--limit", "1", "--data-dir", str(empty)],
            check=True,
            capture_output=True,
            env=env,
        )
        # The state after a first run over the whole transcript, its logging done.
        after_first = base / "after-first"
        shutil.copytree(empty, after_first)
        command = [program, "statusline", "--data-dir", str(after_first)]
        run_once(command, stdin, env, log_reached(after_first, session.path))
        work = base / "work"

        def fresh(source: Path) -> list[str]:
            if work.exists():
                shutil.rmtree(work)
            shutil.copytree(source, work)
            return [program, "statusline", "--data-dir", str(work)]

        def first() -> Run:
            return run_once(fresh(empty), stdin, env, log_reached(work, session.path))

        def incremental() -> Run:
            command = fresh(after_first)
            one_more(session, args.messages)
            try:
                return run_once(command, stdin, env, log_reached(work, session.path))
            finally:
                _reset(session, size, lines_before)

        programs: dict[str, Callable[[], Run]] = {
            "pass": lambda: run_once([sys.executable, "-c", "pass"], stdin, env),
            "first": first,
            "incremental": incremental,
            "idle": lambda: run_once(command, stdin, env),
        }
        runs: dict[str, list[Run]] = {name: [] for name in programs}
        for round_ in range(args.runs + 1):  # round 0 warms the caches up, untimed
            for name, program_run in programs.items():
                done = program_run()
                if round_:
                    runs[name].append(done)

    base_wall = statistics.median(r.wall_ms for r in runs["pass"])
    base_cpu = statistics.median(r.cpu_ms for r in runs["pass"])
    print(f"session: {args.messages} responses, {size / 1e6:.2f} MB transcript")
    print(f"runs per program: {args.runs} (after one warm-up round), medians (min-max)")
    print(f"{'':44}  {'wall ms':>22}  {'ratio':>6}  {'cpu ms':>7}  {'ratio':>6}")
    for name, label in LABELS.items():
        walls = [r.wall_ms for r in runs[name]]
        cpus = [r.cpu_ms for r in runs[name]]
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        spread = f"{wall:7.1f} ({min(walls):.1f}-{max(walls):.1f})"
        print(
            f"{label:<44}  {spread:>22}  {wall / base_wall:5.2f}x  {cpu:7.1f}  "
            f"{cpu / base_cpu:5.2f}x"
        )
    for name in ("first", "incremental"):
        logged = [r.logged_ms for r in runs[name] if r.logged_ms is not None]
        print(
            f"  {name}: logged in the background {statistics.median(logged):.1f} ms after the"
            f" start (min {min(logged):.1f})"
        )
    print(f"target: within {TARGET:.0f}x python -c pass ({TARGET * base_wall:.1f} ms wall here)")
    print(f"line printed (incremental): {runs['incremental'][-1].out!r}")


def _reset(session: Session, size: int, lines: int) -> None:
    """Cut the appended message off again (in place: the file keeps its inode)."""
    with session.path.open("r+b") as handle:
        handle.truncate(size)
    del session.lines[lines:]


LABELS = {
    "pass": "python -c pass",
    "first": "first run (whole transcript; logs in bg)",
    "incremental": "incremental (one more message)",
    "idle": "nothing new (a refreshInterval tick)",
}


if __name__ == "__main__":
    main()
