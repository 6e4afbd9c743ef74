"""API faults the existing suites leave out: a 401, a 429 that names its wait, a blank key,
and in the TUI a stream dropped mid-answer, a rejected key and a timeout.

Each: a clear message, the call logged, the prompt not lost, the app still usable.
Already covered: 429/500/529 after retries, one retried 529, a dropped stream and a refused
connection from the CLI (tests/calls/test_faults.py); a timeout in the call service
(tests/calls/test_service.py); a 500 and an unreachable API in the TUI
(tests/ui/test_main_screen.py); the SDK's exception per fault (tests/sim/test_faults.py).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from promptcache_tui.calls.service import CallService
from promptcache_tui.config import Settings, load_settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.store import CallFilter, Store
from promptcache_tui.ui.widgets.chat_view import UserTurn
from promptcache_tui.ui.widgets.prompt_input import PromptInput
from promptcache_tui.ui.widgets.usage_panel import UsagePanel
from tests.calls.conftest import sim_hook
from tests.reliability.conftest import Cli, rows
from tests.ui.harness import make_app, run_hook, seed_demo, wait_selected, wait_until

SECRET = "sk-ant-reliability-DO-NOT-LEAK-42"
AUTH_MESSAGE = "authentication failed (401): check ANTHROPIC_API_KEY"


class _RejectingHandler(BaseHTTPRequestHandler):
    """Answers every request as the API does for a bad key: 401 authentication_error."""

    seen_keys: list[str | None]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        bearer = self.headers.get("authorization", "").removeprefix("Bearer ")
        self.seen_keys.append(self.headers.get("x-api-key") or bearer or None)
        body = json.dumps(
            {
                "type": "error",
                "request_id": "req_stub401",
                "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            }
        ).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("request-id", "req_stub401")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class RejectingApi:
    """A loopback server that rejects every key (the simulator accepts any, by design)."""

    def __init__(self) -> None:
        handler = type("Handler", (_RejectingHandler,), {"seen_keys": []})
        self.seen_keys: list[str | None] = handler.seen_keys
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RejectingApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentApi:
    """A loopback server that accepts connections and never answers (a hung gateway)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener closes at the end
            while True:
                self.accepted.append(self.listener.accept()[0])

    def __enter__(self) -> SilentApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def rejecting_api() -> Iterator[RejectingApi]:
    """A loopback API that answers 401 to everything."""
    with RejectingApi() as api:
        yield api


@pytest.fixture
def remote_sim(tmp_path: Path) -> Iterator[InProcessSimulator]:
    """A loopback simulator with its own state dir, standing in for the real API."""
    with InProcessSimulator(tmp_path / "remote-sim", rate=0) as server:
        yield server


def toasts(app: object) -> list[str]:
    """The notifications shown (run_test keeps toasts off screen)."""
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


# -- the command line ----------------------------------------------------------------------


def test_a_rejected_key_is_a_clear_logged_error(
    cli: Cli,
    story: str,
    isolated_env: Path,
    rejecting_api: RejectingApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", rejecting_api.base_url)
    result = cli("ask", story, "Where did Aria walk?")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1] == f"promptcache-tui: error: {AUTH_MESSAGE}"
    assert SECRET not in result.err + result.out
    assert rejecting_api.seen_keys == [SECRET]  # sent once: a 401 is not retried
    [row] = rows(
        isolated_env / "promptcache.sqlite3",
        "SELECT status, error, prompt, live, request_id FROM calls",
    )
    assert row == ("error", AUTH_MESSAGE, "Where did Aria walk?", 1, "req_stub401")
    # Still usable: the same context answers offline.
    assert cli("ask", story, "Where did Aria walk?", "--offline").code == 0


