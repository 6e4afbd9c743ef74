"""The fast start of `context list`, `history` and `stats` (cli/entry.py) is the click
command, byte for byte: for every spelling it runs, the same stdout, stderr and exit code as
through click; every spelling it does not fully understand reaches click unchanged.

Each spelling runs twice in a fresh interpreter: through the console entry point (which takes
the fast start when it can) and through `cli.main.main` (always click). Which way the first
run went is read from whether it imported click.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from promptcache_tui.cli import entry, reports
from promptcache_tui.cli.context_cmd import context as context_group
from promptcache_tui.cli.entry import run_as_click_would
from promptcache_tui.cli.history_cmd import history as history_cmd
from promptcache_tui.cli.history_cmd import stats as stats_cmd
from promptcache_tui.core.context import Block, Context
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.errors import Interrupted
from promptcache_tui.core.records import CallRecord, iso_utc
from promptcache_tui.store import Store, StoreError
from promptcache_tui.store.inline import run_inline
from tests.conftest import CliResult

# Notes in a file named by CLICK_MARK whether the run imported click, then runs `how`.
DRIVER = """
import os, sys
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "click":
            open(os.environ["CLICK_MARK"], "w").close()
        return None
sys.meta_path.insert(0, Watch())
if sys.argv[1] == "entry":
    del sys.argv[1]
    from promptcache_tui.cli.entry import main
    main()
else:
    from promptcache_tui.cli.main import main
    main(sys.argv[2:])
