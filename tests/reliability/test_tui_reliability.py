"""The TUI never loses a call and never lets outside text drive the terminal.

Pilot tests drive the real app against its in-process simulator (paced, so answers stream
for seconds); the last tests run the TUI as a real process on a pseudo-terminal and send it
real signals (closing the terminal is a real SIGHUP).
"""

from __future__ import annotations

import os
import pty
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Input

from promptcache_tui.config import Settings, load_settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.ui.app import PromptCacheApp
from promptcache_tui.ui.screens.confirm import ConfirmDialog
from promptcache_tui.ui.screens.name_dialog import NameDialog
from promptcache_tui.ui.terminal_guard import install
from tests.reliability.conftest import STORY
from tests.reliability.processes import call_rows
from tests.reliability.processes import wait_until as wait_for
from tests.ui.harness import seed, seed_demo, wait_selected, wait_until

LONG = "Tell me everything in detail about the White Rabbit and the Queen."
SIZE = (140, 40)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(tmp_path / "data")


def _rows(settings: Settings) -> list[sqlite3.Row]:
    return call_rows(settings.db_path)


def _in_flight_with_usage(settings: Settings) -> bool:
    rows = _rows(settings)
    return bool(rows) and rows[-1]["status"] == "in_flight" and rows[-1]["input_tokens"] > 0


async def _send(pilot: object, app: PromptCacheApp, prompt: str) -> None:
    box = app.main.query_one("#prompt", Input)
    box.focus()
    box.value = prompt
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_ctrl_q_while_an_answer_streams_asks_then_logs_it_interrupted(
    settings: Settings,
) -> None:
    await seed_demo(settings)
    app = PromptCacheApp(settings, sim_rate=20, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot)
        await _send(pilot, app, LONG)
        await wait_until(pilot, lambda: _in_flight_with_usage(settings), what="in flight")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="asked")
        await pilot.press("n")  # changed my mind: the answer goes on
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog), what="no")
        assert app.main.busy and _rows(settings)[-1]["status"] == "in_flight"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="asked")
        await pilot.press("y")
        await wait_until(
            pilot, lambda: _rows(settings)[-1]["status"] != "in_flight", what="the settle"
        )
    [row] = _rows(settings)
    assert row["status"] == "interrupted" and "(quit)" in row["error"]
    assert row["cache_creation_input_tokens"] + row["cache_read_input_tokens"] > 1000
    assert app.return_code == 0


async def test_ctrl_q_when_idle_quits_at_once(settings: Settings) -> None:
    await seed_demo(settings)
    app = PromptCacheApp(settings, sim_rate=0, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
    assert app.return_code == 0


async def test_a_rename_while_a_warm_up_is_in_flight_logs_it_under_the_new_name(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chat refuses a rename while it answers; a warm-up (f5) or keep-warm ping does not.
    monkeypatch.setenv("PROMPTCACHE_TUI_SIM_PREFILL_RATE", "1500")  # ~6 s for the demo
    await seed_demo(settings)
    app = PromptCacheApp(settings, sim_rate=0, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot)
        old = app.main.ctx.name  # type: ignore[union-attr]
        app.main.query_one("#prompt", Input).focus()
        await pilot.press("f5")
        await wait_until(
            pilot, lambda: [r["status"] for r in _rows(settings)] == ["in_flight"], what="warm"
        )
        app.main.action_rename_context()
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, NameDialog) and bool(app.screen.query(Input)),
            what="the dialog",
        )
        app.screen.query_one(Input).value = "renamed"
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: app.main.ctx is not None and app.main.ctx.name == "renamed",
            what="the rename",
        )
        assert _rows(settings)[-1]["status"] == "in_flight"  # renamed while it was out
        await wait_until(
            pilot, lambda: _rows(settings)[-1]["status"] == "ok", timeout=30, what="the warm-up"
        )
    [row] = _rows(settings)
    assert (row["kind"], row["context"]) == ("warm", "renamed")
    async with await Store.open(settings.db_path) as store:
        assert len(await store.calls.history(CallFilter(context="renamed"))) == 1
        assert await store.calls.history(CallFilter(context=old)) == []


POISON = ("\x1b]0;pwned\x07", "\x1b[2J", "\x1b]52;c;cHduZWQ=\x07")


async def test_an_answer_quoting_escape_codes_never_reaches_the_terminal_raw(
    settings: Settings,
) -> None:
    text = STORY.replace("harbour", "harbour" + "".join(POISON))
    await seed(
        settings,
        Context(
            name="poisoned",
            blocks=(Block(kind="document", text=text, name="poison\x1b[2J.txt"),),
            breakpoints=(Breakpoint(block=0),),
        ),
    )
    app = PromptCacheApp(settings, sim_rate=0, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot)
        await _send(pilot, app, "Where did she walk to the harbour?")
        await wait_until(pilot, lambda: bool(_rows(settings)) and not app.main.busy, what="ok")
        # The quoted codes are on screen (made visible) before the terminal output is read.
        await wait_until(
            pilot,
            lambda: "\\x1b]0;pwned\\x07" in app.export_screenshot(),
            what="the quoted codes shown",
        )
        shown = app.screen._compositor.render_update(full=True).render_segments(app.console)
        screenshot = app.export_screenshot()
    assert _rows(settings)[0]["status"] == "ok"
    # What is written to the terminal: none of the sequences, though the answer has them.
    assert all(code not in shown for code in POISON)
    assert "\x07" not in shown
    assert "\\x1b]0;pwned\\x07" in screenshot  # shown, visibly, in the chat