def test_a_429_names_the_wait_the_server_asked_for(
    cli: Cli,
    story: str,
    isolated_env: Path,
    remote_sim: InProcessSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", remote_sim.base_url)
    sim_hook(remote_sim, "/_sim/faults", {"status": 429, "count": 3, "retry_after": 0.2})
    result = cli("ask", story, "Where did Aria walk?")
    message = "rate limited (429) after retrying; the server asks to wait 0.2 s"
    assert result.code == 1 and result.err.strip().endswith(message), result.err
    [row] = rows(isolated_env / "promptcache.sqlite3", "SELECT status, error FROM calls")
    assert row == ("error", message)
    # It took all three 429s: it retried twice, as retry-after asked (the wait itself is
    # the SDK's, not timed here).
    assert pending_faults(remote_sim) == []
    assert cli("ask", story, "Where did Aria walk?").code == 0


def pending_faults(sim: InProcessSimulator) -> list[object]:
    """The faults the simulator has queued and not yet served (GET /_sim/faults)."""
    with urllib.request.urlopen(sim.base_url + "/_sim/faults", timeout=10) as response:
        body = json.loads(response.read())
    return list(body["pending"])


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_key_means_offline_not_a_broken_header(
    cli: Cli, story: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, blank: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", blank)
    assert load_settings().live is False
    result = cli("ask", story, "Where did Aria walk?", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["status"] == "ok"
    assert rows(isolated_env / "promptcache.sqlite3", "SELECT live FROM calls") == [(0,)]


# -- the TUI ---------------------------------------------------------------------------------


async def test_tui_a_stream_dropped_mid_answer_gives_the_prompt_back(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "data", offline=True)
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        # message_start, content_block_start, ping and a few words, then the connection breaks.
        await run_hook(app, "/_sim/faults", {"drop_after_events": 6, "count": 1})
        prompt_input = app.main.query_one(PromptInput)
        prompt_input.value = "Who is Dinah?"
        prompt_input.focus()
        await pilot.press("enter")
        panel = app.main.query_one(UsagePanel)
        await wait_until(
            pilot, lambda: bool(panel.records) and not app.main.busy, what="the failed call"
        )
        assert prompt_input.value == "Who is Dinah?"
        assert not app.main.query(UserTurn) and app.main.turns == []
        await wait_until(
            pilot,
            lambda: any("broke mid-answer" in t for t in toasts(app)),
            what="the error notice",
        )
        assert app.store is not None
        [summary] = await app.store.calls.history(CallFilter(status="error"))
        assert summary.id is not None
        failed = await app.store.calls.get(summary.id)
        assert failed is not None
        assert failed.kind == "chat" and failed.prompt == "Who is Dinah?"
        assert "broke mid-answer" in (failed.error or "")
        # message_start had reported the prompt side: that usage is kept.
        assert failed.usage.cache_creation_input_tokens > 1000
        # Still usable: Enter again sends the restored prompt, and it goes through.
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.main.turns) == 2, what="the second try")
        assert prompt_input.value == ""
        assert [r.status for r in await app.store.calls.history()] == ["ok", "error"]


async def test_tui_a_rejected_key_is_a_notice_and_the_prompt_goes_back(
    tmp_path: Path, rejecting_api: RejectingApi
) -> None:
    settings = Settings(data_dir=tmp_path / "data", api_key=SECRET, base_url=rejecting_api.base_url)
    settings.data_dir.mkdir()
    await seed_demo(settings)
    app = make_app(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_selected(pilot)
        assert "LIVE" in app.sub_title
        await pilot.press(*"hello", "enter")
        panel = app.main.query_one(UsagePanel)
        await wait_until(
            pilot, lambda: bool(panel.records) and not app.main.busy, what="the failed call"
        )
        assert app.main.query_one(PromptInput).value == "hello"
        await wait_until(
            pilot, lambda: any(AUTH_MESSAGE in t for t in toasts(app)), what="the error notice"
        )
        assert not any(SECRET in t for t in toasts(app))
        assert app.store is not None
        [failed] = await app.store.calls.history()
        assert failed.status == "error" and failed.error == AUTH_MESSAGE and failed.live


async def test_tui_a_timeout_is_a_notice_and_the_prompt_goes_back(tmp_path: Path) -> None:
    # The app's service times out after 300 s; a service with a short timeout is injected
    # (tests/calls/test_service.py covers the service itself).
    with SilentApi() as api:
        settings = Settings(data_dir=tmp_path / "data", api_key=SECRET, base_url=api.base_url)
        settings.data_dir.mkdir()
        await seed_demo(settings)
        async with await Store.open(settings.db_path) as store:
            catalog = load_catalog(settings.data_dir)
            service = CallService(settings, store, catalog, max_retries=0, timeout=0.5)
            app = make_app(settings, store=store, catalog=catalog, service=service)
            try:
                async with app.run_test(size=(140, 40)) as pilot:
                    await wait_selected(pilot)
                    await pilot.press(*"hello", "enter")
                    panel = app.main.query_one(UsagePanel)
                    await wait_until(
                        pilot,
                        lambda: bool(panel.records) and not app.main.busy,
                        what="the timed-out call",
                    )
                    assert app.main.query_one(PromptInput).value == "hello"
                    message = f"the request to {api.base_url} timed out"
                    await wait_until(
                        pilot, lambda: any(message in t for t in toasts(app)), what="the notice"
                    )
                    [failed] = await store.calls.history()
                    assert failed.status == "error" and failed.error == message
            finally:
                await service.close()
