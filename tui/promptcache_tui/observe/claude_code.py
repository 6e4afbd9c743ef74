"""`import claude-code`: Claude Code's transcripts into the call log, once each.

Every API response in a transcript becomes a call of kind `claude-code`: usage (cache
writes split 5m / 1h, reads, input, output), model, time, request id, session (the group),
client `claude-cli/<version>`, and the cost with the prices in effect. API error entries
are logged as errors. A response is keyed by its message id (unique index), so importing
again adds nothing, and a response first seen with part of its lines is completed, not
duplicated, when the rest arrive. How far each file was read is kept in the store, so a
new run (or `--follow`) reads only what was added.

`ClaudeCodeLog` does the work, synchronously, over the plain sqlite3 `ImportLog`: the
status line (observe/statusline.py) calls it in its own process after every message, so
this module imports neither asyncio nor aiosqlite at load. `ClaudeCodeImporter` runs it in
a worker thread for the async callers (the CLI's import, `--follow`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.cost import Usage, prices_for
from promptcache_tui.core.miss import MissExplanation, SessionCall, explain_session_miss
from promptcache_tui.core.records import CallRecord, iso_utc, parse_iso
from promptcache_tui.core.sanitize import one_line, redact
from promptcache_tui.observe.transcripts import (
    FileCursor,
    TranscriptResponse,
    project_of,
    read_transcript,
    session_name,
    transcript_files,
)
from promptcache_tui.store.imports import ImportLog, ImportProgress

if TYPE_CHECKING:
    import asyncio

    from promptcache_tui.store import Store

FOLLOW_INTERVAL_S = 1.0
RESCAN_EVERY = 5  # ticks between looks for new transcript files while following


@dataclass(slots=True)
class ImportSummary:
    """What an import did."""

    files: int = 0
    added: int = 0  # new calls
    completed: int = 0  # calls updated with a later line's fuller usage
    errors: int = 0  # API error entries among the added calls
    skipped_lines: int = 0  # malformed lines (skipped, counted)
    unreadable: list[str] = field(default_factory=list)  # files that could not be read

    def add(self, other: ImportSummary) -> None:
        """Fold another run's figures into these."""
        self.files += other.files
        self.added += other.added
        self.completed += other.completed
        self.errors += other.errors
        self.skipped_lines += other.skipped_lines
        self.unreadable.extend(other.unreadable)


@dataclass(slots=True)
class _Session:
    """What the importer knows of a session, to explain its next miss."""

    last: dict[str, tuple[SessionCall, str | None]] = field(default_factory=dict)  # by model,
    # with the response key of a call logged in this batch (its id is known once inserted)
    ttl: str | None = None  # the TTL of its cache: that of the last write


@dataclass(slots=True)
class LogResult:
    """What logging one file's responses did."""

    added: int = 0
    completed: int = 0
    errors: int = 0
    ids: dict[str, int] = field(default_factory=dict)  # response key -> call id, new or not


