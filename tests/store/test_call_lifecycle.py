"""A call's row exists before its request leaves, and ends settled exactly once.

In flight -> (usage at message_start) -> ok | error | interrupted; a dead process's calls are
settled as interrupted by the next process to open the store, once, whatever the timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.cost import Prices, Usage
from promptcache_tui.core.records import CallRecord, LoggedBreakpoint
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.store.database import ORPHAN_ERROR
from promptcache_tui.store.lease import lease_folder
from tests.conftest import CliResult

TS = "2026-11-20T10:00:00.000000+00:00"
PRICES = Prices(3.0, 15.0)


def _call(**changes: object) -> CallRecord:
    fields: dict[str, object] = {
        "ts": TS,
        "kind": "proxy",
        "model": "claude-sonnet-4-6",
        "prices": PRICES,
        "prompt": "What is cached?",
        "breakpoints": (LoggedBreakpoint(1, "5m", "h1", 2000, cached=False),),
    }
    fields.update(changes)
    return CallRecord(**fields)  # type: ignore[arg-type]


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _rollup_matches_raw(db: Path) -> None:
    # Every call counts once in the rollup, in the group of the state it is in now.
    raw = _rows(
        db,
        "SELECT status, COUNT(*), SUM(input_tokens), SUM(cache_creation_input_tokens),"
        " SUM(output_tokens), ROUND(TOTAL(cost_usd), 9) FROM calls GROUP BY status ORDER BY 1",
    )
    rolled = _rows(
        db,
        "SELECT status, SUM(calls), SUM(input_tokens), SUM(cache_creation_input_tokens),"
        " SUM(output_tokens), ROUND(SUM(cost_usd), 9) FROM call_rollup GROUP BY status"
        " HAVING SUM(calls) > 0 ORDER BY 1",
    )
    assert rolled == raw


INPUT_SIDE = Usage.from_counts(input_tokens=12, cache_creation_input_tokens=2000, output_tokens=1)


async def test_a_call_is_in_flight_then_has_its_input_usage_then_settles(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    async with await Store.open(db) as store:
        rec = _call(client="claude-cli/2.1.197", session="sess-1")
        call_id = await store.calls.begin(rec)
        row = f"SELECT status, cache_creation_input_tokens, cost_usd FROM calls WHERE id={call_id}"
        assert _rows(db, row) == [("in_flight", 0, 0.0)]
        _rollup_matches_raw(db)

        rec.usage = INPUT_SIDE
        rec.breakpoints = (LoggedBreakpoint(1, "5m", "h1", 2000, cached=True),)
        await store.calls.update(rec)
        [(status, writes, cost)] = _rows(db, row)
        assert (status, writes) == ("in_flight", 2000)
        assert cost == pytest.approx((12 * 3 + 2000 * 3.75 + 15) / 1e6)
        assert _rows(db, "SELECT cached FROM call_breakpoints") == [(1,)]
        _rollup_matches_raw(db)

        rec.status = "ok"
        rec.usage = Usage.from_counts(
            input_tokens=12, cache_creation_input_tokens=2000, output_tokens=300
        )
        rec.answer = "An answer."
        await store.calls.settle(rec)
        totals = await store.calls.totals()
        assert totals.calls == 1 and totals.output_tokens == 300
        [logged] = await store.calls.history(CallFilter(kind="proxy"))
        assert logged.status == "ok" and logged.client == "claude-cli/2.1.197"
        assert logged.public()["session"] == "sess-1"
    _rollup_matches_raw(db)
    assert _rows(db, "SELECT owner FROM calls") == [(None,)]


async def test_settle_refuses_a_status_that_is_not_final(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        rec = _call()
        await store.calls.begin(rec)
        with pytest.raises(ValueError):
            await store.calls.settle(rec)  # still in_flight


async def test_closing_the_store_settles_its_own_leftovers(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    store = await Store.open(db)
    rec = _call()
    await store.calls.begin(rec)
    rec.usage = INPUT_SIDE
    await store.calls.update(rec)
    await store.close()
    assert _rows(db, "SELECT status, error, cache_creation_input_tokens FROM calls") == [
        ("interrupted", ORPHAN_ERROR, 2000)
    ]
    assert list(lease_folder(db).iterdir()) == []
    _rollup_matches_raw(db)


async def test_a_secret_in_an_error_is_redacted_before_it_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    key = "sk-ant-api03-" + "Z" * 40
    async with await Store.open(db) as store:
        rec = _call()
        await store.calls.begin(rec)
        rec.status, rec.error = "error", f"API error 400: invalid x-api-key: Bearer {key}"
        await store.calls.settle(rec)
        await store.calls.log(_call(status="error", error=f"echo {key}"))
    assert key not in db.read_bytes().decode("latin-1")
    assert [r[0] for r in _rows(db, "SELECT error FROM calls ORDER BY id")] == [
        "API error 400: invalid x-api-key: Bearer [redacted]",
        "echo [redacted]",
    ]


async def test_a_rename_while_in_flight_logs_the_call_under_the_new_name(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        ctx = await store.contexts.add(
            Context(
                name="draft",
                model="claude-sonnet-4-6",
                blocks=(Block(kind="document", text="text " * 50),),
                breakpoints=(Breakpoint(block=0),),
            )
        )
        rec = _call(kind="chat", context=ctx.name, context_id=ctx.id)
        await store.calls.begin(rec)
        await store.contexts.save(ctx.with_changes(name="final"))
        rec.status = "ok"
        await store.calls.settle(rec)  # rec said "draft"; the settled record says "final"
        assert rec.context == "final"
        # And a call begun with a stale name after the rename is filed under the new one too.
        late = _call(kind="chat", context="draft", context_id=ctx.id)
        await store.calls.begin(late)
        late.status = "ok"
        await store.calls.settle(late)
        found = await store.calls.history(CallFilter(context="final"))
        assert [c.id for c in found] == [late.id, rec.id]
        assert await store.calls.history(CallFilter(context="draft")) == []
        assert (await store.calls.totals(CallFilter(context="final"))).calls == 2


# -- orphans: other processes, real signals ---------------------------------------------------

_OWNER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from promptcache_tui.core.cost import Prices, Usage
    from promptcache_tui.core.records import CallRecord
    from promptcache_tui.store import Store

    async def main() -> None:
        store = await Store.open(Path(sys.argv[1]))
        rec = CallRecord(ts="2026-11-20T10:00:00.000000+00:00", kind="ask",
                         model="claude-sonnet-4-6", prices=Prices(3.0, 15.0))
        await store.calls.begin(rec)
        rec.usage = Usage.from_counts(input_tokens=12, cache_creation_input_tokens=2000)
        await store.calls.update(rec)
        print(rec.id, flush=True)
        await asyncio.sleep(3600)  # in flight until killed

    asyncio.run(main())
    """
)

