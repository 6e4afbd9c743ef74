"""`promptcache-tui statusline`: what Claude Code's status bar shows, and what gets logged.

The command runs as Claude Code runs it: a process of the console entry point, its JSON
document on stdin, the clock set through PROMPTCACHE_TUI_NOW. Its logging happens in a
detached child after the line is printed, so the tests wait for the log state (a
condition, never a sleep) before they look at the database.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from promptcache_tui.cli.entry import statusline_args
from promptcache_tui.core.records import parse_iso
from tests.conftest import CliResult
from tests.readonly import read_only

from .conftest import calls, query, wait_until
from .transcript import Session

SID = "7c1e2a3b-4d5e-4f60-8a9b-0c1d2e3f4a01"
T0 = "2026-11-20T10:00:05.000Z"  # the first response's time
GREEN, AMBER, DIM, RESET = "\x1b[32m", "\x1b[33m", "\x1b[2m", "\x1b[0m"


def at(seconds_after_t0: float) -> str:
    """PROMPTCACHE_TUI_NOW for a moment after T0."""
    return str(parse_iso(T0) + seconds_after_t0)


def document(session: Session, model: str = "claude-opus-4-8") -> dict[str, Any]:
    """Claude Code's status-line document (2.1.197's fields, as it sends them)."""
    return {
        "session_id": session.session_id,
        "transcript_path": str(session.path),
        "cwd": session.cwd,
        "prompt_id": "5e0d3f0e-8d1c-4d2a-9c55-0a6c2f4b3e21",
        "permission_mode": "default",
        "model": {"id": model, "display_name": "Opus 4.8"},
        "workspace": {"current_dir": session.cwd, "project_dir": session.cwd, "added_dirs": []},
        "version": "2.1.197",
        "output_style": {"name": "default"},
        "cost": {
            "total_cost_usd": 0.42,
            "total_duration_ms": 61_000,
            "total_api_duration_ms": 9_000,
            "total_lines_added": 3,
            "total_lines_removed": 1,
        },
        "context_window": {"total_input_tokens": 26_000, "context_window_size": 200_000},
        "exceeds_200k_tokens": False,
        "fast_mode": False,
        "thinking": {"enabled": True},
    }


class Ran:
    """One run of the command."""

    def __init__(self, done: subprocess.CompletedProcess[bytes]) -> None:
        self.code = done.returncode
        self.out = done.stdout.decode("utf-8")
        self.err = done.stderr.decode("utf-8", "replace")

    @property
    def line(self) -> str:
        assert self.out.endswith("\n") and self.out.count("\n") == 1, self.out
        return self.out[:-1]

    @property
    def plain(self) -> str:
        return re.sub(r"\x1b\[[0-9;]*m", "", self.line)


def statusline(
    stdin: bytes | dict[str, Any] | str,
    *args: str,
    now: str | None = None,
    env: dict[str, str] | None = None,
) -> Ran:
    """`promptcache-tui statusline ARGS` as Claude Code runs it (through the console entry
    point's fast path)."""
    data = json.dumps(stdin).encode() if isinstance(stdin, dict) else stdin
    data = data.encode() if isinstance(data, str) else data
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environ.update(env or {})
    if now is not None:
        environ["PROMPTCACHE_TUI_NOW"] = now
    done = subprocess.run(
        [sys.executable, "-m", "promptcache_tui", "statusline", *args],
        input=data,
        capture_output=True,
        env=environ,
        timeout=60,
        check=False,
    )
    ran = Ran(done)
    assert ran.code == 0 and ran.err == "", (ran.code, ran.err)
    return ran


def log_state(home: Path, session_id: str = SID) -> dict[str, Any]:
    path = home / "statusline" / f"{session_id}.log.json"
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}


def cache_state(home: Path, session_id: str = SID) -> dict[str, Any]:
    return json.loads((home / "statusline" / f"{session_id}.json").read_bytes())


def wait_logged(home: Path, session: Session, session_id: str = SID) -> dict[str, Any]:
    """The log state once the background logger has logged the transcript as it is now."""
    size = session.path.stat().st_size

    def done() -> dict[str, Any] | None:
        state = log_state(home, session_id)
        cursor = state.get("files", {}).get(str(session.path), {})
        return state if cursor.get("size") == size else None

    return wait_until(done, "the background logging")