class ClaudeCodeLog:
    """Logs transcript responses as claude-code calls, through one `ImportLog`."""

    def __init__(
        self,
        log: ImportLog,
        catalog: Catalog,
        *,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.log = log
        self.catalog = catalog
        self.on_call = on_call  # called for each new call, in the logging thread

    def import_files(self, files: Sequence[Path], *, final: bool = True) -> ImportSummary:
        """Read what was added to each file since the last import, and log it: each file's
        calls and its new read position in one transaction."""
        summary = ImportSummary(files=len(files))
        known = self.log.progress(str(f) for f in files)
        for path in files:
            before = known.get(str(path))
            cursor = (
                FileCursor(str(path), before.device, before.inode, before.offset, before.skipped)
                if before
                else None
            )
            try:
                result = read_transcript(path, cursor, final=final)
            except OSError as exc:
                summary.unreadable.append(f"{path}: {exc.strerror or exc}")
                continue
            summary.skipped_lines += result.skipped
            c = result.cursor
            done = self.log_responses(
                path,
                result.responses,
                progress=ImportProgress(c.path, c.device, c.inode, c.offset, c.skipped),
            )
            summary.added += done.added
            summary.completed += done.completed
            summary.errors += done.errors
        return summary

    def log_responses(
        self,
        path: Path,
        responses: Sequence[TranscriptResponse],
        *,
        progress: ImportProgress | None = None,
    ) -> LogResult:
        """Log one file's responses (new ones added, fuller copies completed, the rest left
        alone) in one transaction, with the file's read position when given."""
        done = LogResult()
        if not responses and progress is None:
            return done
        new_calls: list[CallRecord] = []
        with self.log.transaction():
            if responses:
                done = self._log(path, responses, new_calls)
            if progress is not None:
                self.log.save_progress([progress])
        if self.on_call is not None:
            for record in new_calls:
                self.on_call(record)
        return done

    def _log(
        self, path: Path, responses: Sequence[TranscriptResponse], new_calls: list[CallRecord]
    ) -> LogResult:
        done = LogResult()
        existing = self.log.logged([r.key for r in responses])
        fresh: list[tuple[CallRecord, TranscriptResponse]] = []
        for response in responses:
            found = existing.get(response.key)
            if found is None:
                fresh.append((self._record(response), response))
                continue
            done.ids[response.key] = found.id
            if response.total > found.tokens:
                record = self._record(response)
                record.id, record.cache_miss_reason = found.id, found.cache_miss_reason
                self.log.complete(record)
                done.completed += 1
        # What this batch knows of each session, to explain its misses (loaded from the log
        # the first time a session is met: earlier batches are in it, with their ids).
        sessions: dict[str, _Session] = {}
        explanations: list[tuple[CallRecord, MissExplanation, str | None]] = []
        for record, response in fresh:
            found_miss, previous_key = self._explain(response, sessions)
            if found_miss is not None:
                record.cache_miss_reason = found_miss.summary
                explanations.append((record, found_miss, previous_key))
        ids = self.log.insert([r for r, _ in fresh])
        id_of = {r.message_id: i for (r, _), i in zip(fresh, ids, strict=True)}
        for (record, response), call_id in zip(fresh, ids, strict=True):
            if call_id is None:
                continue  # logged by another process meanwhile
            done.ids[response.key] = call_id
            done.added += 1
            done.errors += record.status == "error"
            new_calls.append(record)
            if response.session_id:
                project = project_of(path, response.cwd)
                self.log.ensure_group(
                    response.session_id,
                    "claude-code",
                    name=session_name(project, response.session_id),
                    client=record.client,
                    model=record.model,
                    project=response.cwd,
                )
        for record, found_miss, previous_key in explanations:
            if previous_key is not None and id_of.get(previous_key) is not None:
                found_miss = replace(found_miss, previous_call_id=id_of[previous_key])
            if record.id is not None:
                self.log.save_miss(record.id, found_miss)
        return done

    def _record(self, response: TranscriptResponse) -> CallRecord:
        model = one_line(response.model)[:100]
        usage = Usage.from_counts(
            input_tokens=response.input_tokens,
            cache_creation_input_tokens=response.cache_creation_input_tokens,
            cache_read_input_tokens=response.cache_read_input_tokens,
            output_tokens=response.output_tokens,
            ephemeral_5m=response.cache_5m,
            ephemeral_1h=response.cache_1h,
        )
        error = None
        if response.is_error:
            status = f" {response.error_status}" if response.error_status else ""
            error = redact(one_line(response.error or f"API error{status}"))
        return CallRecord(
            ts=iso_utc(response.ts),
            kind="claude-code",
            model=model,
            status="error" if response.is_error else "ok",
            error=error,
            usage=usage,
            prices=prices_for(self.catalog, model),
            request_id=response.request_id,
            message_id=response.key,
            stop_reason=response.stop_reason,
            live=True,
            client=f"claude-cli/{one_line(response.version)}" if response.version else None,
            session=response.session_id,
            sidechain=response.sidechain,
        )

    def _explain(
        self, response: TranscriptResponse, sessions: dict[str, _Session]
    ) -> tuple[MissExplanation | None, str | None]:
        """Why this response missed, from the session's calls before it; and the key of
        the call it was compared with, when that call is logged in this same batch."""
        if response.is_error or not response.session_id:
            return None, None
        state = sessions.get(response.session_id)
        if state is None:
            state = sessions[response.session_id] = self._load(response)
        current = SessionCall(
            ts=response.ts,
            model=response.model,
            cache_read=response.cache_read_input_tokens,
            write_5m=response.cache_5m
            if response.cache_5m is not None
            else response.cache_creation_input_tokens,
            write_1h=response.cache_1h or 0,
        )
        # Claude Code mixes models in a session (a small one for side tasks): compare with
        # the same model's last call, else the session's last one (a real model change).
        # An alias and its dated id are one model: one cache (the catalog's `cache_id`).
        cache_id = self.catalog.cache_id
        found = state.last.get(cache_id(response.model))
        if found is None and state.last:
            found = max(state.last.values(), key=lambda item: item[0].ts)
        previous, previous_key = found if found else (None, None)
        explained = explain_session_miss(current, previous, state.ttl, cache_id)
        if current.wrote_ttl is not None:
            state.ttl = current.wrote_ttl
        if current.cache_read or current.wrote_ttl:
            state.last[cache_id(response.model)] = (current, response.key)
        return explained, previous_key

    def _load(self, response: TranscriptResponse) -> _Session:
        """A session's state from what earlier imports logged of it."""
        state = _Session()
        rows = self.log.session_history(response.session_id or "", iso_utc(response.ts))
        for row in reversed(rows):
            call = SessionCall(
                ts=parse_iso(row["ts"]),
                model=row["model"],
                cache_read=row["cache_read_input_tokens"],
                write_5m=row["cache_creation_5m_tokens"],
                write_1h=row["cache_creation_1h_tokens"],
                id=row["id"],
            )
            if call.wrote_ttl is not None:
                state.ttl = call.wrote_ttl
            if call.cache_read or call.wrote_ttl:
                state.last[self.catalog.cache_id(call.model)] = (call, None)
        return state


class ClaudeCodeImporter:
    """Imports transcripts into one store, the work done in a thread (`ClaudeCodeLog`) over
    a connection of its own to the store's database file."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.on_call = on_call  # called in the importing thread

    async def run(self, roots: Iterable[Path]) -> ImportSummary:
        """One pass over every transcript under `roots`."""
        files = [f for root in roots for f in transcript_files(root)]
        return await self.import_files(files)

    async def follow(
        self,
        roots: Sequence[Path],
        *,
        interval: float = FOLLOW_INTERVAL_S,
        stop: asyncio.Event | None = None,
        on_pass: Callable[[ImportSummary], None] | None = None,
    ) -> ImportSummary:
        """Keep importing what is added, polling once per `interval` (no busy loop): a
        stat of each known file per tick, a look for new files every few ticks."""
        import asyncio  # here, not at the top: the status line imports this module

        total = ImportSummary()
        files: list[Path] = []
        sizes: dict[Path, tuple[int, int] | None] = {}
        tick = 0
        stop = stop or asyncio.Event()
        while not stop.is_set():
            if tick % RESCAN_EVERY == 0:
                files = [f for root in roots for f in transcript_files(root)]
            changed = []
            for path in files:
                seen = _size(path)
                if seen != sizes.get(path):
                    changed.append(path)
                    sizes[path] = seen
            if changed:
                summary = await self.import_files(changed, final=False)
                total.add(summary)
                if on_pass is not None and (summary.added or summary.completed):
                    on_pass(summary)
            tick += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        return total

    async def import_files(self, files: Sequence[Path], *, final: bool = True) -> ImportSummary:
        """Read what was added to each file since the last import, and log it."""
        import asyncio

        return await asyncio.to_thread(self._import_files, list(files), final)

    def _import_files(self, files: list[Path], final: bool) -> ImportSummary:
        with ImportLog.open(self.store.db.path) as log:
            return ClaudeCodeLog(log, self.catalog, on_call=self.on_call).import_files(
                files, final=final
            )


def _size(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size