"""
FAST, CLICK = True, False
# (argv, whether the fast start runs it): every option, both spellings of a value, global
# options before and after each word, and what must go to click (mistakes included).
SPELLINGS: list[tuple[tuple[str, ...], bool]] = [
    (("context", "list"), FAST),
    (("context", "list", "--format", "json"), FAST),
    (("context", "list", "--format=table"), FAST),
    (("--offline", "context", "--offline", "list", "--offline"), FAST),
    (("--data-dir", "{other}", "context", "list"), FAST),
    (("context", "--data-dir={other}", "list", "--data-dir", "{data}"), FAST),
    (("context", "list", "--format", "json", "--format", "table"), FAST),
    (("history",), FAST),
    (("history", "--limit", "3"), FAST),
    (("history", "--limit=1", "--format", "json"), FAST),
    (("history", "--format", "csv", "--limit", "4"), FAST),
    (("history", "--context", "BOOK", "--limit", "5"), FAST),  # names are case-insensitive
    (("history", "--context=nosuch"), FAST),
    (("history", "--model", "claude-haiku-4-5", "--kind", "ask"), FAST),
    (("history", "--status", "error", "--format", "json"), FAST),
    (("history", "--status", "in_flight"), FAST),
    (("history", "--since", "2d"), FAST),
    (("history", "--since=2000-01-01", "--limit", "9223372036854775807"), FAST),
    (("history", "--kind", "proxy", "--since", "1h"), FAST),  # nothing matches
    (("--data-dir", "{other}", "history", "--offline"), FAST),
    (("stats",), FAST),
    (("stats", "--by", "model"), FAST),
    (("stats", "--by=day", "--format=json"), FAST),
    (("stats", "--context", "code", "--status", "ok", "--since", "7d"), FAST),
    (("stats", "--kind", "warm", "--model", "claude-sonnet-4-6", "--format", "json"), FAST),
    (("stats", "--data-dir", "{other}"), FAST),
    # To click: mistakes, help, and what the fast start leaves to click's own reading.
    (("history", "--since", "bogus"), CLICK),
    (("history", "--since=10000000000d"), CLICK),
    (("stats", "--since", "yesterday"), CLICK),
    (("history", "--limit", "0"), CLICK),
    (("history", "--limit", "9223372036854775808"), CLICK),
    (("history", "--limit", "abc"), CLICK),
    (("history", "--limit", "+5"), CLICK),
    (("history", "--limit", " 5"), CLICK),
    (("history", "--limit", "1" * 30), CLICK),
    (("history", "--limit"), CLICK),
    (("history", "--format", "xml"), CLICK),
    (("history", "--format", "JSON"), CLICK),
    (("stats", "--format", "csv"), CLICK),
    (("context", "list", "--format", "csv"), CLICK),
    (("stats", "--by", "kind"), CLICK),
    (("history", "--kind", "nope"), CLICK),
    (("history", "--status", "OK"), CLICK),
    (("history", "--limit", "abc", "--limit", "5"), CLICK),  # click reads only the last
    (("history", "extra"), CLICK),
    (("history", "--", "--limit", "3"), CLICK),
    (("history", "--nosuch"), CLICK),
    (("history", "--offline=1"), CLICK),
    (("history", "-h"), CLICK),
    (("stats", "--help"), CLICK),
    (("context",), CLICK),
    (("context", "lists"), CLICK),
    (("context", "list", "extra"), CLICK),
    (("context", "--format", "json", "list"), CLICK),
    (("--format", "json", "history"), CLICK),
    (("--model", "claude-haiku-4-5", "history"), CLICK),
    (("history", "--context", ""), CLICK),
    (("history", "--context", "-x"), CLICK),
    (("history", "--data-dir"), CLICK),
    (("--data-dir", "{file}", "history"), CLICK),
    (("history", "--data-dir", "{file}", "--data-dir", "{data}"), CLICK),
    (("--version",), CLICK),
    (("--help",), CLICK),
    (("histories",), CLICK),
    (("history", "--context", "caf\udce9"), CLICK),  # argv bytes that were not UTF-8
    (("history", "--context", "café"), FAST),
]


def _calls(now: float) -> list[CallRecord]:
    """Calls of three contexts over the last four days (relative to now: `--since 2d`
    splits them whatever the date), some failed, one with control characters in its error."""
    models = {"claude-sonnet-4-6": Prices(3.0, 15.0), "claude-haiku-4-5": Prices(1.0, 5.0)}
    out = []
    for i in range(40):
        model = list(models)[i % 2]
        failed = i % 9 == 4
        out.append(
            CallRecord(
                ts=iso_utc(now - 4 * 86_400 + i * 8_000),
                kind=("chat", "ask", "warm")[i % 3],
                model=model,
                status="error" if failed else "ok",
                context=("Book", "code", "faq")[i % 3],
                error="overloaded\x1b[31m: try\nagain" if failed else None,
                usage=Usage()
                if failed
                else Usage.from_counts(
                    input_tokens=10 + i,
                    cache_creation_input_tokens=0 if i % 2 else 3000 + i,
                    cache_read_input_tokens=3000 + i if i % 2 else 0,
                    output_tokens=50 + i,
                ),
                prices=models[model],
                cache_miss_reason=None if i % 2 else "first write",
                prompt=f"question {i}",
            )
        )
    return out


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Data dirs: `data` with contexts and calls, `other` empty, and `file`, a file."""
    root = tmp_path_factory.mktemp("fast")
    data, other = root / "data", root / "other"
    data.mkdir()
    (root / "file").write_text("not a folder")

    async def seed() -> None:
        async with await Store.open(data / "promptcache.sqlite3", inline=True) as store:
            for name in ("Book", "code", "faq"):
                await store.contexts.add(
                    Context(name=name, blocks=(Block(kind="document", text=name * 50),))
                )
            await store.calls.log_many(_calls(time.time()))

    run_inline(seed())
    return {"data": data, "other": other, "file": root / "file"}


def _run(how: str, args: list[str], home: Path, mark: Path) -> tuple[CliResult, bool]:
    """One run in a fresh interpreter, and whether it imported click."""
    mark.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(PROMPTCACHE_TUI_HOME=str(home), CLICK_MARK=str(mark), PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, how, *args],
        env=env,
        capture_output=True,
        timeout=60,
    )
    result = CliResult(done.returncode, done.stdout.decode(), done.stderr.decode())
    return result, mark.exists()


def _label(value: object) -> str:
    return " ".join(value) if isinstance(value, tuple) else "fast" if value else "click"


@pytest.mark.parametrize(("args", "fast"), SPELLINGS, ids=_label)
def test_a_spelling_runs_alike_either_way(
    homes: dict[str, Path], tmp_path: Path, args: tuple[str, ...], fast: bool
) -> None:
    argv = [a.format(**{k: str(v) for k, v in homes.items()}) for a in args]
    # A spelling given --data-dir DIR or DIR uses the same data (the seeded dir by default).
    entry_run, entry_click = _run("entry", argv, homes["data"], tmp_path / "mark")
    click_run, _ = _run("click", argv, homes["data"], tmp_path / "mark")
    assert entry_click is not fast, f"expected the {'fast start' if fast else 'click path'}"
    assert entry_run == click_run
    assert "Traceback" not in entry_run.err  # a mistake is one line
    assert (entry_run.code == 0) if fast else (entry_run.code in (0, 2))