def snapshot(home: Path) -> dict[str, list[dict[str, Any]]]:
    """What an import writes: calls, miss explanations and groups (less their creation time)."""
    return {
        "calls": calls(home),
        "misses": query(home, "SELECT * FROM call_misses ORDER BY call_id"),
        "groups": [
            {k: v for k, v in g.items() if k != "created_at"}
            for g in query(home, "SELECT * FROM observed_groups ORDER BY key")
        ],
    }


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    return tmp_path / "claude" / "projects"


def a_session(projects: Path) -> Session:
    """A first 1h write, a response in three lines that reads it, an API error, and a
    response 40 minutes later that reads it again (a 1h cache is still there)."""
    return (
        Session(projects, SID)
        .user("2026-11-20T10:00:00.000Z", "Fix the tests")
        .response(T0, message_id="msg_A", request_id="req_A", input_tokens=1651,
                  write_1h=24_952, output=226)
        .user("2026-11-20T10:00:30.000Z", "And the docs")
        .response("2026-11-20T10:00:40.000Z", message_id="msg_B", request_id="req_B",
                  read=24_952, write_1h=800, output=310, partial_output=12,
                  blocks=("thinking", "text", "tool_use"))
        .api_error("2026-11-20T10:01:00.000Z", 529, "API Error: 529 Overloaded", "req_C")
        .response("2026-11-20T10:40:00.000Z", message_id="msg_D", request_id="req_D",
                  read=25_752, write_1h=0, output=40)
    )  # fmt: skip


# -- the line ---------------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_a_1h_cache_refreshed_by_a_read_counts_down_from_that_read(
    projects: Path, home: Path, tz: str
) -> None:
    session = a_session(projects)
    session.write()
    # The last read (10:40:00) refreshed the 1h entry: it lives until 11:40:00.
    now = at(55 * 60 - 5)  # 10:55:00
    first = statusline(document(session), now=now, env={"TZ": tz})
    assert first.line == f"{GREEN}cache 45:00 left (1h){RESET}"  # nothing logged yet
    wait_logged(home, session)
    again = statusline(document(session), now=now, env={"TZ": tz})
    # Hit rate and savings are those of the logged session: reads over prompt tokens, and
    # what caching saved at the prices logged with each call.
    rows = calls(home)
    assert [r["message_id"] for r in rows if r["status"] == "ok"] == ["msg_A", "msg_B", "msg_D"]
    prompt = sum(r["input_tokens"] + r["cache_creation_input_tokens"] for r in rows)
    read = sum(r["cache_read_input_tokens"] for r in rows)
    saved = sum(r["saved_usd"] or 0 for r in rows)
    assert read / (prompt + read) == pytest.approx(50_704 / 78_113)
    assert saved > 0.01
    assert again.line == (
        f"{GREEN}cache 45:00 left (1h){RESET} · hit {read / (prompt + read) * 100:.0f}%"
        f" · saved ${saved:.2f}"
    )


def test_a_5m_write_counts_down_from_the_write_and_turns_amber_in_its_last_minute(
    projects: Path, home: Path
) -> None:
    session = Session(projects, SID)
    session.response(T0, message_id="msg_A", request_id="req_A", write_5m=3000).write()
    doc = document(session)
    assert statusline(doc, now=at(48)).line == f"{GREEN}cache 4:12 left (5m){RESET}"
    wait_logged(home, session)
    # The dashboard's rule (EntryState.urgency): the last fifth of the TTL is "expiring".
    assert statusline(doc, now=at(239)).line.startswith(f"{GREEN}cache 1:01 left (5m){RESET} · ")
    assert statusline(doc, now=at(240)).line.startswith(f"{AMBER}cache 1:00 left (5m){RESET} · ")
    assert statusline(doc, now=at(241)).line.startswith(f"{AMBER}cache 0:59 left (5m){RESET} · ")
    assert statusline(doc, now=at(299)).plain.startswith("cache 0:01 left (5m) · ")
    # At T0 + 300 s the entry is gone: the API's TTL is counted from the request.
    assert statusline(doc, now=at(300)).line.startswith(f"{DIM}cache expired 0s ago{RESET} · ")
    assert statusline(doc, now=at(301)).plain.startswith("cache expired 1s ago · ")


