"""How long the everyday commands take to start, against `python -c pass` (issue 16).

    python benchmarks/bench_cli_start.py [--runs 21] [--data-dir DIR] [--imports]
        [--baseline SRC] [--default-home]

Runs `promptcache-tui --help`, `context list`, `history` and `stats` (the console script of
this interpreter's environment) and `python -c pass`, interleaved so that noise on a shared
machine hits them alike, after one warm-up each. Prints, per command, the median wall time
and the median CPU time (user + system of the child: steadier on a busy machine) of --runs
runs and their ratio to `python -c pass` (target: within 5x).

The data dir (a temporary one unless --data-dir) holds three contexts and 200 logged calls:
enough for every command to print rows, few enough that the time is the start, not the
query. Bytecode caching is on (PYTHONDONTWRITEBYTECODE is dropped), as in a normal install.
With --imports, it also lists which of the heavy modules each command loads. With
--baseline SRC (a checkout or `git archive` of another commit), the same commands run from
SRC's `tui` folder too, in the same rounds: a before/after under the same noise. With
--default-home, the commands find their data dir as a user who set nothing does (no
PROMPTCACHE_TUI_HOME, no --data-dir: platformdirs, here under a scratch XDG_DATA_HOME).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("context", "list"),
    ("history",),
    ("stats",),
)
# Modules worth naming when a command loads them (see `--imports`).
HEAVY = (
    "click",  # the fast start of context list, history and stats runs without it
    "typing",
    "platformdirs",  # only without --data-dir and PROMPTCACHE_TUI_HOME (it loads tempfile)
    "anthropic",
    "textual",
    "httpx",
    "starlette",
    "uvicorn",
    "promptcache_tui.sim",
    "promptcache_tui.calls.service",
    "promptcache_tui.core.advisor",
    "promptcache_tui.core.catalog",
    "importlib.resources",
    "asyncio",
    "ssl",
    "aiosqlite",
    "sqlite3",
    "logging",
    "promptcache_tui.store",
)


def program() -> list[str]:
    """The installed `promptcache-tui` beside this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "promptcache-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "promptcache_tui"]