def test_what_it_runs_is_what_click_would_run() -> None:
    """The fast start's options are the click commands' own (a new option there goes to
    click until the fast start learns it; one removed there must not stay here)."""

    def names(command: click.Command) -> set[str]:
        return {o for p in command.params for o in p.opts if o.startswith("--")} - {"--help"}

    list_cmd = context_group.get_command(click.Context(context_group), "list")
    assert list_cmd is not None
    for words, command in (
        (("context", "list"), list_cmd),
        (("history",), history_cmd),
        (("stats",), stats_cmd),
    ):
        assert names(command) == {*entry.REPORT_OPTIONS[words], "--data-dir", "--offline"}
    assert names(context_group) == {"--data-dir", "--offline"}


def test_only_the_three_commands_are_read() -> None:
    assert entry.report_args([]) is None  # the TUI
    assert entry.report_args(["statusline"]) is None
    assert entry.report_args(["context", "show", "x"]) is None
    assert entry.report_args(["--data-dir", "d", "history", "--limit", "2", "--offline"]) == (
        ("history",),
        {"--data-dir": "d", "--limit": "2", "--offline": "1"},
    )


def test_a_stream_click_would_rewrap_goes_to_click(homes: dict[str, Path], tmp_path: Path) -> None:
    # An ASCII stdout: click writes through its own wrapper, so click runs it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(
        PROMPTCACHE_TUI_HOME=str(homes["data"]),
        CLICK_MARK=str(tmp_path / "mark"),
        PYTHONIOENCODING="ascii",
    )
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, "entry", "context", "list"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0 and b"Book" in done.stdout
    assert (tmp_path / "mark").exists()
    # And a shell asking for completions gets click's answer, not a report.
    env.update(PYTHONIOENCODING="utf-8", _PROMPTCACHE_TUI_COMPLETE="bash_complete")
    assert entry.COMPLETE_ENV == "_PROMPTCACHE_TUI_COMPLETE"
    (tmp_path / "mark").unlink()
    subprocess.run(
        [sys.executable, "-c", DRIVER, "entry", "history"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert (tmp_path / "mark").exists()


@pytest.mark.parametrize(
    "args", [("history", "--limit", "1000"), ("history", "--format", "json", "--limit", "2")]
)
def test_a_closed_stdout_ends_alike_either_way(
    homes: dict[str, Path], tmp_path: Path, args: tuple[str, ...]
) -> None:
    """The reader is gone before the first line (a table, a small JSON document): the same
    exit code and stderr either way, and no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(PROMPTCACHE_TUI_HOME=str(homes["data"]), CLICK_MARK=str(tmp_path / "mark"))
    ends = []
    for how in ("entry", "click"):
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run(
                [sys.executable, "-c", DRIVER, how, *args],
                env=env,
                stdout=write,
                stderr=subprocess.PIPE,
                timeout=60,
            )
        finally:
            os.close(write)
        ends.append((done.returncode, done.stderr))
        assert b"Traceback" not in done.stderr
    assert ends[0] == ends[1]


ENDINGS: list[BaseException] = [
    KeyboardInterrupt(),
    EOFError(),
    StoreError("database /x is busy: try again"),
    Interrupted(15),
    PermissionError(13, "Permission denied", "/data/promptcache.sqlite3"),
    OSError(28, "No space left on device"),
]


@pytest.mark.parametrize("error", ENDINGS, ids=lambda e: type(e).__name__)
def test_a_failure_ends_alike_either_way(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli: Callable[..., CliResult],
    error: BaseException,
) -> None:
    """What a command raises ends the same way through click and through the fast start."""

    def fails(*args: object) -> None:
        raise error

    monkeypatch.setattr(reports, "history", fails)
    through_click = cli("history")
    capsys.readouterr()
    code = run_as_click_would(fails)
    captured = capsys.readouterr()
    assert CliResult(code, captured.out, captured.err) == through_click
    assert through_click.code != 0 and through_click.err.startswith(("promptcache-tui: ", "\n"))