def test_an_expired_session_says_how_long_ago(projects: Path, home: Path) -> None:
    session = Session(projects, SID)
    session.response(T0, message_id="msg_A", request_id="req_A", write_1h=30_000).write()
    ran = statusline(document(session), now=at(3600 + 125))
    assert ran.line == f"{DIM}cache expired 2m ago{RESET}"
    wait_logged(home, session)
    ran = statusline(document(session), now=at(3600 + 3 * 3600 + 5))
    # 1h writes cost 2x and nothing was read: so far caching has cost money.
    (row,) = calls(home)
    assert row["saved_usd"] < -0.01
    assert ran.plain == f"cache expired 3h ago · hit 0% · saved -${-row['saved_usd']:.2f}"
    assert statusline(document(session), now=at(3600 + 2 * 86400)).plain.startswith(
        "cache expired 2d ago"
    )


def test_a_new_session_is_cold_and_the_cache_is_per_model(projects: Path, home: Path) -> None:
    session = Session(projects, SID)
    ran = statusline(document(session), now=at(0))  # no transcript yet: no message sent
    assert ran.line == f"{DIM}cache cold{RESET} · no calls yet"
    # The main model writes 1h; a side call on another model writes 5m a minute later.
    session.response(T0, message_id="msg_A", request_id="req_A", write_1h=20_000)
    session.response(
        "2026-11-20T10:01:05.000Z",
        message_id="msg_H",
        request_id="req_H",
        model="claude-haiku-4-5",
        write_5m=900,
    ).write()
    assert statusline(document(session), now=at(600)).plain.startswith("cache 50:00 left (1h)")
    haiku = statusline(document(session, model="claude-haiku-4-5"), now=at(600))
    assert haiku.plain.startswith("cache expired 4m ago")
    # An id with a context-size suffix is the same model; an unknown one shows the last used.
    wide = statusline(document(session, model="claude-opus-4-8[1m]"), now=at(600))
    assert wide.plain.startswith("cache 50:00 left (1h)")
    unknown = statusline(document(session, model="claude-fable-5"), now=at(600))
    assert unknown.plain.startswith("cache expired 4m ago")  # haiku answered last


def test_the_json_format_gives_the_same_facts(projects: Path, home: Path) -> None:
    session = Session(projects, SID)
    session.response(T0, message_id="msg_A", request_id="req_A", write_1h=6000, read=0).write()
    statusline(document(session), now=at(10))
    wait_logged(home, session)
    ran = statusline(document(session), "--format", "json", now=at(60))
    facts = json.loads(ran.out)
    assert facts == {
        "session_id": SID,
        "model": "claude-opus-4-8",
        "cache": {
            "state": "warm",
            "ttl": "1h",
            "urgency": "warm",
            "expires_at": "2026-11-20T11:00:05.000000+00:00",
            "seconds_left": 3540.0,
            "expired_seconds_ago": None,
        },
        "calls": 1,
        "hit_rate": 0.0,
        "saved_usd": facts["saved_usd"],
        "text": "cache 59:00 left (1h) · hit 0% · saved -$0.03",
        "error": None,
    }
    assert facts["saved_usd"] == pytest.approx(calls(home)[0]["saved_usd"])
    assert facts["saved_usd"] == pytest.approx(-0.03)  # 6,000 tokens written at 2x $5/MTok
    expired = json.loads(statusline(document(session), "--format=json", now=at(3700)).out)
    assert expired["cache"]["state"] == "expired"
    assert expired["cache"]["expired_seconds_ago"] == 100.0
    assert expired["cache"]["seconds_left"] is None


# -- reading only what is new, logging as the importer does ----------------------------


def test_a_second_run_reads_only_the_new_bytes(projects: Path, home: Path) -> None:
    session = a_session(projects)
    path = session.write()
    statusline(document(session), now=at(60))
    wait_logged(home, session)
    size = path.stat().st_size
    assert cache_state(home)["files"][str(path)]["offset"] == size
    # Spoil what was read already, in place (same file, same size): a run that read it
    # again would count a malformed line and lose msg_A.
    with path.open("r+b") as handle:
        first = handle.readline()
        handle.seek(0)
        handle.write(b'{"assistant' + b"x" * (len(first) - 12) + b"\n")
    session.user("2026-11-20T10:41:00.000Z", "one more")
    before = len(session.lines)
    session.response(
        "2026-11-20T10:41:10.000Z", message_id="msg_E", request_id="req_E", read=25_752
    )
    session.append("".join(line + "\n" for line in session.lines[before:]))
    ran = statusline(document(session), now=at(41 * 60 + 5))
    assert ran.plain.startswith("cache 1:00:00 left (1h)")  # refreshed by msg_E's read
    state = wait_logged(home, session)
    assert state["files"][str(path)]["skipped"] == 0
    assert cache_state(home)["files"][str(path)] == {
        "device": os.stat(path).st_dev,
        "inode": os.stat(path).st_ino,
        "offset": path.stat().st_size,
        "skipped": 0,
        "size": path.stat().st_size,
    }
    assert [r["message_id"] for r in calls(home)][-1] == "msg_E" and len(calls(home)) == 5


