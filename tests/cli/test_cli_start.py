"""The everyday commands start light: each imports what it uses and nothing else.

Pinned without timing (benchmarks/bench_cli_start.py has the figures): which modules a run
of `--help`, `context list`, `history` and `stats` loaded, read from `sys.modules` in a
fresh interpreter, through click and through the console entry point (whose fast start
runs the last three without click: tests/cli/test_fast_start.py shows it prints the same).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from promptcache_tui.cli import main as cli_main
from promptcache_tui.core.context import Block, Context
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord
from promptcache_tui.store import Store
from promptcache_tui.store.inline import run_inline

# What none of them needs: the SDK, the TUI, the simulator and its server, the call service,
# the advisor, and an event loop with its TLS and threads (the store runs inline).
NEVER = (
    "anthropic",
    "httpx",
    "textual",
    "rich",
    "starlette",
    "uvicorn",
    "jsonschema",
    "promptcache_tui.ui",
    "promptcache_tui.sim",
    "promptcache_tui.calls",
    "promptcache_tui.core.advisor",
    "asyncio",
    "ssl",
    "aiosqlite",
    "concurrent.futures",
)
# And, per command, what it does not need either.
ALSO_NOT = {
    ("--help",): (
        "promptcache_tui.store",
        "sqlite3",
        "promptcache_tui.config",
        "logging",
        "pathlib",
    ),
    ("context", "list"): ("promptcache_tui.store.calls", "promptcache_tui.core.catalog"),
    ("history",): ("promptcache_tui.core.catalog", "promptcache_tui.core.ttl"),
    ("stats",): ("promptcache_tui.core.catalog", "promptcache_tui.core.ttl"),
}
DRIVER = """
import sys
from promptcache_tui.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""


# The console entry point, as `promptcache-tui` runs it; the modules are listed at exit (an
# exit handler: the fast start then leaves through the interpreter's exit, which runs it).
ENTRY_DRIVER = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n"))
from promptcache_tui.cli.entry import main
main()
"""


def _loaded(
    home: Path, *args: str, driver: str = DRIVER
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["PROMPTCACHE_TUI_HOME"] = str(home)
    env["COLUMNS"] = "80"
    run = subprocess.run(
        [sys.executable, "-c", driver, *args], env=env, capture_output=True, text=True, timeout=60
    )
    line = run.stderr.rsplit("MODULES ", 1)[-1]
    return run, set(line.split())


def _under(modules: set[str], name: str) -> list[str]:
    return sorted(m for m in modules if m == name or m.startswith(name + "."))


def _seed(home: Path) -> None:
    """A context and a call to list (through the store, as the commands would)."""

    async def seed() -> None:
        async with await Store.open(home / "promptcache.sqlite3", inline=True) as store:
            await store.contexts.add(
                Context(name="notes", blocks=(Block(kind="document", text="hello", name="t"),))
            )
            await store.calls.log(
                CallRecord(
                    ts="2026-11-20T10:00:00.000000+00:00",
                    kind="ask",
                    model="claude-sonnet-4-6",
                    context="notes",
                    usage=Usage.from_counts(input_tokens=12, output_tokens=40),
                    prices=Prices(3.0, 15.0),
                    prompt="What is in my notes?",
                )
            )

    run_inline(seed())


@pytest.mark.parametrize("args", list(ALSO_NOT), ids=" ".join)
def test_a_command_imports_only_what_it_uses(isolated_env: Path, args: tuple[str, ...]) -> None:
    _seed(isolated_env)
    result, modules = _loaded(isolated_env, *args)
    assert result.returncode == 0, result.stderr
    if args != ("--help",):
        assert "notes" in result.stdout  # it did its work
    for name in (*NEVER, *ALSO_NOT[args]):
        assert not _under(modules, name), f"{' '.join(args)} imported {_under(modules, name)}"


@pytest.mark.parametrize("args", [a for a in ALSO_NOT if a != ("--help",)], ids=" ".join)
def test_the_fast_start_imports_neither_click_nor_typing(
    isolated_env: Path, args: tuple[str, ...]
) -> None:
    _seed(isolated_env)
    result, modules = _loaded(isolated_env, *args, driver=ENTRY_DRIVER)
    assert result.returncode == 0, result.stderr
    assert "notes" in result.stdout
    # `typing` is a few ms of its own: the store and the core import it for type checkers only.
    for name in ("click", "promptcache_tui.cli.main", "typing", *NEVER, *ALSO_NOT[args]):
        assert not _under(modules, name), f"{' '.join(args)} imported {_under(modules, name)}"


def test_help_lists_every_command_without_importing_any(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, modules = _loaded(isolated_env, "--help")
    assert result.returncode == 0
    for name in cli_main.SUBCOMMANDS:
        target, _ = cli_main.command_target(name)
        assert target.split(":")[0] not in modules, f"--help imported {target}"
    # Exactly the listing the commands' own docstrings give (click shortens both alike).
    monkeypatch.setenv("COLUMNS", "80")
    group = cli_main.cli
    ctx = click.Context(group, info_name="promptcache-tui", **group.context_settings)
    assert all(group.get_command(ctx, name) for name in group.list_commands(ctx))  # all loaded
    with ctx:
        assert result.stdout.rstrip() == group.get_help(ctx).rstrip()


@pytest.mark.parametrize("name", sorted(cli_main.SUBCOMMANDS))
def test_each_registered_help_is_its_commands_docstring(name: str) -> None:
    _, listed = cli_main.command_target(name)
    assert listed is not None, f"give {name!r} its help in SUBCOMMANDS: --help imports it now"
    command = cli_main.cli.get_command(click.Context(cli_main.cli), name)
    assert command is not None
    for limit in (30, 45, 60, 200):
        placeholder = click.Command(name, help=listed)
        assert placeholder.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_a_command_registered_without_its_help_still_works(
    monkeypatch: pytest.MonkeyPatch, cli: object
) -> None:
    # The one-line form other branches may add: "name": "module:attribute".
    monkeypatch.setitem(cli_main.SUBCOMMANDS, "costs", "promptcache_tui.cli.plan_cmd:plan_cmd")
    monkeypatch.setattr(cli_main.cli, "commands", dict(cli_main.cli.commands))
    listed = cli("--help")  # type: ignore[operator]
    assert listed.code == 0
    assert re.search(r"^  costs +Expected cost per hour", listed.out, re.MULTILINE)
    shown = cli("costs", "--help")  # type: ignore[operator]
    assert shown.code == 0 and "--gap" in shown.out
