"""`promptcache-tui statusline`: the session's cache in Claude Code's own status bar.

Claude Code runs the `statusLine` command after each assistant message (debounced to 300 ms,
and every `refreshInterval` seconds when set) with a JSON document on stdin (`session_id`,
`transcript_path`, `model.id`, `workspace`, `cost`, ...) and shows what it prints, dimmed,
ANSI colours allowed. Each run:

1. reads that document, and the session's transcript from where the last run stopped;
2. folds the main thread's new responses into the session's cache, per model
   (`SessionCache`: the TTL of the last write from its 5m / 1h split, refreshed by every
   read), kept in `<data dir>/statusline/<session>.json`;
3. prints one line, `cache 4:12 left (1h) · hit 96% · saved $1.23`, coloured by urgency
   as the dashboard's countdowns (`EntryState.urgency`), hit rate and savings taken from
   what the log holds of the session;
4. when the transcript (or a subagent's) grew, logs the new responses exactly as
   `import claude-code` does (`ClaudeCodeLog`: the same rows, the same dedup, either may run
   first), with cursors and the session's totals in `<session>.log.json`.

Step 4 imports the store, the catalog and the cost model, which takes longer than a status
line may (benchmarks/bench_statusline.py): so the console entry point (cli/entry.py) runs
it after printing, in a forked child that leaves Claude Code's process group and stdio,
under a per-session lock. The totals on the line are therefore those of the log as it was:
they catch up at the next run (the next message, or `refreshInterval` seconds later). A run
with nothing new opens no database at all.

It never breaks Claude Code's screen: whatever goes wrong (no input, bad JSON, a missing
transcript, an unusable data dir, a busy database) it prints one short line, nothing on
stderr, and exits 0. Text from the transcript never reaches the line; reasons taken from
errors go through `one_line`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from promptcache_tui.core.formatting import money_brief
from promptcache_tui.core.ttl import EntryState, SessionCache, SessionCaches, SessionEvent

# This module runs after every Claude Code message: `typing` stays out of its imports.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from promptcache_tui.observe.transcripts import ReadResult, TranscriptResponse
    from promptcache_tui.store.imports import SessionTotals

# For tests only: the clock's "now" (epoch seconds, or ISO 8601), so that a countdown can
# be checked at any moment. Documented in the README's test hooks.
NOW_ENV = "PROMPTCACHE_TUI_NOW"
STATE_DIR = "statusline"
STATE_VERSION = 1
MAX_INPUT = 1 << 20  # Claude Code's document is a few KB
RECENT_KEYS = 64  # responses folded lately: a line of one re-read later is not folded again
STALE_STATE_S = 30 * 86400  # the files of sessions idle this long are removed
LOCK_WAIT_S = 60.0  # a logger waits this long for the one before it, then gives up
SEP = " · "
_COLOURS = {"warm": "\x1b[32m", "expiring": "\x1b[33m", "cold": "\x1b[2m"}
_RESET = "\x1b[0m"

Cursors = dict[str, dict[str, int]]  # file path -> device, inode, offset, skipped, size


class BadInput(ValueError):
    """Claude Code's document is missing or not what this command expects."""


@dataclass(frozen=True, slots=True)
class StatusInput:
    """What the status line uses of Claude Code's document."""

    session_id: str
    transcript_path: Path
    model: str | None  # `model.id`, without a `[1m]`-style suffix


def parse_input(raw: bytes) -> StatusInput:
    """Claude Code's JSON document, checked (BadInput says what is wrong, briefly)."""
    if not raw.strip():
        raise BadInput("no input (Claude Code sends its session as JSON on stdin)")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadInput("input is not JSON") from exc
    if not isinstance(data, Mapping):
        raise BadInput("input is not a JSON object")
    session = data.get("session_id")
    transcript = data.get("transcript_path")
    if not isinstance(session, str) or not session.strip():
        raise BadInput("input has no session_id")
    if not isinstance(transcript, str) or not transcript.strip() or "\x00" in transcript:
        raise BadInput("input has no transcript_path")
    model = data.get("model")
    model_id = model.get("id") if isinstance(model, Mapping) else model
    if isinstance(model_id, str) and model_id.strip():
        model_id = model_id.strip().split("[", 1)[0] or None
    else:
        model_id = None
    return StatusInput(session.strip(), Path(transcript).expanduser(), model_id)