def test_a_response_split_over_runs_is_one_call_completed(projects: Path, home: Path) -> None:
    session = Session(projects, SID)
    session.response(
        T0,
        message_id="msg_A",
        request_id="req_A",
        write_5m=4000,
        output=300,
        partial_output=9,
        blocks=("thinking", "text", "tool_use"),
    )
    first_line, *rest = session.lines
    session.lines = [first_line]
    session.write()
    statusline(document(session), now=at(30))
    wait_logged(home, session)
    (row,) = calls(home)
    assert row["output_tokens"] == 9
    # The rest of the response arrives (its lines carry later timestamps).
    later = [line.replace(T0, "2026-11-20T10:00:09.000Z") for line in rest]
    session.append("".join(line + "\n" for line in later))
    ran = statusline(document(session), now=at(30))
    assert ran.plain.startswith("cache 4:30 left (5m)")  # still counted from the first line
    wait_logged(home, session)
    (row,) = calls(home)
    assert row["output_tokens"] == 300 and row["cache_creation_5m_tokens"] == 4000


def test_the_rows_are_the_importers_and_neither_duplicates_the_other(
    projects: Path, home: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    session = a_session(projects)
    session.write()
    agent = session.path.parent / SID / "subagents" / "agent-a1.jsonl"
    agent.parent.mkdir(parents=True)
    helper = Session(projects, SID)
    helper.response(
        "2026-11-20T10:00:50.000Z",
        message_id="msg_S",
        request_id="req_S",
        write_5m=7000,
        sidechain=True,
    )
    agent.write_text(helper.lines[0] + "\n")
    # The status line first, then an import of the same transcripts: nothing added.
    ran = statusline(document(session), now=at(45 * 60 - 5))
    assert ran.plain == "cache 55:00 left (1h)"  # the subagent's own cache does not count
    wait_logged(home, session)
    logged = snapshot(home)
    assert [r["message_id"] for r in logged["calls"]][-1] == "msg_S"
    again = cli("import", "claude-code", "--path", str(projects), "--format", "json")
    assert json.loads(again.out)["added"] == 0
    assert snapshot(home) == logged
    # The same transcripts imported into another data dir give the very same rows.
    other = tmp_path / "other-home"
    imported = cli("--data-dir", str(other), "import", "claude-code", "--path", str(projects))
    assert imported.code == 0, imported.err
    assert snapshot(other) == logged
    # And the other way round: after the import, the status line adds nothing.
    statusline(document(session), "--data-dir", str(other), now=at(45 * 60))
    wait_logged(other, session)
    assert snapshot(other) == logged
    assert log_state(other)["totals"][0] == len(logged["calls"])


# -- never breaking Claude Code's screen --------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "line"),
    [
        (b"", "promptcache-tui: no input (Claude Code sends its session as JSON on stdin)"),
        (b"{not json", "promptcache-tui: input is not JSON"),
        (b"\xff\xfe\x00garbage", "promptcache-tui: input is not JSON"),
        (b"[1, 2]", "promptcache-tui: input is not a JSON object"),
        (b'{"transcript_path": "/x.jsonl"}', "promptcache-tui: input has no session_id"),
        (b'{"session_id": "s", "transcript_path": 7}',
         "promptcache-tui: input has no transcript_path"),
    ],
)  # fmt: skip
def test_input_it_does_not_expect_is_one_short_line_and_exit_0(stdin: bytes, line: str) -> None:
    ran = statusline(stdin)
    assert ran.line == line


