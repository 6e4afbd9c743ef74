"""Claude Code transcripts for tests, in the shape claude-cli 2.1.197 writes them.

Learned from real transcripts (Claude Code pointed at the simulator) and from ccusage's
fixtures: one JSON object per line; an API response is one `assistant` line per content
block, sharing `message.id` and `requestId`, each with the response's usage; API errors
are `<synthetic>` messages with `isApiErrorMessage`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

VERSION = "2.1.197"


class Session:
    """Lines of one session's transcript, written to `projects/<project>/<id>.jsonl`."""

    def __init__(self, projects: Path, session_id: str, cwd: str = "/home/me/code/app") -> None:
        self.session_id = session_id
        self.cwd = cwd
        folder = projects / ("-" + cwd.strip("/").replace("/", "-"))
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{session_id}.jsonl"
        self.lines: list[str] = []
        self._parent: str | None = None

    def _base(self, kind: str, ts: str) -> dict[str, Any]:
        line_id = str(uuid.uuid4())
        entry = {
            "parentUuid": self._parent,
            "isSidechain": False,
            "type": kind,
            "uuid": line_id,
            "timestamp": ts,
            "userType": "external",
            "entrypoint": "cli",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": VERSION,
            "gitBranch": "main",
        }
        self._parent = line_id
        return entry

    def user(self, ts: str, text: str) -> Session:
        """A user turn (no usage)."""
        entry = self._base("user", ts)
        entry["message"] = {"role": "user", "content": text}
        self.lines.append(json.dumps(entry))
        return self

    def other(self, entry: dict[str, Any]) -> Session:
        """Any other line, as given (attachments, queue operations, summaries...)."""
        self.lines.append(json.dumps({"sessionId": self.session_id, **entry}))
        return self

    def response(
        self,
        ts: str,
        *,
        message_id: str,
        request_id: str,
        model: str = "claude-opus-4-8",
        input_tokens: int = 3,
        write_5m: int = 0,
        write_1h: int = 0,
        read: int = 0,
        output: int = 50,
        blocks: tuple[str, ...] = ("text",),
        partial_output: int | None = None,
        sidechain: bool = False,
    ) -> Session:
        """One API response: a line per content block (the first may carry partial output)."""
        for i, kind in enumerate(blocks):
            entry = self._base("assistant", ts)
            entry["isSidechain"] = sidechain
            out = partial_output if (partial_output is not None and i == 0) else output
            content: dict[str, Any] = {"type": kind}
            if kind == "text":
                content["text"] = "Done."
            elif kind == "thinking":
                content.update(thinking="Let me look.", signature="sig")
            else:
                content.update(id="toolu_1", name="Read", input={"file_path": "/x"})
            entry["message"] = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [content],
                "stop_reason": "tool_use" if kind == "tool_use" else None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": input_tokens,
                    "cache_creation_input_tokens": write_5m + write_1h,
                    "cache_read_input_tokens": read,
                    "output_tokens": out,
                    "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                    "service_tier": "standard",
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": write_1h,
                        "ephemeral_5m_input_tokens": write_5m,
                    },
                    "inference_geo": "",
                    "iterations": [],
                    "speed": "standard",
                },
            }
            entry["requestId"] = request_id
            self.lines.append(json.dumps(entry))
        return self

    def api_error(self, ts: str, status: int, text: str, request_id: str | None) -> Session:
        """A failed call, as Claude Code records it."""
        entry = self._base("assistant", ts)
        entry["message"] = {
            "id": str(uuid.uuid4()),
            "container": None,
            "model": "<synthetic>",
            "role": "assistant",
            "stop_reason": "stop_sequence",
            "stop_sequence": "",
            "type": "message",
            "usage": {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            },
            "content": [{"type": "text", "text": text}],
        }
        entry["requestId"] = request_id
        entry["error"] = "unknown"
        entry["isApiErrorMessage"] = True
        entry["apiErrorStatus"] = status
        self.lines.append(json.dumps(entry))
        return self

    def raw(self, text: str) -> Session:
        """A line exactly as given (malformed ones, for instance)."""
        self.lines.append(text)
        return self

    def write(self) -> Path:
        """Write every line so far (the file is rewritten whole)."""
        self.path.write_text("".join(line + "\n" for line in self.lines), encoding="utf-8")
        return self.path

    def append(self, text: str) -> None:
        """Append raw text to the file as it is (to test half-written lines)."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