def environment(
    data_dir: Path, source: Path | None = None, *, default_home: bool = False
) -> dict[str, str]:
    """The commands' environment: no API key, .pyc files on, `source`'s code if given;
    `default_home`: `data_dir` found through platformdirs (it is XDG_DATA_HOME/promptcache-tui)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a normal install has its .pyc files
    if default_home:
        env.pop("PROMPTCACHE_TUI_HOME", None)
        env["XDG_DATA_HOME"] = str(data_dir.parent)
    else:
        env["PROMPTCACHE_TUI_HOME"] = str(data_dir)
    if source is not None:
        env["PYTHONPATH"] = str(source / "tui")  # ahead of the installed (editable) package
    return env


async def seed(data_dir: Path) -> None:
    """Three contexts and 200 calls, through the project's own store."""
    from promptcache_tui.core.context import Block, Breakpoint, Context
    from promptcache_tui.core.cost import Prices, Usage
    from promptcache_tui.core.records import CallRecord, iso_utc
    from promptcache_tui.store import Store

    async with await Store.open(data_dir / "promptcache.sqlite3") as store:
        if await store.contexts.list():
            return
        for name in ("handbook", "codebase", "novel"):
            await store.contexts.add(
                Context(
                    name=name,
                    blocks=(Block(kind="document", text=f"{name} " * 3000, name=name),),
                    breakpoints=(Breakpoint(block=0, ttl="5m"),),
                )
            )
        start = time.time() - 3 * 86_400
        await store.calls.log_many(
            [
                CallRecord(
                    ts=iso_utc(start + i * 1_000),
                    kind="ask",
                    model="claude-sonnet-4-6",
                    context=("handbook", "codebase", "novel")[i % 3],
                    usage=Usage.from_counts(
                        input_tokens=20,
                        cache_creation_input_tokens=0 if i % 5 else 3_000,
                        cache_read_input_tokens=3_000 if i % 5 else 0,
                        output_tokens=200,
                    ),
                    prices=Prices(3.0, 15.0),
                    prompt=f"Question {i}?",
                )
                for i in range(200)
            ]
        )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (its output discarded; a failure stops the benchmark)."""
    cpu, started = _cpu(), time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _cpu() - cpu


def loaded(command: list[str], env: dict[str, str]) -> list[str]:
    """Which HEAVY modules a run imports (from `-X importtime`)."""
    if command[0] != sys.executable:
        command = [sys.executable, *command]  # the console script is a Python file
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    return [m for m in HEAVY if m in names]


def main(argv: list[str] | None = None) -> None:
    """Time each command against `python -c pass`; print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--imports", action="store_true", help="list the heavy modules loaded")
    parser.add_argument("--baseline", type=Path, default=None, help="another source tree")
    parser.add_argument(
        "--default-home", action="store_true", help="no data dir setting: platformdirs finds it"
    )
    args = parser.parse_args(argv)
    home = args.default_home
    scratch = None
    if args.data_dir is None:
        scratch = Path(tempfile.mkdtemp(prefix="pct-cli-start-"))
        args.data_dir = scratch / "promptcache-tui" if home else scratch
    elif home and args.data_dir.name != "promptcache-tui":
        sys.exit("--default-home needs a --data-dir named promptcache-tui (platformdirs' name)")
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(seed(args.data_dir))
        env = environment(args.data_dir, default_home=home)
        # label -> (command, environment)
        programs: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env)
        }
        if args.baseline is not None:
            # Its own data dir, seeded by its own code: an older schema refuses a newer file.
            base_dir = (
                args.data_dir.parent / "baseline" / "promptcache-tui"
                if home
                else args.data_dir / "baseline"
            )
            base_dir.mkdir(parents=True, exist_ok=True)
            base_env = environment(base_dir, args.baseline, default_home=home)
            here = Path(__file__).resolve().parent
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import asyncio, sys; sys.path.insert(0, {str(here)!r}); "
                    "from pathlib import Path; import bench_cli_start as b; "
                    f"asyncio.run(b.seed(Path({str(base_dir)!r})))",
                ],
                env=base_env,
                check=True,
            )
        for words in COMMANDS:
            if args.baseline is not None:
                programs[f"promptcache-tui {' '.join(words)} (baseline)"] = (
                    [*program(), *words],
                    base_env,
                )
            programs[f"promptcache-tui {' '.join(words)}"] = ([*program(), *words], env)
        for command, command_env in programs.values():  # warm-up: caches, .pyc files, the db
            timed(command, command_env)
        walls: dict[str, list[float]] = {label: [] for label in programs}
        cpus: dict[str, list[float]] = {label: [] for label in programs}
        for _ in range(args.runs):
            for label, (command, command_env) in programs.items():
                wall, cpu = timed(command, command_env)
                walls[label].append(wall)
                cpus[label].append(cpu)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"machine: `{platform.machine()}`, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; load average {load:.2f} at the end; "
            f"median of {args.runs} interleaved runs; data dir "
            f"{'found by platformdirs' if home else 'from PROMPTCACHE_TUI_HOME'}\n"
        )
        base_wall = statistics.median(walls["python -c pass"])
        base_cpu = statistics.median(cpus["python -c pass"])
        print("| command | wall (ms) | vs pass | CPU (ms) | vs pass |")
        print("|---|---:|---:|---:|---:|")
        for label in programs:
            wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
            print(
                f"| `{label}` | {wall * 1000:.1f} | {wall / base_wall:.2f}x "
                f"| {cpu * 1000:.1f} | {cpu / base_cpu:.2f}x |"
            )
        if args.imports:
            print("\n| command | heavy modules it loads |\n|---|---|")
            for label, (command, command_env) in programs.items():
                if label != "python -c pass":
                    print(f"| `{label}` | {', '.join(loaded(command, command_env)) or '-'} |")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
