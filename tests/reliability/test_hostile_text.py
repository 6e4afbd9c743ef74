"""Text from outside never drives the terminal, and secrets a server echoes stay secret.

Hostile context files (title, clear-screen and clipboard escapes) come back in the
simulator's answers; a hostile model id and an endpoint that echoes the key it was sent
reach the summary, the error line, the log and the exports. JSON output stays exact.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from promptcache_tui.core.records import CallRecord
from promptcache_tui.export import open_private, write
from tests.reliability.conftest import STORY, Cli
from tests.reliability.processes import call_rows

ESCAPES = ("\x1b]0;pwned\x07", "\x1b[2J", "\x1b]52;c;cHduZWQ=\x07", "\x9b31m")
SECRET = "sk-ant-api03-echoed-SECRET-0123456789abcdef"


def _live(text: str) -> list[str]:
    """The control characters in `text` that a terminal would act on."""
    return [ch for ch in ("\x1b", "\x07", "\x9b", "\r") if ch in text]


@pytest.fixture
def hostile(cli: Cli, tmp_path: Path) -> str:
    """A context whose document hides escape sequences in the sentences answers quote."""
    poisoned = STORY.replace("harbour", "harbour" + "".join(ESCAPES))
    path = tmp_path / "poisoned.txt"
    path.write_text(poisoned, encoding="utf-8")
    result = cli("context", "add", "poisoned", "--file", str(path))
    assert result.code == 0, result.err
    return "poisoned"


def test_an_answer_quoting_escape_codes_prints_them_visibly(cli: Cli, hostile: str) -> None:
    result = cli("ask", hostile, "Where did she walk to the harbour every morning?")
    assert result.code == 0, result.err
    assert "harbour" in result.out
    assert _live(result.out + result.err) == []
    assert "\\x1b]0;pwned\\x07" in result.out  # shown, not dropped


def test_json_output_stays_exact(cli: Cli, hostile: str) -> None:
    result = cli("ask", hostile, "Where did she walk to the harbour?", "--format", "json")
    assert result.code == 0, result.err
    assert _live(result.out) == []  # escaped in the JSON text...
    answer = json.loads(result.out)["answer"]
    assert all(code in answer for code in ESCAPES)  # ...and exactly the answer's characters
    history = cli("history", "--format", "json")
    assert _live(history.out) == []
    assert json.loads(history.out)[0]["id"] == json.loads(result.out)["id"]


def test_a_hostile_model_id_is_shown_safely(cli: Cli, story: str) -> None:
    model = "claude-\x1b]0;pwned\x07x"
    result = cli("ask", story, "Where did Aria walk?", "--model", model)
    assert _live(result.out + result.err) == [], result.err
    table = cli("history")
    assert "claude-\\x1b]0;pwned\\x07x" in table.out and _live(table.out) == []
    stats = cli("stats", "--by", "model")
    assert _live(stats.out) == []
    exported = cli("history", "--format", "csv")
    assert _live(exported.out) == []
    assert json.loads(cli("history", "--format", "json").out)[0]["model"] == model


class _EchoingApi(BaseHTTPRequestHandler):
    """An endpoint that answers 400 and echoes the credential it was sent (and an escape)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        # SDK 2.x sends the key as a bearer token; older clients as x-api-key.
        sent = self.headers.get("authorization", "").removeprefix("Bearer ")
        key = self.headers.get("x-api-key") or sent
        body = {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": f"invalid x-api-key: Bearer {key} \x1b]0;pwned\x07",
            },
        }
        data = json.dumps(body).encode()
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def test_an_echoed_key_is_redacted_everywhere(
    cli: Cli, story: str, isolated_env: Path, echoing_api: str
) -> None:
    result = cli("ask", story, "Where did Aria walk?")
    assert result.code == 1
    [line] = result.err.strip().splitlines()
    assert "invalid x-api-key: Bearer [redacted]" in line
    assert SECRET not in line and _live(line) == []
    [row] = call_rows(isolated_env / "promptcache.sqlite3")
    assert row["status"] == "error" and SECRET not in row["error"]
    for fmt in ("csv", "json", "table"):  # the table shows the error's first 40 characters
        shown = cli("history", "--format", fmt)
        assert SECRET not in shown.out and _live(shown.out) == [], fmt
        assert fmt == "table" or "Bearer [redacted]" in shown.out, fmt
    on_disk = [
        p for p in isolated_env.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()
    ]
    assert on_disk == []


def test_exports_redact_errors_logged_before_redaction_existed() -> None:
    old = CallRecord(
        ts="2026-11-01T00:00:00.000000+00:00",
        kind="ask",
        model="claude-sonnet-4-6",
        status="error",
        error=f"echo {SECRET}",
    )
    for fmt in ("csv", "json"):
        out = io.StringIO()
        write([old], out, fmt)
        assert SECRET not in out.getvalue() and "[redacted]" in out.getvalue()
    rows = list(csv.DictReader(io.StringIO(_csv([old]))))
    assert rows[0]["error"] == "echo [redacted]"


def _csv(records: list[CallRecord]) -> str:
    out = io.StringIO()
    write(records, out, "csv")
    return out.getvalue()


def test_exports_are_written_0600_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "calls.csv"
    target.write_text("old")
    target.chmod(0o644)
    old = os.umask(0)
    try:
        with open_private(target) as handle:
            handle.write("new")
        with open_private(tmp_path / "fresh.json") as handle:
            handle.write("[]")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "fresh.json").stat().st_mode) == 0o600
    assert target.read_text() == "new"
