"""One rule for a Claude Code session's cache: the status line and the dashboard agree.

A session that mixes models (a small one for side calls) and runs a subagent (its own
transcript, sidechain lines): the countdown is that of the main thread's model, and the
subagent's writes, though logged with the session, are not its cache.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.records import parse_iso
from promptcache_tui.core.ttl import EntryState
from promptcache_tui.observe.claude_code import ClaudeCodeImporter
from promptcache_tui.observe.statusline import status
from promptcache_tui.store import Store

from .transcript import Session

SID = "0b9c3a52-6d1e-4c7a-9f21-5e3d2a1b0c44"
T0 = "2026-11-20T10:00:00.000Z"


def at(seconds: float) -> str:
    return f"2026-11-20T10:{int(seconds) // 60:02d}:{int(seconds) % 60:02d}.000Z"


def mixed_session(projects: Path) -> Session:
    """Opus writes 1h; Haiku (main thread) writes 5m; a subagent on Opus writes and reads
    5m entries of its own; then Opus reads its 1h entry 10 minutes in."""
    main = Session(projects, SID)
    main.response(at(0), message_id="msg_A", request_id="req_A", write_1h=20_000)
    main.response(
        at(60), message_id="msg_H", request_id="req_H", model="claude-haiku-4-5", write_5m=900
    )
    main.response(at(600), message_id="msg_B", request_id="req_B", read=20_000, write_1h=300)
    main.write()
    agent = main.path.parent / SID / "subagents" / "agent-a1.jsonl"
    agent.parent.mkdir(parents=True)
    helper = Session(projects, SID)
    helper.response(
        at(120), message_id="msg_S1", request_id="req_S1", write_5m=7000, sidechain=True
    )
    helper.response(at(700), message_id="msg_S2", request_id="req_S2", read=7000, sidechain=True)
    agent.write_text("".join(line + "\n" for line in helper.lines))
    return main


def status_line_cache(session: Session, home: Path, now: float, model: str | None) -> EntryState:
    doc = (
        f'{{"session_id": "{SID}", "transcript_path": "{session.path}"'
        + (f', "model": {{"id": "{model}"}}' if model else "")
        + "}"
    )
    facts, _ = status(doc.encode(), home, now)
    return facts.cache


def dashboard_cache(home: Path, now: float) -> tuple[str | None, EntryState]:
    async def run() -> tuple[str | None, EntryState]:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            projects = home.parent / "claude" / "projects"
            await ClaudeCodeImporter(store, load_catalog(home)).run([projects])
            (group,) = await store.observed.groups(now, kind="claude-code")
            (cache,) = group.caches
            return cache.model, cache.state

    return asyncio.run(run())


@pytest.mark.parametrize("seconds", [650, 899, 900, 3600 + 599, 3600 + 600])
def test_the_status_line_and_the_dashboard_agree_on_a_mixed_session(
    tmp_path: Path, seconds: int
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    session = mixed_session(tmp_path / "claude" / "projects")
    now = parse_iso(T0) + seconds
    model, shown = dashboard_cache(home, now)
    # The last main-thread call was Opus's: that is the model the session reports.
    assert model == "claude-opus-4-8"
    for reported in ("claude-opus-4-8", None):
        line = status_line_cache(session, home, now, reported)
        assert (line.state, line.ttl, line.expires_at) == (shown.state, shown.ttl, shown.expires_at)
    # Opus's 1h entry, refreshed by its read at 10:10: neither the subagent's 5m entries
    # nor Haiku's count.
    assert shown.ttl == "1h" and shown.expires_at == parse_iso(T0) + 600 + 3600
    assert shown.state == ("warm" if seconds < 3600 + 600 else "expired")


def test_a_session_whose_last_call_was_a_side_model_shows_that_models_cache(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    projects = tmp_path / "claude" / "projects"
    session = Session(projects, SID)
    session.response(at(0), message_id="msg_A", request_id="req_A", write_1h=20_000)
    session.response(
        at(60), message_id="msg_H", request_id="req_H", model="claude-haiku-4-5", write_5m=900
    )
    session.write()
    now = parse_iso(T0) + 200
    model, shown = dashboard_cache(home, now)
    line = status_line_cache(session, home, now, None)
    assert model == "claude-haiku-4-5"
    assert (
        (shown.ttl, shown.expires_at) == (line.ttl, line.expires_at) == ("5m", parse_iso(T0) + 360)
    )
    # Claude Code says which model it is on: the status line follows it, as documented.
    opus = status_line_cache(session, home, now, "claude-opus-4-8")
    assert (opus.ttl, opus.expires_at) == ("1h", parse_iso(T0) + 3600)