# -- what the runs of a session keep ---------------------------------------------------


@dataclass(slots=True)
class CacheState:
    """The session's cache as folded so far (`<session>.json`, written by each run)."""

    files: Cursors = field(default_factory=dict)  # the main transcript's cursor
    sessions: SessionCaches = field(default_factory=SessionCaches)  # per model (core rule)
    recent: dict[str, float] = field(default_factory=dict)  # response key -> folded ts

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "v": STATE_VERSION,
            "files": self.files,
            "caches": {m: [c.ttl, c.until] for m, c in self.sessions.caches.items()},
            "last_model": self.sessions.last_model,
            "recent": self.recent,
        }

    @classmethod
    def from_json(cls, data: Any) -> CacheState:
        """The inverse of `to_json`; anything unexpected gives a fresh state."""
        try:
            if data.get("v") != STATE_VERSION:
                return cls()
            return cls(
                files=_cursors(data["files"]),
                sessions=SessionCaches(
                    {
                        str(m): SessionCache(ttl if ttl in ("5m", "1h") else None, _float(until))
                        for m, (ttl, until) in data["caches"].items()
                    },
                    data.get("last_model"),
                ),
                recent={str(k): float(v) for k, v in data["recent"].items()},
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls()

    def fold(self, responses: Sequence[TranscriptResponse]) -> None:
        """Take the new responses into the session's caches (`SessionCaches`: the main
        thread's, per model, the rule the dashboard follows too)."""
        for r in responses:
            if r.is_error or r.key in self.recent:
                continue
            # Without a TTL split every write counts as 5m, as in the log (Usage.from_counts).
            five = r.cache_5m if r.cache_5m is not None else r.cache_creation_input_tokens
            self.sessions.add(
                SessionEvent(
                    r.ts, five, r.cache_1h or 0, r.cache_read_input_tokens, r.model, r.sidechain
                )
            )
            if not r.sidechain:
                self.recent[r.key] = r.ts
        while len(self.recent) > RECENT_KEYS:
            del self.recent[next(iter(self.recent))]


@dataclass(slots=True)
class LogState:
    """What the log holds of the session (`<session>.log.json`, written by the logger)."""

    files: Cursors = field(default_factory=dict)  # every file of the session
    calls: int = 0
    prompt_tokens: int = 0
    read_tokens: int = 0
    saved_usd: float | None = None
    problem: str | None = None  # why the last logging failed (short)

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "v": STATE_VERSION,
            "files": self.files,
            "totals": [self.calls, self.prompt_tokens, self.read_tokens, self.saved_usd],
            "problem": self.problem,
        }

    @classmethod
    def from_json(cls, data: Any) -> LogState:
        """The inverse of `to_json`; anything unexpected gives a fresh state."""
        try:
            if data.get("v") != STATE_VERSION:
                return cls()
            calls, prompt, read, saved = data["totals"]
            problem = data.get("problem")
            return cls(
                files=_cursors(data["files"]),
                calls=int(calls),
                prompt_tokens=int(prompt),
                read_tokens=int(read),
                saved_usd=_float(saved),
                problem=str(problem) if problem else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls()

    @property
    def hit_rate(self) -> float | None:
        """read / (input + creation + read) over the session's logged calls."""
        return self.read_tokens / self.prompt_tokens if self.prompt_tokens else None

    def take_totals(self, totals: SessionTotals) -> None:
        """The session's sums, as the log has them."""
        self.calls = totals.calls
        self.prompt_tokens = totals.prompt_tokens
        self.read_tokens = totals.read_tokens
        self.saved_usd = totals.saved_usd


def _cursors(data: Any) -> Cursors:
    return {str(p): {str(k): int(v) for k, v in c.items()} for p, c in data.items()}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# -- what the line says ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """What the line says, for the text and the JSON formats."""

    session_id: str | None
    model: str | None
    cache: EntryState
    now: float
    calls: int = 0
    hit_rate: float | None = None
    saved_usd: float | None = None
    problem: str | None = None  # why something could not be done (short, one line)

    def text(self, *, colour: bool = True) -> str:
        """The status line: `cache 4:12 left (1h) · hit 96% · saved $1.23`."""
        if self.session_id is None:  # not Claude Code's document: say so, briefly
            return f"promptcache-tui: {self.problem or 'no session'}"
        entry = self.cache
        if entry.state == "warm":
            cache = f"cache {entry.countdown()} left ({entry.ttl})"
        elif entry.state == "expired" and entry.expires_at is not None:
            cache = f"cache expired {_ago(self.now - entry.expires_at)} ago"
        else:
            cache = "cache cold"
        if colour:
            cache = f"{_COLOURS[entry.urgency]}{cache}{_RESET}"
        parts = [cache]
        if self.calls:
            parts.append("hit -" if self.hit_rate is None else f"hit {self.hit_rate * 100:.0f}%")
            if self.saved_usd is not None:
                parts.append(f"saved {money_brief(self.saved_usd)}")
        elif entry.state == "cold" and self.problem is None:
            parts.append("no calls yet")
        if self.problem is not None:
            parts.append(self.problem)
        return SEP.join(parts)

    def to_json(self) -> dict[str, Any]:
        """The same facts for other status-line tools."""
        entry = self.cache
        ago = None if entry.expires_at is None else round(self.now - entry.expires_at, 3)
        return {
            "session_id": self.session_id,
            "model": self.model,
            "cache": {
                "state": entry.state,
                "ttl": entry.ttl,
                "urgency": entry.urgency,
                "expires_at": _iso(entry.expires_at),
                "seconds_left": round(entry.remaining, 3) if entry.remaining is not None else None,
                "expired_seconds_ago": ago if entry.state == "expired" else None,
            },
            "calls": self.calls,
            "hit_rate": self.hit_rate,
            "saved_usd": None if self.saved_usd is None else round(self.saved_usd, 10),
            "text": self.text(colour=False),
            "error": self.problem,
        }


def _ago(seconds: float) -> str:
    """A coarse age: 45s, 2m, 3h, 2d."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    from promptcache_tui.core.records import iso_utc

    return iso_utc(ts)


def clock_now() -> float:
    """The wall clock, or PROMPTCACHE_TUI_NOW when a test sets it."""
    raw = os.environ.get(NOW_ENV, "").strip()
    if raw:
        try:
            return float(raw)
        except ValueError:
            from promptcache_tui.observe.transcripts import epoch

            found = epoch(raw)
            if found is not None:
                return found
    from promptcache_tui.core.clock import wall_clock

    return wall_clock()


# -- one run ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogJob:
    """The logging a run leaves to do: these files of this session, into this data dir."""

    home: Path
    session_id: str
    files: tuple[str, ...]


def status(
    raw: bytes, data_dir: Path | str | None, now: float
) -> tuple[StatusFacts, LogJob | None]:
    """What to print, and the logging to do once it is printed (None: nothing new)."""
    try:
        given = parse_input(raw)
    except BadInput as exc:
        return StatusFacts(None, None, SessionCache().state(now), now, problem=str(exc)), None
    problem: str | None = None
    home: Path | None = None
    cache_state, log_state = CacheState(), LogState()
    try:
        home = _home(data_dir)
        cache_path = _state_file(home, given.session_id)
        cache_state = CacheState.from_json(_read_json(cache_path, sweep_at=now))
        log_state = LogState.from_json(_read_json(_state_file(home, given.session_id, ".log")))
    except (OSError, ValueError) as exc:  # DataDirError is a ValueError
        problem = f"not logged: {_reason(exc)}"
        home = None
    main = str(given.transcript_path)
    seen = _identity(given.transcript_path)
    if seen is not None and not _same(cache_state.files.get(main), seen):
        result = _read(main, cache_state.files.get(main))
        if result is not None:
            cache_state.fold(result.responses)
            cache_state.files[main] = _cursor(result, seen)
            if home is not None:
                try:
                    _write_json(cache_path, cache_state.to_json())
                except OSError as exc:
                    problem = f"not saved: {_reason(exc)}"
    job = None
    if home is not None:
        files = _session_files(given.transcript_path, given.session_id)
        if any(not _same(log_state.files.get(f), _identity(Path(f))) for f in files):
            job = LogJob(home, given.session_id, tuple(files))
    model, cache = cache_state.sessions.pick(given.model)
    facts = StatusFacts(
        session_id=given.session_id,
        model=model or given.model,
        cache=cache.state(now),
        now=now,
        calls=log_state.calls,
        hit_rate=log_state.hit_rate,
        saved_usd=log_state.saved_usd,
        problem=problem or log_state.problem,
    )
    return facts, job


def _session_files(transcript: Path, session_id: str) -> list[str]:
    """The session's transcript, then its subagents' (`<session>/subagents/*.jsonl`), as
    the importer orders them (a response replayed by a subagent is met in its main thread
    first)."""
    files = [str(transcript)] if transcript.is_file() else []
    agents = transcript.parent / session_id / "subagents"
    with suppress(OSError):
        files += sorted(e.path for e in os.scandir(agents) if e.name.endswith(".jsonl"))
    return files


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_size


def _same(cursor: Mapping[str, int] | None, seen: tuple[int, int, int] | None) -> bool:
    """Whether a file is as it was when `cursor` was taken (same file, same size)."""
    if cursor is None or seen is None:
        return seen is None  # a vanished file has nothing new
    return (cursor.get("device"), cursor.get("inode"), cursor.get("size")) == seen


def _read(path: str, cursor: Mapping[str, int] | None) -> ReadResult | None:
    """What was added to a file since `cursor` (None when it cannot be read)."""
    # Here, not at the top: a run with nothing new to read does without this module.
    from promptcache_tui.observe.transcripts import FileCursor, read_transcript

    start = None
    if cursor is not None:
        with suppress(KeyError, TypeError, ValueError):
            start = FileCursor.from_json({"path": path, **cursor})
    try:
        return read_transcript(path, start, responses_only=True)
    except OSError:
        return None


def _cursor(result: ReadResult, seen: tuple[int, int, int]) -> dict[str, int]:
    """A cursor to keep, with the size the file had when it was looked at."""
    c = result.cursor
    return {
        "device": c.device,
        "inode": c.inode,
        "offset": c.offset,
        "skipped": c.skipped,
        "size": seen[2] if (seen[0], seen[1]) == (c.device, c.inode) else c.offset,
    }


# -- the logging -----------------------------------------------------------------------


def run_job(job: LogJob) -> None:
    """Log what was added to the session's files since the logger last did, as `import
    claude-code` does, and keep the session's totals; one logger at a time per session.

    A failure is kept in the log state (the next line shows it); nothing is printed.
    """
    lock = _lock(_state_file(job.home, job.session_id, ".lock"))
    if lock is None:
        return  # another logger held the lock too long: the next run tries again
    try:
        path = _state_file(job.home, job.session_id, ".log")
        state = LogState.from_json(_read_json(path))
        try:
            _log(job, state)
            state.problem = None
        except Exception as exc:  # kept for the line: this process has no stderr
            state.problem = f"not logged: {_reason(exc)}"
        with suppress(OSError):
            _write_json(path, state.to_json())
    finally:
        os.close(lock)


def _log(job: LogJob, state: LogState) -> None:
    from promptcache_tui.core.catalog import load_catalog
    from promptcache_tui.observe.claude_code import ClaudeCodeLog
    from promptcache_tui.store.imports import ImportLog, SchemaNotReady

    reads: list[tuple[str, ReadResult, tuple[int, int, int]]] = []
    for path in job.files:
        seen = _identity(Path(path))
        if seen is None or _same(state.files.get(path), seen):
            continue
        result = _read(path, state.files.get(path))
        if result is not None:
            reads.append((path, result, seen))
    if not reads:
        return
    db_path = job.home / "promptcache.sqlite3"
    try:
        log = ImportLog.open(db_path)
    except SchemaNotReady:
        _create_database(db_path)  # once per data dir (or after an upgrade)
        log = ImportLog.open(db_path)
    with log:
        logger = ClaudeCodeLog(log, load_catalog(job.home))
        for path, result, seen in reads:
            if result.responses:
                logger.log_responses(Path(path), result.responses)
            state.files[path] = _cursor(result, seen)  # only once its calls are logged
        state.take_totals(log.session_totals(job.session_id))


def _create_database(db_path: Path) -> None:
    """Create or migrate the database with the async store (its one owner of the schema)."""
    import asyncio

    from promptcache_tui.store import Store

    async def prepare() -> None:
        store = await Store.open(db_path)
        await store.close()

    asyncio.run(prepare())


def _lock(path: Path) -> int | None:
    """An exclusive lock on `path` (a file descriptor), waiting up to LOCK_WAIT_S."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): loggers are not run in the background there
        return fd
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.02)  # the logger before this one is finishing


def start_job(job: LogJob, *, background: bool) -> None:
    """Run the logging: in a detached child when `background` (the status line has been
    printed; Claude Code waits for this process to end, not for the logging), else here."""
    if not background or not hasattr(os, "fork"):
        run_job(job)
        return
    try:
        pid = os.fork()
    except OSError:
        run_job(job)
        return
    if pid:
        return
    try:  # the child: out of Claude Code's process group, its pipes closed
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        run_job(job)
    finally:
        os._exit(0)


# -- files -----------------------------------------------------------------------------


def _home(data_dir: Path | str | None) -> Path:
    """The data dir, as every command finds it (flag, PROMPTCACHE_TUI_HOME, platformdirs).

    Unlike the other commands no `.env` file is read: the status line runs in the user's
    project, whose `.env` is not ours, and must print nothing but its line.
    """
    from promptcache_tui.core.home import resolve_data_dir

    return resolve_data_dir(data_dir)


def _state_file(home: Path, session_id: str, kind: str = "") -> Path:
    folder = home / STATE_DIR
    if not folder.is_dir():
        folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{_file_name(session_id)}{kind}.json"


def _file_name(session_id: str) -> str:
    """The session id when it is a safe file name (Claude Code's are UUIDs), else a hash."""
    if (
        len(session_id) <= 100
        and not session_id.startswith(".")
        and all(c.isascii() and (c.isalnum() or c in "-_.") for c in session_id)
    ):
        return session_id
    import hashlib

    return "h-" + hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()[:40]


def _read_json(path: Path, *, sweep_at: float | None = None) -> Any:
    """A state file's content; None when it is missing or damaged (start over: the log
    dedups whatever is read again). A missing one is a new session: with `sweep_at` (now),
    a good moment to drop the files of long-idle sessions."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if sweep_at is not None:
            _sweep(path.parent, sweep_at)
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _write_json(path: Path, content: Any) -> None:
    """Write a state file atomically (a temp file renamed over it), mode 0600."""
    # Not tempfile: it imports shutil and random, which this hot path has no time for. The
    # pid makes the name unique among concurrent runs; O_EXCL refuses a leftover.
    temp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(content, separators=(",", ":")).encode())
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def _sweep(folder: Path, now: float) -> None:
    """Remove the files of sessions idle for 30 days (by the files' own times)."""
    cutoff = now - STALE_STATE_S
    with suppress(OSError):
        for entry in os.scandir(folder):
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)


def _reason(exc: BaseException) -> str:
    """A short reason for the line (the status bar is narrow)."""
    from promptcache_tui.core.sanitize import one_line

    text = str(exc).lower()
    if isinstance(exc, PermissionError) or "read-only" in text or "permission" in text:
        return "data dir not writable"
    if "not a directory" in text:
        return "data dir is not a directory"
    if "busy" in text or "locked" in text:
        return "log busy"
    if isinstance(exc, OSError) and exc.strerror:
        return one_line(exc.strerror.lower())[:40]
    return one_line(str(exc))[:60] or type(exc).__name__


# -- the command -----------------------------------------------------------------------


def main(*, fmt: str = "text", data_dir: Path | str | None = None, background: bool = False) -> int:
    """Read stdin, print the line (or the JSON document), then log; return 0.

    `background`: log in a detached child once the line is printed (the console entry
    point's fast path; never from a process that runs anything else).
    """
    now = clock_now()
    try:
        stdin = sys.stdin.buffer
        raw = b"" if stdin.isatty() else stdin.read(MAX_INPUT)
    except (OSError, ValueError, AttributeError):
        raw = b""
    job = None
    try:
        facts, job = status(raw, data_dir, now)
    except Exception as exc:  # never a traceback on Claude Code's screen
        facts = StatusFacts(None, None, SessionCache().state(now), now, problem=_reason(exc))
    if fmt == "json":
        out = json.dumps(facts.to_json())
    else:
        out = facts.text(colour=not os.environ.get("NO_COLOR"))
    try:
        # Bytes, UTF-8: Claude Code reads UTF-8 whatever this process's locale says.
        sys.stdout.buffer.write(out.encode("utf-8") + b"\n")
        sys.stdout.flush()
    except (OSError, AttributeError, ValueError):
        pass  # Claude Code stopped listening (a newer run replaced this one)
    if job is not None:
        with suppress(Exception):
            start_job(job, background=background)
    return 0