def test_a_missing_transcript_or_malformed_lines_are_not_errors(projects: Path, home: Path) -> None:
    doc = {"session_id": SID, "transcript_path": str(projects / "gone" / f"{SID}.jsonl")}
    assert statusline(doc).plain == "cache cold · no calls yet"
    session = Session(projects, SID)
    session.raw("{half a line").raw("\x00\x01 binary").raw('{"type": "assistant"}')
    session.response(T0, message_id="msg_A", request_id="req_A", write_5m=100).write()
    session.raw('{"type": "assistant", "message": {"usage": "nonsense"}}')
    session.append(session.lines[-1] + "\n")
    assert statusline(document(session), now=at(5)).plain == "cache 4:55 left (5m)"
    wait_logged(home, session)
    assert [r["message_id"] for r in calls(home)] == ["msg_A"]


def test_no_control_characters_from_the_transcript_reach_the_line(
    projects: Path, home: Path
) -> None:
    hostile = "claude-opus-4-8\x1b]0;owned\x07\x1b[2J\r\u202e"
    session = Session(projects, SID, cwd="/tmp/\x1b[31mred\x1b[0m")
    session.response(T0, message_id="msg_\x1b[5m", request_id="req_A", model=hostile,
                      write_5m=500)  # fmt: skip
    session.write()
    doc = document(session, model=hostile)
    for _ in range(2):  # before and after the log has the call
        ran = statusline(doc, now=at(1))
        left = re.sub(r"\x1b\[(0|2|32|33)m", "", ran.line)
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e]", left), ran.line
        wait_logged(home, session)
    ran = statusline(doc, "--format", "json", now=at(1))
    assert "\x1b" not in ran.out and json.loads(ran.out)["text"].startswith("cache 4:59 left")
    plain = statusline(doc, now=at(1), env={"NO_COLOR": "1"})
    assert "\x1b" not in plain.out


def test_an_unusable_data_dir_still_shows_the_countdown(projects: Path, tmp_path: Path) -> None:
    session = Session(projects, SID)
    session.response(T0, message_id="msg_A", request_id="req_A", write_5m=100).write()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    ran = statusline(document(session), now=at(5), env={"PROMPTCACHE_TUI_HOME": str(blocker)})
    assert ran.plain == "cache 4:55 left (5m) · not logged: data dir is not a directory"


def test_a_read_only_data_dir_is_named_on_the_line(projects: Path, home: Path) -> None:
    session = Session(projects, SID)
    session.response(T0, message_id="msg_A", request_id="req_A", write_5m=100).write()
    with read_only(home):  # for root too: a read-only bind mount
        ran = statusline(document(session), now=at(5))
    assert ran.plain == "cache 4:55 left (5m) · not logged: data dir not writable"


def test_state_files_are_private_and_idle_sessions_are_swept(projects: Path, home: Path) -> None:
    session = Session(projects, SID)
    session.response(T0, message_id="msg_A", request_id="req_A", write_5m=100).write()
    statusline(document(session), now=at(5))
    wait_logged(home, session)
    folder = home / "statusline"
    assert folder.stat().st_mode & 0o777 == 0o700
    for name in (f"{SID}.json", f"{SID}.log.json"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600
    old, recent = folder / "old-session.json", folder / "recent-session.json"
    old.write_text("{}")
    recent.write_text("{}")
    now = parse_iso(T0) + 100 * 86400
    os.utime(old, (now - 30 * 86400 - 1,) * 2)
    os.utime(recent, (now - 30 * 86400 + 60,) * 2)
    other = Session(projects, "another-session")
    other.response(T0, message_id="msg_Z", request_id="req_Z", write_5m=100).write()
    statusline(document(other), now=str(now))  # a new session: the sweep runs
    assert not old.exists() and recent.exists()


# -- the command line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "parsed"),
    [
        (["statusline"], {"fmt": "text", "data_dir": None}),
        (["statusline", "--format", "json"], {"fmt": "json", "data_dir": None}),
        (["statusline", "--format=json", "--data-dir=/d"], {"fmt": "json", "data_dir": "/d"}),
        (["--data-dir", "/a", "--offline", "statusline", "--data-dir", "/b"],
         {"fmt": "text", "data_dir": "/b"}),
        (["statusline", "--install"], None),
        (["statusline", "--help"], None),
        (["statusline", "--format", "xml"], None),
        (["statusline", "--format"], None),
        (["--format", "json", "statusline"], None),
        (["history"], None),
        ([], None),
    ],
)  # fmt: skip
def test_only_a_plain_status_line_run_skips_click(
    argv: list[str], parsed: dict[str, str | None] | None
) -> None:
    assert statusline_args(argv) == parsed