def test_the_guard_drops_control_characters_from_any_strip() -> None:
    install()
    console = Console(color_system="truecolor", force_terminal=True)
    strip = Strip([Segment("a\x1b]0;pwned\x07b\x9b2Jc\u202ed")])
    assert strip.render(console) == "a]0;pwnedb2Jcd"  # inert: the codes, not the text, go
    plain = Strip([Segment("plain text")])
    assert plain.render(console) == "plain text"


async def test_notices_are_plain_text_redacted_and_escaped(settings: Settings) -> None:
    await seed_demo(settings)
    app = PromptCacheApp(settings, sim_rate=0, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot)
        app.notify(
            "[b]not markup[/b] \x1b]0;pwned\x07 Bearer sk-ant-api03-abcdefghijklmnop",
            title="from \x1b[2J outside",
        )
        await pilot.pause()
        [notice] = list(app._notifications)
    assert notice.message == "[b]not markup[/b] \\x1b]0;pwned\\x07 Bearer [redacted]"
    assert notice.title == "from \\x1b[2J outside" and not notice.markup


async def test_keys_toml_problems_are_reported_and_printable_keys_refused(
    settings: Settings,
) -> None:
    await seed_demo(settings)
    keymap = {"app.quit": "a", "main.no_such_action": "f6", "main.new_conversation": "f6"}
    app = PromptCacheApp(settings, sim_rate=0, cursor_blink=False, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await wait_selected(pilot)
        await wait_until(
            pilot, lambda: any("keys.toml" in n.title for n in app._notifications), what="notice"
        )
        [notice] = [n for n in app._notifications if "keys.toml" in n.title]
        box = app.main.query_one("#prompt", Input)
        box.focus()
        await pilot.press("a", "b", "a")
        await pilot.pause()
        assert box.value == "aba" and app.is_running  # typing "a" did not quit
    assert "app.quit = 'a' would take 'a' from the chat input" in notice.message
    assert "unknown binding id 'main.no_such_action'" in notice.message
    assert "main.new_conversation" not in notice.message  # a good remap is applied quietly


# -- the TUI as a real process on a pseudo-terminal, real signals ----------------------------


def _spawn_tui(home: Path, extra_env: dict[str, str]) -> tuple[int, int]:
    """Start `promptcache-tui` on a new pty; return (pid, master fd)."""
    env = {**os.environ, "PROMPTCACHE_TUI_HOME": str(home), "TERM": "xterm-256color"}
    env.update(extra_env)
    env["COLUMNS"], env["LINES"] = "120", "36"
    pid, master = pty.fork()
    if pid == 0:  # the child: the TUI, its terminal the pty
        os.execve(sys.executable, [sys.executable, "-m", "promptcache_tui"], env)
    return pid, master


def _drain(master: int, until: float) -> bytes:
    """Read what the TUI drew (so it never blocks on a full pty) for a moment."""
    import select

    out = b""
    while time.monotonic() < until:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def _pump_until(
    master: int, predicate: object, what: str, drawn: list[bytes] | None = None
) -> None:
    """Keep reading the TUI's output (a full pty would block it) until `predicate()` holds;
    what it drew is added to `drawn`."""

    def check() -> bool:
        chunk = _drain(master, time.monotonic() + 0.02)
        if drawn is not None:
            drawn.append(chunk)
        return bool(predicate())  # type: ignore[operator]

    wait_for(check, what)


def _wait_exit(pid: int, master: int, deadline: float = 60) -> int:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        _drain(master, time.monotonic() + 0.05)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("the TUI did not exit")


def _type(master: int, text: str) -> None:
    os.write(master, text.encode())


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP-closed-terminal", "SIGINT"])
def test_a_signal_to_the_tui_mid_answer_logs_the_call_interrupted(tmp_path: Path, how: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    seeded = subprocess.run(
        [sys.executable, "-c", _SEED, str(home)], capture_output=True, text=True, timeout=60
    )
    assert seeded.returncode == 0, seeded.stderr
    db = home / "promptcache.sqlite3"
    pid, master = _spawn_tui(home, {"PROMPTCACHE_TUI_SIM_RATE": "20"})
    try:
        # Ready when the selected context's chat shows its hint (store open, context loaded).
        drawn: list[bytes] = []
        _pump_until(
            master, lambda: b"New conversation with" in b"".join(drawn), "the TUI to start", drawn
        )
        _type(master, LONG + "\r")
        _pump_until(
            master,
            lambda: bool(call_rows(db)) and call_rows(db)[-1]["input_tokens"] > 0,
            "the call in flight, with its usage",
        )
        if how == "SIGHUP-closed-terminal":
            os.close(master)  # the terminal goes away: the kernel sends SIGHUP
            master = -1
            code = _wait_exit_closed(pid)
            expected = 128 + signal.SIGHUP
        else:
            sig = signal.SIGTERM if how == "SIGTERM" else signal.SIGINT
            os.kill(pid, sig)
            code = _wait_exit(pid, master)
            expected = 128 + sig
    finally:
        if master >= 0:
            os.close(master)
    assert code == expected
    [row] = call_rows(db)
    assert row["status"] == "interrupted", dict(row)
    assert row["cache_creation_input_tokens"] + row["cache_read_input_tokens"] > 1000


def _wait_exit_closed(pid: int, deadline: float = 60) -> int:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("the TUI did not exit")


_SEED = """
import asyncio, sys
from pathlib import Path
from promptcache_tui.store import Store
from promptcache_tui.ui.demo import demo_context

async def main():
    async with await Store.open(Path(sys.argv[1]) / "promptcache.sqlite3") as store:
        ctx = await store.contexts.add(demo_context())
        await store.contexts.touch(ctx.id)

asyncio.run(main())
"""
