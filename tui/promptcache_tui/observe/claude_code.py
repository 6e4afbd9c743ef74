"""`import claude-code`: Claude Code's transcripts into the call log, once each.

Every API response in a transcript becomes a call of kind `claude-code`: usage (cache
writes split 5m / 1h, reads, input, output), model, time, request id, session (the group),
client `claude-cli/<version>`, and the cost with the prices in effect. API error entries
are logged as errors. A response is keyed by its message id (unique index), so importing
again adds nothing, and a response first seen with part of its lines is completed, not
duplicated, when the rest arrive. How far each file was read is kept in the store, so a
new run (or `--follow`) reads only what was added.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.cost import Usage, prices_for
from promptcache_tui.core.miss import MissExplanation, SessionCall, explain_session_miss
from promptcache_tui.core.observed import session_name
from promptcache_tui.core.records import CallRecord, iso_utc, parse_iso
from promptcache_tui.core.sanitize import one_line, redact
from promptcache_tui.observe.transcripts import (
    FileCursor,
    TranscriptResponse,
    project_of,
    read_transcript,
    transcript_files,
)
from promptcache_tui.store import Store
from promptcache_tui.store.observed import ImportProgress

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
    # with the response key of a call logged in this run (its id is known once inserted)
    ttl: str | None = None  # the TTL of its cache: that of the last write


class ClaudeCodeImporter:
    """Imports transcripts into one store."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.on_call = on_call
        self._sessions: dict[str, _Session] = {}

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
        summary = ImportSummary(files=len(files))
        known = await self.store.observed.import_progress(str(f) for f in files)
        progress: list[ImportProgress] = []
        for path in files:
            before = known.get(str(path))
            cursor = (
                FileCursor(str(path), before.device, before.inode, before.offset, before.skipped)
                if before
                else None
            )
            try:
                result = await asyncio.to_thread(read_transcript, path, cursor, final=final)
            except OSError as exc:
                summary.unreadable.append(f"{path}: {exc.strerror or exc}")
                continue
            summary.skipped_lines += result.skipped
            added, completed, errors = await self._log(path, result.responses)
            summary.added += added
            summary.completed += completed
            summary.errors += errors
            c = result.cursor
            progress.append(ImportProgress(c.path, c.device, c.inode, c.offset, c.skipped))
        await self.store.observed.save_progress(progress)
        return summary

    async def _log(
        self, path: Path, responses: Sequence[TranscriptResponse]
    ) -> tuple[int, int, int]:
        if not responses:
            return 0, 0, 0
        existing = await self._existing([r.key for r in responses])
        fresh: list[tuple[CallRecord, TranscriptResponse]] = []
        completed = 0
        for response in responses:
            found = existing.get(response.key)
            if found is None:
                fresh.append((self._record(response), response))
            elif response.total > found[1]:
                record = self._record(response)
                record.id, record.cache_miss_reason = found[0], found[2]
                await self.store.calls.settle(record)
                completed += 1
        explanations: list[tuple[CallRecord, MissExplanation, str | None]] = []
        for record, response in fresh:
            found_miss, previous_key = await self._explain(response)
            if found_miss is not None:
                record.cache_miss_reason = found_miss.summary
                explanations.append((record, found_miss, previous_key))
        ids = await self.store.observed.insert_imported([r for r, _ in fresh])
        id_of = {r.message_id: i for (r, _), i in zip(fresh, ids, strict=True)}
        for (record, response), call_id in zip(fresh, ids, strict=True):
            record.id = call_id
            if call_id is not None and response.session_id:
                project = project_of(path, response.cwd)
                await self.store.observed.ensure_group(
                    response.session_id,
                    "claude-code",
                    name=session_name(project, response.session_id),
                    client=record.client,
                    model=record.model,
                    project=response.cwd,
                )
            if call_id is not None and self.on_call is not None:
                self.on_call(record)
        for record, found_miss, previous_key in explanations:
            if previous_key is not None and id_of.get(previous_key) is not None:
                found_miss = replace(found_miss, previous_call_id=id_of[previous_key])
            if record.id is not None:
                await self.store.observed.save_miss(record.id, found_miss)
        added = sum(1 for i in ids if i is not None)
        errors = sum(1 for (r, _), i in zip(fresh, ids, strict=True) if i and r.status == "error")
        return added, completed, errors

    async def _existing(self, keys: Sequence[str]) -> dict[str, tuple[int, int, str | None]]:
        """Already imported responses: key -> (call id, total tokens, miss reason)."""
        out: dict[str, tuple[int, int]] = {}
        for start in range(0, len(keys), 500):
            part = list(keys[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = await self.store.db.fetchall(
                "SELECT id, message_id, input_tokens + cache_creation_input_tokens"
                " + cache_read_input_tokens + output_tokens, cache_miss_reason FROM calls"
                f" WHERE kind = 'claude-code' AND message_id IN ({marks})",
                part,
            )
            out.update({r[1]: (r[0], r[2], r[3]) for r in rows})
        return out

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
        )

    async def _explain(
        self, response: TranscriptResponse
    ) -> tuple[MissExplanation | None, str | None]:
        """Why this response missed, from the session's calls before it; and the key of
        the call it was compared with, when that call is logged in this same run."""
        if response.is_error or not response.session_id:
            return None, None
        state = self._sessions.get(response.session_id)
        if state is None:
            state = self._sessions[response.session_id] = await self._load(response)
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
        found = state.last.get(response.model)
        if found is None and state.last:
            found = max(state.last.values(), key=lambda item: item[0].ts)
        previous, previous_key = found if found else (None, None)
        explained = explain_session_miss(current, previous, state.ttl)
        if current.wrote_ttl is not None:
            state.ttl = current.wrote_ttl
        if current.cache_read or current.wrote_ttl:
            state.last[response.model] = (current, response.key)
        return explained, previous_key

    async def _load(self, response: TranscriptResponse) -> _Session:
        """A session's state from what an earlier import logged of it."""
        state = _Session()
        rows = await self.store.db.fetchall(
            "SELECT id, ts, model, cache_read_input_tokens, cache_creation_5m_tokens,"
            " cache_creation_1h_tokens FROM calls WHERE session = ? AND kind = 'claude-code'"
            " AND status = 'ok' AND ts < ? ORDER BY ts DESC LIMIT 50",
            (response.session_id, iso_utc(response.ts)),
        )
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
                state.last[call.model] = (call, None)
        return state


def _size(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size