def test_what_click_handles_still_works(cli: Callable[..., CliResult]) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "promptcache_tui", "statusline", "--format", "xml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--format" in bad.stderr
    helped = cli("statusline", "--help")
    assert helped.code == 0 and "--install" in helped.out


def test_the_hot_path_imports_no_click_store_sdk_ui_or_simulator(
    projects: Path, home: Path
) -> None:
    session = a_session(projects)
    session.write()
    check = (
        "import os, sys\n"
        "sys.argv = ['promptcache-tui', 'statusline']\n"
        "parent, real_exit = os.getpid(), os._exit\n"
        "def leave(code):\n"  # the parent ends with os._exit: let it report first
        "    if os.getpid() == parent:\n        raise SystemExit(code)\n    real_exit(code)\n"
        "os._exit = leave\n"
        "from promptcache_tui.cli import entry\n"
        "try:\n    entry.main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'click', 'asyncio', 'aiosqlite', 'sqlite3', 'anthropic', 'httpx2', 'textual',"
        " 'rich', 'uvicorn', 'starlette', 'promptcache_tui.store', 'promptcache_tui.sim',"
        " 'promptcache_tui.ui', 'promptcache_tui.cli.main'}\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy"
        " or m.rsplit('.', 1)[0] in heavy), file=sys.stderr)\n"
    )
    for _ in range(2):  # a first run (something to log) and one with nothing new
        done = subprocess.run(
            [sys.executable, "-c", check],
            input=json.dumps(document(session)).encode(),
            capture_output=True,
            check=True,
        )
        assert done.stderr.decode().strip() == "[]"
        wait_logged(home, session)
    # The logger itself (the forked child) uses plain sqlite3: no asyncio once the
    # database exists, and nothing of the SDK, the UI or the simulator.
    logger = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from promptcache_tui.observe.statusline import LogJob, run_job\n"
        f"run_job(LogJob(Path({str(home)!r}), {SID!r}, ({str(session.path)!r},)))\n"
        "heavy = {'asyncio', 'aiosqlite', 'anthropic', 'textual', 'rich', 'click'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy"
        " or m.startswith(('promptcache_tui.sim', 'promptcache_tui.ui'))))\n"
    )
    session.response("2026-11-20T10:42:00.000Z", message_id="msg_F", request_id="req_F", read=9)
    session.write()
    out = subprocess.run([sys.executable, "-c", logger], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
    assert [r["message_id"] for r in calls(home)][-1] == "msg_F"


def test_claude_codes_timestamps_are_read_as_datetime_reads_them() -> None:
    import random
    from datetime import UTC, datetime, timedelta

    from promptcache_tui.observe.transcripts import epoch

    def reference(ts: str) -> float | None:
        try:
            moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    shuffled = random.Random(17)
    start = datetime(1999, 12, 31, tzinfo=UTC)
    for _ in range(3000):
        moment = start + timedelta(seconds=shuffled.randrange(120 * 365 * 86400))
        moment += timedelta(microseconds=shuffled.randrange(10**6))
        base = moment.strftime("%Y-%m-%dT%H:%M:%S")
        for ts in (f"{base}.{moment.microsecond // 1000:03d}Z", f"{base}.{moment.microsecond:06d}Z",
                   f"{base}Z", f"{base}.{moment.microsecond // 1000:03d}+02:00"):  # fmt: skip
            assert epoch(ts) == reference(ts), ts
    for ts in ("2024-02-29T12:00:00.000Z", "2026-02-29T12:00:00.000Z", "2026-04-31T00:00:00Z",
               "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z", "2026-01-01T00:00:00.5Z",
               "2026-11-20 10:00:05", "not a time", ""):  # fmt: skip
        assert epoch(ts) == reference(ts), ts


def test_a_fresh_data_dir_gets_its_database_from_the_store(projects: Path, home: Path) -> None:
    session = Session(projects, SID)
    session.response(T0, message_id="msg_A", request_id="req_A", write_5m=100).write()
    assert not (home / "promptcache.sqlite3").exists()
    statusline(document(session), now=at(5))
    wait_logged(home, session)
    version = query(home, "PRAGMA user_version")[0]["user_version"]
    from promptcache_tui.store.migrations import SCHEMA_VERSION

    assert version == SCHEMA_VERSION
    assert (home / "promptcache.sqlite3").stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(home / "promptcache.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
