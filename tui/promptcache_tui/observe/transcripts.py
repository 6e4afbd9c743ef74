"""Read Claude Code's session transcripts incrementally: the usage of each API response.

Claude Code writes one JSONL file per session under `~/.claude/projects/<project>/`
(`<session-id>.jsonl`; subagents under `<session-id>/subagents/`). Each API response is one
`"type": "assistant"` line per content block, all sharing the message id and request id
and carrying the usage (`message.usage`: input, cache writes split 5m / 1h under
`cache_creation`, reads, output); an API error is a line whose model is `<synthetic>` and
`isApiErrorMessage` is true. Other lines (user turns, attachments, queue operations) carry
no usage.

`read_transcript(path, cursor)` reads what was added since `cursor` (a byte offset, plus
the file's identity so that a replaced or truncated file is read again from the start) and
returns each response once, the lines of one response merged. It is the reusable part: the
importer calls it for every file, the status line (issue 17) for one session after every
message. Standard library only, so a command built on it starts fast.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

# The status line runs after every Claude Code message: `typing` stays out of its imports.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYNTHETIC = "<synthetic>"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class TranscriptResponse:
    """One API response as a transcript records it."""

    key: str  # the message id (a synthetic error's own id), unique per response
    request_id: str | None
    session_id: str | None
    timestamp: str  # as written, ISO 8601 UTC
    ts: float  # the same, in epoch seconds
    model: str
    input_tokens: int
    cache_creation_input_tokens: int
    cache_5m: int | None  # None when the transcript has no TTL split
    cache_1h: int | None
    cache_read_input_tokens: int
    output_tokens: int
    version: str | None = None  # Claude Code's version
    cwd: str | None = None
    stop_reason: str | None = None
    is_error: bool = False
    error: str | None = None  # an API error's text ("API Error: 529 ...")
    error_status: int | None = None
    sidechain: bool = False

    @property
    def total(self) -> int:
        """All tokens of the response (to keep the most complete of several lines)."""
        return (
            self.input_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
            + self.output_tokens
        )


@dataclass(frozen=True, slots=True)
class FileCursor:
    """Where reading a transcript stopped: a byte offset in one particular file."""

    path: str
    device: int
    inode: int
    offset: int
    skipped: int = 0  # malformed lines skipped so far

    def to_json(self) -> dict[str, Any]:
        """For a caller that keeps its cursor in a JSON file."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileCursor:
        """The inverse of `to_json`."""
        return cls(
            path=str(data["path"]),
            device=int(data["device"]),
            inode=int(data["inode"]),
            offset=int(data["offset"]),
            skipped=int(data.get("skipped", 0)),
        )


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What one read of a transcript found."""

    responses: list[TranscriptResponse]  # in file order, each response once
    cursor: FileCursor  # pass it to the next read
    skipped: int  # malformed lines in this read
    restarted: bool  # the file was replaced or truncated: read again from its start


# Lines come from json.loads, so their objects are dicts: `isinstance(x, dict)` is several
# times cheaper than the Mapping ABC, which counts on a 500-message first read.


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _split(creation: Any) -> tuple[int | None, int | None]:
    if not isinstance(creation, dict):
        return None, None
    return _int(creation.get("ephemeral_5m_input_tokens")), _int(
        creation.get("ephemeral_1h_input_tokens")
    )


# What Claude Code writes (JavaScript's toISOString): read without the datetime module, which
# the status line would otherwise import after every message only for this.
_UTC_Z = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}))?Z", re.ASCII)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _epoch_utc_z(timestamp: str) -> float | None:
    """`YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z` in epoch seconds, computed as datetime does it
    (whole microseconds over 10**6); None for any other form or an impossible date."""
    found = _UTC_Z.fullmatch(timestamp)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in found.groups()[:6])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (
        year >= 1
        and 1 <= month <= 12
        and 1 <= day <= _DAYS[month - 1] + (month == 2 and leap)
        and hour < 24
        and minute < 60
        and second < 60
    ):
        return None
    fraction = found.group(7) or ""
    micro = int(fraction) * (1000 if len(fraction) == 3 else 1) if fraction else 0
    # Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return ((days * 86400 + hour * 3600 + minute * 60 + second) * 10**6 + micro) / 10**6


def epoch(timestamp: str) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp (`Z` or an offset; naive means UTC)."""
    if isinstance(timestamp, str):
        fast = _epoch_utc_z(timestamp)
        if fast is not None:
            return fast
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _error_text(message: Mapping[str, Any]) -> str | None:
    for block in message.get("content") or ():
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, str):
            return text[:500]
    return None


