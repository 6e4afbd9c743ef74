"""Abusive input: malformed `.env` and `models.toml`, odd files and names, five breakpoints.

tests/cli/test_context_cmd.py already covers binary, non-UTF-8, blank, oversized and missing
files, directories, invalid context names and duplicates; this adds what it leaves out.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import OptionList

from promptcache_tui.config import load_settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.ui.screens.context_editor import ContextEditorScreen
from promptcache_tui.ui.widgets.prompt_input import PromptInput
from tests.reliability.conftest import Cli, assert_one_line_error, rows
from tests.ui.harness import make_app, seed, seed_demo, wait_selected, wait_until

DB_NAME = "promptcache.sqlite3"


def toasts(app: object) -> list[str]:
    """The notifications shown (run_test keeps toasts off screen)."""
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


# -- a malformed .env ------------------------------------------------------------------------


@pytest.fixture(params=["working dir", "data dir"])
def dotenv_path(request: pytest.FixtureRequest, isolated_env: Path, restore_environ: None) -> Path:
    """Where the `.env` under test lives (both are read; os.environ is restored after)."""
    return Path.cwd() / ".env" if request.param == "working dir" else isolated_env / ".env"


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00binary\xff\xfe", "looks binary"),
        (b"ANTHROPIC_API_KEY=sk-ant\x00oops\n", "looks binary"),  # os.environ refuses NUL
        (b"PROMPTCACHE_TUI_MAX_TOKENS=5\n\xff\xfe=\n", "not UTF-8"),
    ],
)
def test_an_unreadable_dotenv_is_one_line(
    cli: Cli, dotenv_path: Path, content: bytes, fragment: str
) -> None:
    dotenv_path.write_bytes(content)
    assert_one_line_error(cli("context", "list"), str(dotenv_path), fragment)


def test_unparsable_dotenv_lines_are_one_warning_and_the_rest_applies(
    cli: Cli, story: str, dotenv_path: Path
) -> None:
    dotenv_path.write_text(
        'this is not a setting\nPROMPTCACHE_TUI_MAX_TOKENS=5\n=no key\nQUOTED="x" trailing\n'
    )
    result = cli("ask", story, "Tell me everything about Aria", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["output_tokens"] == 5  # the good line was applied
    assert result.err.strip() == (
        f"promptcache-tui: warning: {dotenv_path}: cannot parse lines 1, 3, 4 (ignored)"
    )


def test_a_dotenv_with_a_byte_order_mark_still_sets_its_first_key(
    cli: Cli, story: str, dotenv_path: Path
) -> None:
    dotenv_path.write_bytes("\ufeffPROMPTCACHE_TUI_MAX_TOKENS=5\n".encode())
    result = cli("ask", story, "Tell me everything about Aria", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["output_tokens"] == 5


# -- a malformed models.toml -----------------------------------------------------------------

BAD_CATALOGS = {
    "not TOML": b"[models.claude-x\ninput = 1\n",
    "binary": b"\xff\xfe\x00\x01models",
    "models not a table": b"models = 3\n",
    "price not a number": b"[models.claude-sonnet-4-6]\ninput = 'three dollars'\n",
}
NEEDS_CATALOG = [
    ("context", "add", "more", "--text", "hello"),
    ("context", "show", "story"),
    ("ask", "story", "Where?"),
    ("warm", "story"),
    ("plan", "story", "--gap", "4m"),
]


@pytest.mark.parametrize("content", BAD_CATALOGS.values(), ids=BAD_CATALOGS.keys())
def test_a_malformed_catalog_override_is_one_line_naming_it(
    cli: Cli, story: str, isolated_env: Path, content: bytes
) -> None:
    override = isolated_env / "models.toml"
    override.write_bytes(content)
    for args in NEEDS_CATALOG:
        assert_one_line_error(cli(*args), str(override))
    # Commands that need no prices still work.
    for args in (("context", "list"), ("history",), ("stats",)):
        result = cli(*args)
        assert result.code == 0 and "Traceback" not in result.err, (args, result.err)
    assert rows(isolated_env / DB_NAME, "SELECT count(*) FROM calls") == [(0,)]


def test_non_finite_prices_are_refused(cli: Cli, story: str, isolated_env: Path) -> None:
    (isolated_env / "models.toml").write_text(
        "[models.claude-sonnet-4-6]\ninput = inf\noutput = nan\n"
    )
    result = cli("ask", story, "Where?", "--format", "json")
    assert_one_line_error(result, "models.toml", "input must be")


async def test_tui_start_with_a_malformed_catalog_is_a_notice(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "data", offline=True)
    await seed_demo(settings)
    (settings.data_dir / "models.toml").write_text("[models.x\ninput = 1\n")
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(
            pilot, lambda: any("models.toml" in t for t in toasts(app)), what="the start-up notice"
        )
        [notice] = [n for n in app._notifications if "models.toml" in str(n.message)]
        assert notice.title == "Cannot start" and "not valid TOML" in str(notice.message)
        assert "\n" not in str(notice.message)
        assert not app.ready
        # The app stays up and says why nothing works; Enter is refused politely, with why.
        await pilot.press(*"hello", "enter")
        await wait_until(
            pilot,
            lambda: any("Cannot send" in t and "models.toml" in t for t in toasts(app)),
            what="the refusal",
        )
        assert app.is_running


# -- files and names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "is empty"),
        ("UTF-16 text".encode("utf-16"), "binary"),
    ],
)
def test_more_files_that_are_refused(
    cli: Cli, tmp_path: Path, isolated_env: Path, content: bytes, fragment: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    assert_one_line_error(cli("context", "add", "x", "--file", str(bad)), str(bad), fragment)
    assert not (isolated_env / DB_NAME).exists() or rows(
        isolated_env / DB_NAME, "SELECT count(*) FROM contexts"
    ) == [(0,)]


def _limit_memory() -> None:
    # A runaway read must hit a ceiling, not the machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_an_endless_device_is_refused_not_read_forever(isolated_env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "promptcache_tui", "context", "add", "z", "--file", "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr[-300:]
    assert len(done.stderr.strip().splitlines()) == 1 and "/dev/zero" in done.stderr


ODD_NAMES = [
    "with space.txt",
    "ünïcödé-文档.txt",
    "quote'\"s.txt",
    "[bold]brackets.txt",
    "semi;colon&amp.txt",
    "new\nline.txt",
    "esc\x1b[31mred.txt",
    "-leading-dash.txt",
    "x" * 200 + ".txt",
]


def test_odd_file_names_are_kept_exactly_and_shown_safely(cli: Cli, tmp_path: Path) -> None:
    paths = []
    for i, name in enumerate(ODD_NAMES):
        path = tmp_path / name
        path.write_text(f"Document number {i} is about the harbour.\n")
        paths.append(path)
    args = [arg for p in paths for arg in ("--file", str(p))]
    assert cli("context", "add", "odd", *args).code == 0
    doc = json.loads(cli("context", "show", "odd", "--format", "json").out)
    assert [b["name"] for b in doc["blocks"]] == ODD_NAMES
    table = cli("context", "show", "odd")
    assert table.code == 0 and "\x1b" not in table.out  # no raw escape reaches the terminal
    assert "new\\nline.txt" in table.out and "esc\\x1b[31mred.txt" in table.out
    block_rows = [line for line in table.out.splitlines() if "document " in line]
    assert len(block_rows) == len(ODD_NAMES)  # one line per block


def test_a_context_name_with_a_trailing_newline_is_refused(cli: Cli) -> None:
    assert_one_line_error(
        cli("context", "add", "book\n", "--text", "hello"), "invalid context name"
    )


async def test_tui_odd_block_names_are_shown_and_edited_without_markup_errors(
    tmp_path: Path,
) -> None:
    settings = load_settings(tmp_path / "data", offline=True)
    odd = ("[bold]x.txt", "esc\x1b[31m.txt", "a[x='q]b.txt", "[@click=app.quit]y.txt")
    ctx = Context(
        name="odd",
        blocks=tuple(
            Block("document", f"Odd document {i} about the harbour. " * 40, name)
            for i, name in enumerate(odd)
        ),
        breakpoints=(Breakpoint(3, "5m"),),
    )
    await seed(settings, ctx)
    app = make_app(settings)
    async with app.run_test(size=(160, 44)) as pilot:
        await wait_selected(pilot, "odd")
        await pilot.press("f2")
        await wait_until(
            pilot, lambda: isinstance(app.screen, ContextEditorScreen), what="the editor"
        )
        editor = app.screen
        assert isinstance(editor, ContextEditorScreen)
        assert [b.name for b in editor.blocks] == list(odd)
        await pilot.press("ctrl+l")
        blocks = editor.query_one(OptionList)
        for _ in odd[:-1]:
            blocks.focus()
            blocks.highlighted = 0
            await pilot.press("delete")  # its notice names the block
            await pilot.pause()
        assert [b.name for b in editor.blocks] == [odd[-1]]
        assert sum(t.startswith("Removed") for t in toasts(app)) == len(odd) - 1
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running


# -- five breakpoints ------------------------------------------------------------------------

FIVE_BLOCKS = Context(
    name="five",
    blocks=(
        Block("document", "The story. " * 300, "story"),
        *(Block("document", f"Extra note {i} about the harbour.", f"note-{i}") for i in range(4)),
    ),
    breakpoints=(Breakpoint(4, "5m"),),
)


def _add_four_breakpoints(home: Path) -> str:
    """Give the stored context 'five' five breakpoints (only a hand-edited database can)."""
    conn = sqlite3.connect(home / DB_NAME)
    conn.executemany(
        "INSERT INTO breakpoints (context_id, block_position, ttl) VALUES (1, ?, '5m')",
        [(0,), (1,), (2,), (3,)],
    )
    conn.commit()
    conn.close()
    return "five"


def test_five_stored_breakpoints_are_one_line_and_nothing_is_sent(
    cli: Cli, isolated_env: Path
) -> None:
    asyncio.run(seed(load_settings(isolated_env), FIVE_BLOCKS))
    name = _add_four_breakpoints(isolated_env)
    for args in (("context", "show", name), ("ask", name, "Where?"), ("warm", name)):
        assert_one_line_error(cli(*args), "A maximum of 4 blocks with cache_control", "Found 5")
    assert rows(isolated_env / DB_NAME, "SELECT count(*) FROM calls") == [(0,)]
    assert cli("context", "rm", name).code == 0  # and it can be removed


async def test_tui_five_stored_breakpoints_refuse_to_send_and_keep_the_prompt(
    isolated_env: Path,
) -> None:
    await seed(load_settings(isolated_env), FIVE_BLOCKS)
    _add_four_breakpoints(isolated_env)
    app = make_app(load_settings(isolated_env, offline=True))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot, "five")
        await pilot.press(*"Where?", "enter")
        await wait_until(
            pilot, lambda: any("maximum of 4" in t for t in toasts(app)), what="the refusal"
        )
        assert app.main.query_one(PromptInput).value == "Where?"
        assert app.store is not None and await app.store.calls.history() == []
