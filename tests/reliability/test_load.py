"""Load: the TUI chatting while four `ask` processes write the same database.

tests/calls/test_concurrency.py covers four processes alone; here the TUI's long-lived
connection (and its in-process simulator) write alongside them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from promptcache_tui.config import load_settings
from promptcache_tui.ui.demo import DEMO_NAME
from tests.reliability.conftest import rows
from tests.ui.harness import chat, make_app, seed_demo, wait_selected

MAX_CHATS = 12


async def test_the_tui_and_four_processes_lose_no_call(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "data", offline=True)
    await seed_demo(settings)
    env = {**os.environ, "PROMPTCACHE_TUI_HOME": str(settings.data_dir)}
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot, DEMO_NAME)
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "promptcache_tui",
                    "ask",
                    DEMO_NAME,
                    f"Process {i}: who is the White Rabbit?",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i in range(4)
        ]
        chats = 0
        try:
            # Keep the TUI writing for as long as any process runs (twice at least).
            while chats < 2 or (chats < MAX_CHATS and any(p.poll() is None for p in procs)):
                await chat(pilot, f"Chat {chats}: who is Dinah?")
                chats += 1
            results = [await asyncio.to_thread(p.communicate, timeout=60) for p in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        for proc, (_out, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err
            assert "locked" not in err and "busy" not in err, err
        records = app.main.query_one("UsagePanel").records  # type: ignore[attr-defined]
        assert [r.status for r in records if r.kind == "chat"] == ["ok"] * chats
        seen = [str(n.message) for n in app._notifications]
        assert not any("locked" in t or "busy" in t or "failed" in t.lower() for t in seen), seen
    logged = rows(settings.db_path, "SELECT kind, status, prompt FROM calls ORDER BY id")
    assert sorted(p for k, s, p in logged if k == "ask" and s == "ok") == [
        f"Process {i}: who is the White Rabbit?" for i in range(4)
    ]
    assert sorted(p for k, s, p in logged if k == "chat" and s == "ok") == sorted(
        f"Chat {i}: who is Dinah?" for i in range(chats)
    )
    assert len(logged) == 4 + chats