def response_of(entry: Any, fallback_session: str | None = None) -> TranscriptResponse | None:
    """The API response a transcript line records, or None for any other line."""
    if not isinstance(entry, dict) or entry.get("type") != "assistant":
        return None
    message = entry.get("message")
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    model = message.get("model")
    is_error = entry.get("isApiErrorMessage") is True
    if model == SYNTHETIC and not is_error:
        return None  # Claude Code's own placeholder text, not an API response
    if not isinstance(usage, dict) and not is_error:
        return None
    usage = usage if isinstance(usage, dict) else {}
    key = message.get("id") or entry.get("uuid")
    stamp = entry.get("timestamp")
    ts = epoch(stamp) if isinstance(stamp, str) else None
    if not isinstance(key, str) or not key or not isinstance(stamp, str) or ts is None:
        return None
    five, hour = _split(usage.get("cache_creation"))
    request_id = entry.get("requestId")
    session = entry.get("sessionId")
    version = entry.get("version")
    cwd = entry.get("cwd")
    status = entry.get("apiErrorStatus")
    stop = message.get("stop_reason")
    return TranscriptResponse(
        key=key,
        request_id=request_id if isinstance(request_id, str) and request_id else None,
        session_id=session if isinstance(session, str) and session else fallback_session,
        timestamp=stamp,
        ts=ts,
        model=model if isinstance(model, str) and model else "unknown",
        input_tokens=_int(usage.get("input_tokens")),
        cache_creation_input_tokens=_int(usage.get("cache_creation_input_tokens")),
        cache_5m=five,
        cache_1h=hour,
        cache_read_input_tokens=_int(usage.get("cache_read_input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        version=version if isinstance(version, str) and version else None,
        cwd=cwd if isinstance(cwd, str) and cwd else None,
        stop_reason=stop if isinstance(stop, str) else None,
        is_error=is_error,
        error=_error_text(message) if is_error else None,
        error_status=status if isinstance(status, int) else None,
        sidechain=entry.get("isSidechain") is True,
    )


def merge(old: TranscriptResponse, new: TranscriptResponse) -> TranscriptResponse:
    """Two lines of one response: keep the more complete usage, the main thread's copy.

    Claude Code writes a line per content block; later lines can carry larger output
    counts. A sidechain (`/btw`) may replay a main-thread response: the main copy wins.
    """
    if old.sidechain != new.sidechain:
        return old if new.sidechain else new
    if new.total > old.total:
        return replace(new, timestamp=old.timestamp, ts=old.ts)
    return old


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_size


def read_transcript(
    path: Path | str,
    cursor: FileCursor | None = None,
    *,
    final: bool = True,
    responses_only: bool = False,
) -> ReadResult:
    """Read the lines added to a transcript since `cursor` (all of it without one).

    Malformed lines are skipped and counted, never fatal. With `responses_only`, a line
    that does not even contain the word `assistant` is skipped unparsed (most of a long
    session's bytes are user turns and tool results); malformed ones among them are not
    counted then. A last line without its newline
    is left for the next read when `final` is false (it may still be being written); with
    `final` it is read if it parses, and the cursor still stops before it, so a later read
    sees it again (the response's key makes that harmless). Raises OSError when the file
    cannot be read at all.
    """
    path = Path(path)
    found = _identity(path)
    if found is None:
        raise FileNotFoundError(2, "No such file or directory", str(path))
    device, inode, size = found
    start = 0
    restarted = False
    if cursor is not None and (cursor.device, cursor.inode) == (device, inode):
        if cursor.offset <= size:
            start = cursor.offset
        else:
            restarted = True  # truncated: what is there now is new
    elif cursor is not None:
        restarted = True  # replaced (another inode): read it whole
    # Lines name their session; the file (or a subagent's session folder) does too.
    fallback = path.stem if path.parent.name != "subagents" else path.parent.parent.name
    responses: dict[str, TranscriptResponse] = {}
    skipped = 0
    offset = start
    with path.open("rb") as handle:
        handle.seek(start)
        for line, end, complete in _lines(handle, start):
            if not complete and not final:
                break
            if complete:
                offset = end
            text = line.strip()
            if not text or (responses_only and b"assistant" not in text):
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                if complete:
                    skipped += 1
                continue
            response = response_of(entry, fallback)
            if response is None:
                continue
            earlier = responses.get(response.key)
            responses[response.key] = merge(earlier, response) if earlier else response
    previous = cursor.skipped if cursor is not None and not restarted else 0
    return ReadResult(
        responses=list(responses.values()),
        cursor=FileCursor(str(path), device, inode, offset, previous + skipped),
        skipped=skipped,
        restarted=restarted,
    )


def _lines(handle: Any, start: int) -> Iterator[tuple[bytes, int, bool]]:
    """(line, offset after it, ended with a newline) from `start` on."""
    pending = b""
    position = start
    while True:
        chunk = handle.read(_CHUNK)
        if not chunk:
            break
        pending += chunk
        cut = 0
        while True:
            newline = pending.find(b"\n", cut)
            if newline < 0:
                break
            position += newline + 1 - cut
            yield pending[cut:newline], position, True
            cut = newline + 1
        pending = pending[cut:]
    if pending:
        yield pending, position + len(pending), False


def default_roots() -> list[Path]:
    """Where Claude Code keeps transcripts: $CLAUDE_CONFIG_DIR/projects (comma-separated
    dirs), else ~/.claude/projects and ~/.config/claude/projects; the ones that exist."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        bases = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
    else:
        home = Path.home()
        bases = [home / ".claude", home / ".config" / "claude"]
    return [b / "projects" for b in bases if (b / "projects").is_dir()]


def transcript_files(root: Path) -> list[Path]:
    """Every transcript under `root` (a projects dir, one project, or one file): session
    files first, then subagents' (so a replayed response is met in its main thread
    first), each in name order."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    found = sorted(root.rglob("*.jsonl"))
    return sorted(found, key=lambda p: ("subagents" in p.parts, str(p)))


def project_of(path: Path, cwd: str | None = None) -> str:
    """A session's project, for naming it: its working dir's last part, else the folder
    Claude Code named after it (`-home-me-code-app` -> `app`, best effort)."""
    if cwd:
        return Path(cwd).name or cwd
    folder = path.parent.name if path.parent.name != "subagents" else path.parent.parent.name
    return folder.rsplit("-", 1)[-1] or folder


def session_name(project: str | None, session_id: str) -> str:
    """A Claude Code session's default name: its project (the working dir's last part)."""
    place = project or "unknown project"
    return f"claude-code · {place} · {session_id[:8]}"