_OPENER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from promptcache_tui.store.database import Database

    async def main() -> None:
        sys.stdin.readline()  # every opener starts on the same signal
        db = await Database.open(Path(sys.argv[1]))
        print(db.orphans_settled + await db.settle_orphans(), flush=True)
        await db.close()

    asyncio.run(main())
    """
)


def _owner(db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip().isdigit()  # its call is in flight, with usage
    return proc


async def test_a_live_owners_call_is_left_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    await _create(db)
    owner = _owner(db)
    try:
        async with await Store.open(db) as store:
            assert await store.db.settle_orphans() == 0
        assert _rows(db, "SELECT status FROM calls") == [("in_flight",)]
    finally:
        owner.kill()
        owner.wait()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
async def test_a_killed_owners_call_is_settled_once_by_the_next_opener(
    tmp_path: Path, sig: signal.Signals
) -> None:
    db = tmp_path / "db.sqlite3"
    await (await Store.open(db)).close()
    owner = _owner(db)
    owner.send_signal(sig)  # dies without settling (SIGTERM's default action, too)
    owner.wait()
    assert _rows(db, "SELECT status FROM calls") == [("in_flight",)]
    async with await Store.open(db):
        pass
    assert _rows(db, "SELECT status, error, cache_creation_input_tokens FROM calls") == [
        ("interrupted", ORPHAN_ERROR, 2000)
    ]
    _rollup_matches_raw(db)
    async with await Store.open(db) as store:
        assert await store.db.settle_orphans() == 0
        assert (await store.calls.totals()).calls == 1
    assert list(lease_folder(db).iterdir()) == []


def test_concurrent_openers_settle_each_orphan_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    asyncio.run(_create(db))
    owners = [_owner(db) for _ in range(3)]
    for proc in owners:
        proc.kill()
        proc.wait()
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PROMPTCACHE_TUI_BUSY_TIMEOUT_MS": "30000"},
        )
        for _ in range(4)
    ]
    for proc in openers:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    settled = []
    for proc in openers:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        settled.append(int(out.strip()))
    # Each orphan was settled by exactly one of the four, and counted once.
    assert sum(settled) == 3, settled
    assert _rows(db, "SELECT status, COUNT(*) FROM calls GROUP BY 1") == [("interrupted", 3)]
    _rollup_matches_raw(db)


async def _create(db: Path) -> None:
    await (await Store.open(db)).close()


async def test_a_dead_owners_lease_is_found_whatever_pid_it_had(tmp_path: Path) -> None:
    # The owner is named by a random token, not a pid: a lease file that nobody holds (its
    # process is gone, its pid maybe reused by now) makes the call an orphan; one that a
    # live process holds does not.
    db = tmp_path / "db.sqlite3"
    async with await Store.open(db) as store:
        rec = _call()
        await store.calls.begin(rec)
        token = store.db.lease_token()
        assert token is not None
        # Still held by us: an explicit sweep from this process leaves it alone.
        assert await store.db.settle_orphans() == 0
        # Another connection (another "process" as far as the lock is concerned) too.
        other = await Store.open(db)
        assert _rows(db, "SELECT status FROM calls") == [("in_flight",)]
        await other.close()
        # Drop the lock without settling, as a death would.
        lease = store.db._lease
        assert lease is not None
        os.close(lease._fd)  # type: ignore[arg-type]
        lease._fd = None
        store.db._lease = None
        later = await Store.open(db)
        await later.close()
    assert _rows(db, "SELECT status FROM calls") == [("interrupted",)]


async def _log_observed(db: Path) -> None:
    async with await Store.open(db) as store:
        await store.calls.log(_call(kind="proxy", client="claude-cli/2.1.197", session="s-1"))
        await store.calls.log(_call(kind="claude-code", session="s-2"))
        await store.calls.log(_call(kind="ask"))
        interrupted = _call(kind="ask")
        await store.calls.begin(interrupted)
        interrupted.status = "interrupted"
        await store.calls.settle(interrupted)


def test_history_and_stats_filter_observed_kinds_and_show_client_and_session(
    isolated_env: Path, cli: Callable[..., CliResult]
) -> None:
    asyncio.run(_log_observed(isolated_env / "promptcache.sqlite3"))
    result = cli("history", "--kind", "proxy", "--format", "json")
    [row] = json.loads(result.out)
    assert (row["kind"], row["client"], row["session"]) == ("proxy", "claude-cli/2.1.197", "s-1")
    result = cli("history", "--status", "interrupted", "--format", "csv")
    header, line = result.out.strip().splitlines()
    assert header.endswith(",client,session") and ",interrupted," in line
    stats = cli("stats", "--kind", "claude-code", "--format", "json")
    assert [g["calls"] for g in json.loads(stats.out)] == [1]
