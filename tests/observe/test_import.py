"""`import claude-code`: every API response of a transcript logged once, exactly."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.cost import Prices, Usage, call_cost
from promptcache_tui.core.records import parse_iso
from promptcache_tui.observe.claude_code import ClaudeCodeImporter
from promptcache_tui.observe.transcripts import FileCursor, read_transcript
from promptcache_tui.store import Store
from tests.conftest import CliResult

from .conftest import calls
from .transcript import Session

SID = "0b3b6a1e-57a4-4c1c-9d44-2b8cdb1a0001"
OTHER = "0b3b6a1e-57a4-4c1c-9d44-2b8cdb1a0002"


def a_session(projects: Path) -> Session:
    """A session: a first write (1h), a multi-block response read from cache, an API
    error, a response after the cache expired, and lines that carry no usage."""
    return (
        Session(projects, SID)
        .other({"type": "queue-operation", "operation": "enqueue", "timestamp": "x"})
        .user("2026-11-20T10:00:00.000Z", "Fix the tests")
        .other({"type": "attachment", "attachment": {"type": "skill_listing"}})
        .response(
            "2026-11-20T10:00:05.000Z",
            message_id="msg_A",
            request_id="req_A",
            input_tokens=1651,
            write_1h=24_952,
            output=226,
        )
        .response(
            "2026-11-20T10:00:40.000Z",
            message_id="msg_B",
            request_id="req_B",
            read=24_952,
            write_1h=800,
            output=310,
            partial_output=12,
            blocks=("thinking", "text", "tool_use"),
        )
        .api_error("2026-11-20T10:01:00.000Z", 529, "API Error: 529 Overloaded", request_id="req_C")
        .response(
            "2026-11-20T11:30:00.000Z",
            message_id="msg_D",
            request_id="req_D",
            write_1h=25_900,
            output=40,
        )
        .other({"type": "last-prompt", "lastPrompt": "Fix the tests"})
    )


def test_each_response_is_one_call_with_its_exact_usage(
    cli: Callable[..., CliResult], tmp_path: Path, home: Path
) -> None:
    a_session(tmp_path / "projects").write()
    result = cli("import", "claude-code", "--path", str(tmp_path / "projects"))
    assert result.code == 0, result.err
    assert result.out.strip() == "imported 4 calls (1 API errors) from 1 transcript"
    rows = calls(home)
    assert [r["message_id"] for r in rows[:2]] == ["msg_A", "msg_B"]
    assert [r["kind"] for r in rows] == ["claude-code"] * 4
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "ok"]
    first, second, failed, late = rows
    assert (first["input_tokens"], first["cache_creation_1h_tokens"], first["output_tokens"]) == (
        1651,
        24_952,
        226,
    )
    assert first["cache_creation_5m_tokens"] == 0 and first["cache_read_input_tokens"] == 0
    # Three lines, one response: counted once, with the fullest usage of its lines.
    assert (second["cache_read_input_tokens"], second["output_tokens"]) == (24_952, 310)
    assert second["cache_creation_1h_tokens"] == 800 and second["request_id"] == "req_B"
    assert failed["error"] == "API Error: 529 Overloaded" and failed["request_id"] == "req_C"
    assert first["client"] == "claude-cli/2.1.197" and first["session"] == SID
    assert first["model"] == "claude-opus-4-8"
    assert parse_iso(first["ts"]) == parse_iso("2026-11-20T10:00:05+00:00")
    # Priced like our own calls (1h writes at 2x), with the prices kept on the row.
    prices = Prices(first["price_input"], first["price_output"])
    usage = Usage.from_counts(
        input_tokens=1651,
        cache_creation_input_tokens=24_952,
        output_tokens=226,
        ephemeral_5m=0,
        ephemeral_1h=24_952,
    )
    assert first["cost_usd"] == pytest.approx(call_cost(usage, prices).cost_usd)
    assert late["cache_miss_reason"].startswith("expired: 1h29m")
    assert first["cache_miss_reason"] == "first write of the session"
    assert second["cache_miss_reason"] is None


def test_importing_again_adds_nothing(
    cli: Callable[..., CliResult], tmp_path: Path, home: Path
) -> None:
    projects = tmp_path / "projects"
    a_session(projects).write()
    assert cli("import", "claude-code", "--path", str(projects)).code == 0
    before = calls(home)
    again = cli("import", "claude-code", "--path", str(projects), "--format", "json")
    assert json.loads(again.out)["added"] == 0
    # Even with the read positions forgotten, each response is still logged once.
    conn = sqlite3.connect(home / "promptcache.sqlite3")
    with conn:
        conn.execute("DELETE FROM import_files")
    conn.close()
    third = cli("import", "claude-code", "--path", str(projects), "--format", "json")
    assert json.loads(third.out) == {
        "files": 1,
        "added": 0,
        "completed": 0,
        "errors": 0,
        "skipped_lines": 0,
        "unreadable": [],
    }
    assert calls(home) == before


def test_bad_lines_are_skipped_and_counted_and_bad_files_reported(
    cli: Callable[..., CliResult], tmp_path: Path, home: Path
) -> None:
    projects = tmp_path / "projects"
    session = a_session(projects)
    session.raw("{not json").raw("\x00\x01\x02 garbage").raw('{"type": "assistant"}').write()
    (projects / "broken.jsonl").mkdir()  # a name that cannot be read as a file
    result = cli("import", "claude-code", "--path", str(projects), "--format", "json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["added"] == 4 and summary["skipped_lines"] == 2
    assert len(summary["unreadable"]) == 1 and "broken.jsonl" in summary["unreadable"][0]
    assert "cannot read" in result.err


def test_a_response_seen_half_written_is_completed_not_duplicated(
    tmp_path: Path, home: Path
) -> None:
    projects = tmp_path / "projects"
    session = Session(projects, SID)
    session.response(
        "2026-11-20T10:00:05.000Z", message_id="msg_A", request_id="req_A", write_5m=900, output=7
    ).write()
    half = json.loads(session.lines[-1])
    half["message"]["usage"]["output_tokens"] = 120
    line = json.dumps(half)

    async def run() -> list[tuple[int, int]]:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            importer = ClaudeCodeImporter(store, load_catalog(home))
            first = await importer.run([projects])
            session.append(line[:40])  # Claude Code is still writing the next line
            second = await importer.import_files([session.path], final=False)
            session.append(line[40:] + "\n")
            third = await importer.import_files([session.path], final=False)
            return [
                (first.added, first.completed),
                (second.added, second.completed),
                (third.added, third.completed),
            ]

    assert asyncio.run(run()) == [(1, 0), (0, 0), (0, 1)]
    (row,) = calls(home)
    assert row["output_tokens"] == 120 and row["cache_creation_5m_tokens"] == 900


def test_follow_imports_new_lines_as_they_are_written(tmp_path: Path, home: Path) -> None:
    projects = tmp_path / "projects"
    session = Session(projects, SID)
    session.user("2026-11-20T10:00:00.000Z", "hi").write()

    async def run() -> int:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            importer = ClaudeCodeImporter(store, load_catalog(home))
            stop = asyncio.Event()
            following = asyncio.ensure_future(importer.follow([projects], interval=0.01, stop=stop))
            session.response(
                "2026-11-20T10:00:05.000Z", message_id="msg_A", request_id="req_A", write_5m=9
            ).write()
            await _until(lambda: store.calls.count(), 1)
            later = Session(projects, OTHER, cwd="/home/me/code/site")  # a new session file
            later.response(
                "2026-11-20T10:02:00.000Z", message_id="msg_Z", request_id="req_Z", read=9
            ).write()
            await _until(lambda: store.calls.count(), 2)
            stop.set()
            summary = await following
            return summary.added

    assert asyncio.run(run()) == 2
    assert {r["session"] for r in calls(home)} == {SID, OTHER}


async def _until(counter: Callable[[], object], wanted: int) -> None:
    for _ in range(3000):  # a failsafe of ~30 s: the condition is what is waited on
        if await counter() >= wanted:  # type: ignore[misc]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached {wanted}")


def test_a_rewritten_transcript_is_read_again_without_duplicates(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    session = a_session(projects)
    path = session.write()
    first = read_transcript(path)
    assert [r.key for r in first.responses][:2] == ["msg_A", "msg_B"]
    assert read_transcript(path, first.cursor).responses == []
    path.write_text(session.lines[0] + "\n")  # truncated: shorter than the cursor
    again = read_transcript(path, first.cursor)
    assert again.restarted and again.cursor.offset == len(session.lines[0]) + 1
    restored = FileCursor.from_json(json.loads(json.dumps(first.cursor.to_json())))
    assert restored == first.cursor


def test_sidechain_replays_count_once(tmp_path: Path, home: Path) -> None:
    projects = tmp_path / "projects"
    main = Session(projects, SID)
    main.response("2026-11-20T10:00:05.000Z", message_id="msg_A", request_id="req_A", read=50)
    main.write()
    agent = main.path.parent / SID / "subagents" / "agent-1.jsonl"
    agent.parent.mkdir(parents=True)
    replay = Session(projects, SID)
    replay.response(
        "2026-11-20T10:00:06.000Z",
        message_id="msg_A",
        request_id="req_other",
        read=50,
        sidechain=True,
    )
    replay.response("2026-11-20T10:00:07.000Z", message_id="msg_S", request_id="req_S", write_5m=70)
    agent.write_text("".join(line + "\n" for line in replay.lines))

    async def run() -> int:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            return (await ClaudeCodeImporter(store, load_catalog(home)).run([projects])).added

    assert asyncio.run(run()) == 2
    assert [r["message_id"] for r in calls(home)] == ["msg_A", "msg_S"]
    assert calls(home)[0]["request_id"] == "req_A"  # the main thread's copy


def test_sessions_are_groups_named_after_their_project_with_a_session_cache(
    tmp_path: Path, home: Path, cli: Callable[..., CliResult]
) -> None:
    projects = tmp_path / "projects"
    a_session(projects).write()
    assert cli("import", "claude-code", "--path", str(projects)).code == 0

    async def groups(now: float) -> list:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            return await store.observed.groups(now, kind="claude-code")

    write = parse_iso("2026-11-20T11:30:00+00:00")  # the last call wrote with a 1h TTL
    (group,) = asyncio.run(groups(write + 3599))
    assert group.key == SID and group.name == f"claude-code · app · {SID[:8]}"
    assert group.calls == 4 and group.client == "claude-cli/2.1.197"
    (cache,) = group.caches
    assert cache.ttl == "1h" and cache.state.state == "warm"
    assert cache.state.countdown() == "0:01"
    (group,) = asyncio.run(groups(write + 3600))
    assert group.caches[0].state.state == "expired"
    renamed = cli("observed", "rename", f"claude-code · app · {SID[:8]}", "fixing tests")
    assert renamed.code == 0, renamed.err
    listed = json.loads(cli("observed", "list", "--format", "json").out)
    assert [(g["key"], g["name"]) for g in listed] == [(SID, "fixing tests")]


def test_history_and_stats_filter_imported_calls(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    a_session(tmp_path / "projects").write()
    assert cli("import", "claude-code", "--path", str(tmp_path / "projects")).code == 0
    rows = json.loads(cli("history", "--kind", "claude-code", "--format", "json").out)
    assert len(rows) == 4 and {r["session"] for r in rows} == {SID}
    assert json.loads(cli("history", "--kind", "proxy", "--format", "json").out) == []
    stats = json.loads(cli("stats", "--kind", "claude-code", "--format", "json").out)
    assert stats[0]["calls"] == 4
    assert stats[0]["cache_read_input_tokens"] == 24_952


def test_a_missing_path_is_one_line_and_exit_1(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli("import", "claude-code", "--path", str(tmp_path / "nowhere"))
    assert result.code == 1 and result.err.count("\n") == 1 and "does not exist" in result.err
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    result = cli("import", "claude-code")
    assert result.code == 1 and "no Claude Code transcripts found" in result.err


def test_the_default_place_is_claude_codes_own(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    a_session(tmp_path / ".claude" / "projects").write()
    assert cli("import", "claude-code").code == 0
    assert len(calls(home)) == 4


def test_the_transcript_reader_stays_light() -> None:
    # The status line (issue 17) reads a transcript after every message: no SQLite driver,
    # SDK, simulator or UI may load with the reader.
    check = (
        "import sys, promptcache_tui.observe.transcripts\n"
        "heavy = {'aiosqlite', 'sqlite3', 'anthropic', 'httpx2', 'textual', 'rich', 'uvicorn',"
        " 'starlette', 'promptcache_tui.store', 'promptcache_tui.sim'}\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_follow_stops_cleanly_on_a_signal(tmp_path: Path, home: Path) -> None:
    import os
    import signal

    projects = tmp_path / "projects"
    Session(projects, SID).response(
        "2026-11-20T10:00:05.000Z", message_id="msg_A", request_id="req_A", write_5m=9
    ).write()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "promptcache_tui",
            "import",
            "claude-code",
            "--path",
            str(projects),
            "--follow",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("imported 1 call (0 API errors) from 1 transcript; following")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.strip().endswith("; stopped following") and "Traceback" not in err
