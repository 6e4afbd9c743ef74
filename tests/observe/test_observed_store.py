"""Observed traffic in the store: content kept once, groups, Save as context, following."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic

from promptcache_tui.core.observed import observe_request
from promptcache_tui.core.records import CallRecord, parse_iso
from promptcache_tui.core.sanitize import one_line
from promptcache_tui.observe.server import ProxyServer
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.store import Store
from tests.conftest import CliResult

from .conftest import SECRET, calls, query
from .shapes import claude_code_request


def send(proxy: ProxyServer, params: dict[str, Any]) -> Any:
    client = anthropic.Anthropic(api_key=SECRET, base_url=proxy.base_url, max_retries=0)
    body = {k: v for k, v in params.items() if k != "stream"}
    body["max_tokens"] = 64
    answer = client.messages.create(**body)
    proxy.drain()
    return answer


def counts(home: Path) -> tuple[int, int]:
    row = query(
        home,
        "SELECT (SELECT COUNT(*) FROM prompt_prefixes) AS nodes,"
        " (SELECT COUNT(*) FROM prompt_contents) AS contents",
    )[0]
    return row["nodes"], row["contents"]


def test_each_distinct_block_is_stored_once(proxy: ProxyServer, home: Path) -> None:
    first = claude_code_request(turns=2)
    send(proxy, first)
    seen = observe_request(first)
    assert counts(home) == (len(seen.blocks), len({b.content_hash for b in seen.blocks}))
    # The conversation grows by a turn: only the new blocks are added.
    grown = claude_code_request(turns=3)
    send(proxy, grown)
    longer = observe_request(grown)
    assert counts(home)[0] == len(longer.blocks)
    # A new session: the billing header changed, so every prefix after it is new, but the
    # only new content is that one block.
    nodes, contents = counts(home)
    send(proxy, claude_code_request(turns=3, suffix="363"))
    assert counts(home) == (nodes + len(longer.blocks) - 24, contents + 1)


def test_a_stored_prompt_comes_back_block_for_block(proxy: ProxyServer, home: Path) -> None:
    params = claude_code_request(turns=2)
    send(proxy, params)
    (row,) = calls(home)

    async def read() -> Any:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            return await store.observed.prompt(row["id"])

    nodes = asyncio.run(read())
    seen = observe_request(params)
    assert [(n.prefix_hash, n.content) for n in nodes] == [
        (b.prefix_hash, b.content) for b in seen.blocks
    ]
    assert [n.label for n in nodes[23:26]] == ["tool Write", "system block 0", "system block 1"]


def test_a_miss_is_shown_with_the_changed_block(
    proxy: ProxyServer, home: Path, cli: Callable[..., CliResult]
) -> None:
    send(proxy, claude_code_request(suffix="7b2"))
    send(proxy, claude_code_request(suffix="363"))
    last = calls(home)[-1]
    assert last["cache_miss_reason"].startswith("system block 0 changed: ")
    shown = json.loads(cli("observed", "show", str(last["id"]), "--format", "json").out)
    assert shown["miss"]["code"] == "content_changed"
    assert shown["miss"]["block_label"] == "system block 0"
    assert "cc_version=2.1.197.7b2" in shown["miss"]["before"]
    assert "cc_version=2.1.197.363" in shown["miss"]["after"]
    assert shown["miss"]["previous_call_id"] == calls(home)[0]["id"]
    assert len(shown["prompt"]) == 32 and shown["client"].startswith("Anthropic/Python")
    text = cli("observed", "show", str(last["id"])).out
    assert "why it missed: system block 0 changed" in text
    assert "  - …" in text and "  + …" in text
    history = json.loads(cli("history", "--kind", "proxy", "--format", "json").out)
    assert history[0]["cache_miss_reason"] == last["cache_miss_reason"]


def test_without_content_only_hashes_and_sizes_are_kept(
    home: Path, sim: InProcessSimulator, cli: Callable[..., CliResult]
) -> None:
    with ProxyServer(home, sim.base_url, keep_content=False) as proxy:
        send(proxy, claude_code_request(suffix="aaa"))
        send(proxy, claude_code_request(suffix="bbb"))
    rows = query(home, "SELECT size, data FROM prompt_contents")
    assert rows and all(r["data"] is None and r["size"] > 0 for r in rows)
    assert {r["prompt"] for r in calls(home)} == {None}  # not even the last user turn
    assert {g["name"] for g in query(home, "SELECT name FROM observed_groups")} == {
        "Anthropic/Python · claude-opus-4-8"
    }
    last = calls(home)[-1]
    assert last["cache_miss_reason"] == "system block 0 changed"
    saved = cli("observed", "save", str(last["id"]), "copy")
    assert saved.code == 1 and "--no-content" in saved.err
    text = json.dumps(query(home, "SELECT * FROM call_misses"))
    assert "cc_version" not in text


def test_a_call_saved_as_a_context(
    proxy: ProxyServer, home: Path, cli: Callable[..., CliResult]
) -> None:
    send(proxy, claude_code_request(turns=2))
    call_id = str(calls(home)[0]["id"])
    result = cli("observed", "save", call_id, "from-claude", "--breakpoint", "2")
    assert result.code == 0, result.err
    assert "context from-claude: 4 blocks, 2 breakpoint(s)" in result.out  # tools + system
    shown = json.loads(cli("context", "show", "from-claude", "--format", "json").out)
    assert shown["model"] == "claude-opus-4-8"
    assert len(shown["breakpoints"]) == 2
    whole = cli("observed", "save", call_id, "whole")
    assert "7 blocks, 3 breakpoint(s)" in whole.out  # and the 3 turns
    too_far = cli("observed", "save", call_id, "nope", "--breakpoint", "4")
    assert too_far.code == 1 and "choose 1 to 3" in too_far.err
    assert cli("observed", "save", call_id, "whole").code == 1  # the name is taken


def test_groups_carry_their_breakpoints_countdowns(proxy: ProxyServer, home: Path) -> None:
    send(proxy, claude_code_request(turns=2))
    row = calls(home)[0]
    start = parse_iso(row["ts"])

    async def groups(now: float) -> Any:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            return await store.observed.groups(now, kind="proxy")

    (group,) = asyncio.run(groups(start + 60))
    assert group.key == row["session"] and group.calls == 1
    assert group.name.endswith("You are an interactive agent that… (24 tools)")
    assert [c.label for c in group.caches] == [
        "breakpoint 1 · system block 1",
        "breakpoint 2 · system block 2",
        "breakpoint 3 · message 2 (user)",
    ]
    assert {c.state.countdown() for c in group.caches} == {"4:00"}
    (group,) = asyncio.run(groups(start + 300))
    assert {c.state.state for c in group.caches} == {"expired"}


def test_the_watch_follows_calls_logged_by_another_process(proxy: ProxyServer, home: Path) -> None:
    async def run() -> list[list[CallRecord]]:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            watch = await store.watch()
            idle = await watch.poll()
            await asyncio.to_thread(send, proxy, claude_code_request())
            changed = await watch.poll()
            quiet = await watch.poll()
            return [idle.added, changed.added, quiet.added]

    idle, changed, quiet = asyncio.run(run())
    assert idle == [] and quiet == []
    assert [c.kind for c in changed] == ["proxy"]


def test_the_watch_reports_a_call_that_settles_later(home: Path) -> None:
    from tests.store.test_call_lifecycle import _call  # a record as the lifecycle tests make it

    async def run() -> tuple[list[str], list[str]]:
        async with (
            await Store.open(home / "promptcache.sqlite3") as tui,
            await Store.open(home / "promptcache.sqlite3") as proxy,
        ):
            watch = await tui.watch()
            record = _call()
            await proxy.calls.begin(record)
            first = await watch.poll()
            record.status = "ok"
            await proxy.calls.settle(record)
            second = await watch.poll()
            return [c.status for c in first.added], [c.status for c in second.settled]

    assert asyncio.run(run()) == (["in_flight"], ["ok"])


def test_the_proxy_command(home: Path, sim: InProcessSimulator) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "promptcache_tui",
            "proxy",
            "--port",
            "0",
            "--upstream",
            sim.base_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("promptcache-tui proxy on http://127.0.0.1:")
        base_url = first.split()[3]
        assert process.stdout.readline().startswith("calls are logged in ")
        assert process.stdout.readline().strip() == f"use it with: ANTHROPIC_BASE_URL={base_url}"
        client = anthropic.Anthropic(api_key=SECRET, base_url=base_url, max_retries=0)
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            system=[
                {"type": "text", "text": "Rules. " * 900, "cache_control": {"type": "ephemeral"}}
            ],
            messages=[{"role": "user", "content": "hello"}],
        )
        line = process.stdout.readline()
        assert " · claude-sonnet-4-6 · ok · read 0 · write " in line
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err and SECRET not in out + err
    (row,) = calls(home)
    assert row["status"] == "ok" and one_line(row["client"]).startswith("Anthropic/Python")


def test_proxy_refuses_bad_hosts_and_upstreams(cli: Callable[..., CliResult]) -> None:
    remote = cli("proxy", "--host", "0.0.0.0")
    assert remote.code == 2 and "--allow-remote" in remote.err
    bad = cli("proxy", "--upstream", "ftp://example.com")
    assert bad.code == 2 and "not an http(s) URL" in bad.err
    loop = cli("proxy", "--port", "8788", "--upstream", "http://localhost:8788")
    assert loop.code == 2 and "this proxy itself" in loop.err


def test_a_key_pasted_into_a_prompt_is_not_stored(proxy: ProxyServer, home: Path) -> None:
    import zlib

    params = claude_code_request(turns=1)
    params["messages"][-1]["content"][-1]["text"] = f"why does {SECRET} fail?"
    send(proxy, params)
    stored = [zlib.decompress(r["data"]) for r in query(home, "SELECT data FROM prompt_contents")]
    assert any(b"[redacted]" in data for data in stored)
    assert not any(SECRET.encode() in data for data in stored)
    (row,) = calls(home)
    assert row["prompt"] == "why does [redacted] fail?"
    for path in home.iterdir():
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path.name


def test_an_idle_poll_reads_no_table(home: Path) -> None:
    async def run() -> list[str]:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            watch = await store.watch()
            statements: list[str] = []
            await store.db.conn.set_trace_callback(statements.append)
            for _ in range(3):
                assert not await watch.poll()
            await store.db.conn.set_trace_callback(None)
            return statements

    assert asyncio.run(run()) == ["PRAGMA data_version"] * 3


def test_the_latest_call_to_save_and_the_cache_events_for_a_live_ledger(
    home: Path, sim: InProcessSimulator
) -> None:
    with ProxyServer(home, sim.base_url) as proxy:
        send(proxy, claude_code_request(turns=2))
        send(proxy, claude_code_request(turns=3))
    with ProxyServer(home, sim.base_url, keep_content=False) as proxy:
        send(proxy, claude_code_request(turns=4))  # same group, its prompt not kept
    rows = calls(home)
    assert len({r["session"] for r in rows}) == 1
    marks = query(home, "SELECT call_id, prefix_hash, ttl FROM call_breakpoints WHERE cached = 1")

    async def read() -> tuple[int | None, int | None, list[Any]]:
        async with await Store.open(home / "promptcache.sqlite3") as store:
            latest = await store.observed.latest_with_prompt(rows[0]["session"])
            none = await store.observed.latest_with_prompt("px-no-such-group")
            events = await store.calls.events_of_calls([r["id"] for r in rows])
            return latest, none, events

    latest, none, events = asyncio.run(read())
    # The last call's new turn was kept as a hash only: the one before is the one to save.
    assert latest == rows[1]["id"] and none is None
    assert sorted((e.prefix_hash, e.ttl) for e in events) == sorted(
        (m["prefix_hash"], m["ttl"]) for m in marks
    )
    assert {e.model for e in events} == {"claude-opus-4-8"}
    assert {e.ts for e in events} == {
        parse_iso(r["ts"]) for r in rows if r["id"] in {m["call_id"] for m in marks}
    }
