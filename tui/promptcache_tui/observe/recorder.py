"""Log what the proxy forwards, off the forwarding path, through the call lifecycle.

The proxy reports each `POST /v1/messages` as it goes (started, streaming, finished) and
never waits on the disk. One worker task takes the reports in order and does the work:
render the request (core/observed: prefix hashes and content per block), `begin` the call
(a row in flight) with its prompt stored by content, then `settle` it (ok / error /
interrupted) with the usage the tap read, the cost (the same pricing as our own calls),
the cached flags of its breakpoints and, when it missed, why (core/miss). Reports that
piled up are written a batch per stage (begun, settled, or logged whole when a call both
started and ended meanwhile).

A logging failure (disk full, a lock held too long) never reaches the client, whose call
was already forwarded: the call is reported on stderr instead, with its usage, so nothing
the API charged for goes unmentioned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import aiosqlite

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.cost import prices_for
from promptcache_tui.core.miss import (
    CallShape,
    MissExplanation,
    explain_miss,
    pick_previous,
    shape_of,
)
from promptcache_tui.core.observed import ObservedRequest, group_key, group_name, observe_request
from promptcache_tui.core.records import (
    IN_FLIGHT,
    CallRecord,
    LoggedBreakpoint,
    iso_utc,
    parse_iso,
)
from promptcache_tui.core.sanitize import one_line, redact
from promptcache_tui.core.ttl import TTLLedger, breakpoint_cached
from promptcache_tui.observe.exchange import Exchange
from promptcache_tui.store import Store, StoreError
from promptcache_tui.store.observed import PreparedPrompt

if TYPE_CHECKING:
    from promptcache_tui.store.calls import Also

Report = Callable[[str], None]
OnLogged = Callable[[CallRecord, MissExplanation | None], None]
_MEMO = 5_000  # token estimates kept, by content hash (bounded: RSS stays flat)
_RECENT = 4  # recent calls kept per client, to explain the next miss without a query
_CLIENTS = 16
BATCH = 64  # reports handled together when the log is behind
MAX_BACKLOG = 512  # calls not yet logged before new requests wait (see `room`)
MAX_BACKLOG_BYTES = 128 * 1024 * 1024
CLOSE_TIMEOUT_S = 10.0


def to_stderr(line: str) -> None:
    """The default report: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


@dataclass(slots=True)
class _Call:
    """A call between its two reports."""

    record: CallRecord
    request: ObservedRequest | None
    exchange: Exchange
    miss: MissExplanation | None = None  # why it missed (redacted)
    compared: CallRecord | None = None  # the call the miss was explained against
    logged: bool = False  # its row exists (begin succeeded)
    problem: str | None = None  # why it could not be logged
    prepared: PreparedPrompt | None = None  # its prompt, ready to write


class _Memo(OrderedDict[str, int]):
    """Token estimates by content hash, the oldest forgotten past a bound."""

    def __setitem__(self, key: str, value: int) -> None:
        super().__setitem__(key, value)
        if len(self) > _MEMO:
            self.popitem(last=False)


class ProxyRecorder:
    """The proxy's `Recorder`: every proxied call logged with kind `proxy`."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        keep_content: bool = True,
        live: bool = True,
        report: Report = to_stderr,
        on_logged: OnLogged | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.keep_content = keep_content
        self.live = live
        self.report = report
        self.on_logged = on_logged
        self.unlogged = 0  # calls forwarded but not logged (reported on stderr)
        self._queue: asyncio.Queue[tuple[str, Exchange]] = asyncio.Queue()
        self._calls: dict[int, _Call] = {}
        self._memo = _Memo()
        self._recent: OrderedDict[str | None, deque[tuple[CallShape, CallRecord]]] = OrderedDict()
        self._worker: asyncio.Task[None] | None = None
        self._open = 0  # calls started and not yet logged as ended
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending_bytes = 0  # request bodies held by calls not yet logged
        self._room = asyncio.Event()
        self._room.set()

    # -- the proxy's side: no waiting -------------------------------------------------------

    async def room(self) -> None:
        """Wait while the log is too far behind (only under sustained overload).

        Every pending call holds its request body; past `MAX_BACKLOG` calls or
        `MAX_BACKLOG_BYTES` of bodies the proxy holds new requests back (before they are
        forwarded) until the log has caught up by half, so memory stays bounded and no
        call goes unlogged.
        """
        while self._open >= MAX_BACKLOG or self._pending_bytes >= MAX_BACKLOG_BYTES:
            self._room.clear()
            await self._room.wait()

    def started(self, exchange: Exchange) -> None:
        """A request came in (called on the event loop; returns at once): counted, so that
        `drain` waits for its end and `room` for the backlog."""
        self._open += 1
        self._pending_bytes += len(exchange.body)
        self._idle.clear()

    def streaming(self, exchange: Exchange) -> None:
        """Its answer is under way: the worker writes the row in flight."""
        self._ensure_worker()
        self._queue.put_nowait(("started", exchange))

    def finished(self, exchange: Exchange) -> None:
        """Its response ended."""
        self._ensure_worker()
        self._queue.put_nowait(("finished", exchange))

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def drain(self) -> None:
        """Wait until every call begun so far has ended and is logged (tests, shutdown).

        A client can have its whole answer a moment before the proxy reports the end, so
        this waits for the ends of the calls already started, not only for the queue.
        """
        self._ensure_worker()
        await self._idle.wait()
        await self._queue.join()

    async def close(self) -> None:
        """Log what is pending, then stop the worker."""
        if self._worker is not None:
            # A call still open past this is left in flight: closing the store settles it
            # as interrupted (the lifecycle's own rule), so it is not lost either.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), CLOSE_TIMEOUT_S)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    # -- the worker -----------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._handle(batch)
            except Exception as exc:  # one batch never stops the logging of the next
                self._internal_error(exc, batch[0][1])
            finally:
                for what, exchange in batch:
                    if what == "finished":
                        self._open -= 1
                        self._pending_bytes -= len(exchange.body)
                    self._queue.task_done()
                if self._open <= 0:
                    self._idle.set()
                if self._open < MAX_BACKLOG // 2 and self._pending_bytes < MAX_BACKLOG_BYTES // 2:
                    self._room.set()

    def _internal_error(self, exc: Exception, exchange: Exchange | None) -> None:
        secrets = exchange.secrets if exchange is not None else ()
        self.report(
            f"promptcache-tui proxy: internal error while logging a call: "
            f"{type(exc).__name__}: {redact(str(exc), secrets)}"
        )

    async def _handle(self, batch: list[tuple[str, Exchange]]) -> None:
        """The reports that piled up, in order, in as few transactions as they allow.

        One report when the log keeps up; when it is behind, the calls that started are
        begun together, those that ended are settled together, and those that both
        started and ended meanwhile are logged whole, once.
        """
        ending = {id(exchange) for what, exchange in batch if what == "finished"}
        begin: list[_Call] = []  # started here and still going: rows in flight
        whole: list[_Call] = []  # started and ended here: one row, already final
        settle: list[_Call] = []  # begun before, ended here
        for what, exchange in batch:
            try:
                if what == "started":
                    call = self._open_call(exchange)
                    if id(exchange) not in ending and exchange.outcome == IN_FLIGHT:
                        begin.append(call)
                else:
                    found = self._calls.pop(id(exchange), None)
                    call = found or self._open_call(exchange, keep=False)
                    await self._close(call)
                    if call.logged:
                        settle.append(call)
                    elif call.problem is None:
                        whole.append(call)
                    else:
                        self._done(call)
            except Exception as exc:
                self._internal_error(exc, exchange)
            await asyncio.sleep(0)  # the forwarding path runs between two calls' work
        # Whole calls first: a call settled below may have been compared with one of them.
        await self._write(begin, "begin")
        await self._write(whole, "whole")
        await self._write(settle, "settle")

    def _open_call(self, exchange: Exchange, *, keep: bool = True) -> _Call:
        record, request = self._record(exchange)
        call = _Call(record=record, request=request, exchange=exchange)
        if keep:
            self._calls[id(exchange)] = call
        return call

    async def _close(self, call: _Call) -> None:
        """The call ended: its outcome, usage, cached flags and why it missed."""
        record, exchange = call.record, call.exchange
        self._settle(record, call.request, exchange)
        found, call.compared = await self._explain(record, call.request)
        if found is not None:
            call.miss = _redacted(found, exchange)
            if record.cache_miss_reason is None:
                record.cache_miss_reason = call.miss.summary
        self._remember(record, call.request)

    async def _write(self, calls: list[_Call], stage: str) -> None:
        """Write a group of calls: `begin` (rows in flight), `whole` or `settle`."""
        if not calls:
            return
        how = {"begin": self._begin, "whole": self._log_whole, "settle": self._settle_many}
        try:
            await how[stage](calls)
        except StoreError as exc:
            for call in calls:
                call.problem = call.problem or str(exc)
        for call in calls:
            if stage == "begin":
                if call.problem is None:
                    call.logged = True
                    self._written(call)
                continue
            if stage == "whole" and call.problem is None:
                self._written(call)
            self._done(call)

    async def _begin(self, calls: list[_Call]) -> None:
        writers = [await self._prompt_writer(c) for c in calls]

        async def also(conn: aiosqlite.Connection) -> None:
            for call, write in zip(calls, writers, strict=True):
                if write is not None:
                    await write(conn, call.record.id or 0)

        await self.store.calls.begin_many([c.record for c in calls], also=also)

    async def _log_whole(self, calls: list[_Call]) -> None:
        writers = [await self._prompt_writer(c) for c in calls]

        async def also(conn: aiosqlite.Connection) -> None:
            for call, write in zip(calls, writers, strict=True):
                if write is not None:
                    await write(conn, call.record.id or 0)
                await self._miss_writer(call)(conn, call.record.id or 0)

        await self.store.calls.log_many([c.record for c in calls], also=also)

    async def _settle_many(self, calls: list[_Call]) -> None:
        async def also(conn: aiosqlite.Connection) -> None:
            for call in calls:
                await self._miss_writer(call)(conn, call.record.id or 0)

        await self.store.calls.settle_many([c.record for c in calls], also=also)

    def _miss_writer(self, call: _Call) -> Also:
        async def write(conn: aiosqlite.Connection, call_id: int) -> None:
            miss = call.miss
            if miss is None:
                return
            if call.compared is not None and call.compared.id is not None:
                # The call compared with may have been logged in this same batch.
                miss = replace(miss, previous_call_id=call.compared.id)
            await self.store.observed.write_miss(conn, call_id, miss)

        return write

    def _done(self, call: _Call) -> None:
        if call.problem is not None:
            self._report_unlogged(call.record, call.problem)
        elif self.on_logged is not None:
            self.on_logged(call.record, call.miss)

    async def _prompt_writer(self, call: _Call) -> Also | None:
        """What to write with the call's row: its prompt by content, and its group the
        first time (prepared here, with reads only; written in the row's transaction)."""
        record, request = call.record, call.request
        if request is None:
            return None
        observed = self.store.observed
        call.prepared = await observed.prepare_prompt(
            request, keep_content=self.keep_content, secrets=call.exchange.secrets
        )
        prepared = call.prepared
        known = record.session is None or observed.knows_group(record.session)
        group = None if known else record.session
        if self.keep_content:
            name = redact(group_name(record.client, request), call.exchange.secrets)
        else:  # --no-content: not even the first words of the system prompt
            name = f"{(record.client or 'unknown').split(' ')[0]} · {record.model}"

        async def write(conn: aiosqlite.Connection, call_id: int) -> None:
            await observed.write_prompt(conn, call_id, prepared)
            if group is not None:
                await observed.write_group(
                    conn, group, "proxy", name=name, client=record.client, model=record.model
                )

        return write

    def _written(self, call: _Call) -> None:
        """The row and its prompt committed: remember what is stored now."""
        observed = self.store.observed
        if call.prepared is not None:
            observed.remember(call.prepared)
        if call.record.session is not None:
            observed.group_written(call.record.session)

    # -- building the record --------------------------------------------------------------

    def _record(self, exchange: Exchange) -> tuple[CallRecord, ObservedRequest | None]:
        request: ObservedRequest | None = None
        model = "unknown"
        try:
            params = json.loads(exchange.body)
            if isinstance(params, dict):
                model = str(params.get("model") or "unknown")
                request = observe_request(
                    params,
                    token_memo=self._memo,
                    keeps_thinking=self.catalog.keeps_earlier_thinking(model),
                )
        except (ValueError, TypeError, KeyError, AttributeError):
            request = None  # not a request the API would take: logged without a prompt
        client = exchange.client
        model = one_line(model)[:100]
        record = CallRecord(
            ts=iso_utc(exchange.started_at),
            kind="proxy",
            model=model,
            status=IN_FLIGHT,
            prices=prices_for(self.catalog, model),
            client=client,
            session=group_key(client, model, request.head_hash) if request else None,
            live=self.live,
            # What the user typed last, for history's search; nothing with --no-content.
            prompt=redact(text, exchange.secrets)
            if self.keep_content and request and (text := request.last_user_text())
            else None,
            breakpoints=tuple(
                LoggedBreakpoint(
                    position=m.position,
                    ttl=m.ttl,
                    prefix_hash=m.prefix_hash,
                    prefix_tokens=m.prefix_tokens,
                    cached=False,
                )
                for m in (request.breakpoints if request else ())
            ),
        )
        return record, request

    def _settle(self, record: CallRecord, request: ObservedRequest | None, ex: Exchange) -> None:
        tap = ex.tap
        record.status = ex.outcome if ex.outcome != IN_FLIGHT else "interrupted"
        record.error = redact(ex.error, ex.secrets) if ex.error else None
        record.request_id = ex.request_id
        record.ttft_ms = ex.ttft_ms
        record.duration_ms = ex.duration_ms
        if tap is not None:
            record.usage = tap.to_usage()
            record.message_id = tap.message_id
            record.stop_reason = tap.stop_reason
            if tap.miss_reason:
                record.cache_miss_reason = tap.miss_reason
                record.cache_missed_input_tokens = tap.missed_tokens
            if tap.unreadable and record.status == "ok":
                record.error = f"usage unreadable: {tap.unreadable}"
        usage = record.usage
        cached_tokens = usage.cache_creation_input_tokens + usage.cache_read_input_tokens
        minimum = self.catalog.min_cache_tokens(record.model)
        # An interrupted answer had started: its cache writes were made (and billed).
        wrote = record.status in ("ok", "interrupted")
        record.breakpoints = tuple(
            LoggedBreakpoint(
                position=b.position,
                ttl=b.ttl,
                prefix_hash=b.prefix_hash,
                prefix_tokens=b.prefix_tokens,
                cached=breakpoint_cached(b.prefix_tokens, cached_tokens, minimum, wrote),
            )
            for b in record.breakpoints
        )

    # -- explaining a miss ----------------------------------------------------------------

    def _shape(self, record: CallRecord, request: ObservedRequest) -> CallShape:
        return shape_of(
            request,
            ts=parse_iso(record.ts),
            cache_read=record.usage.cache_read_input_tokens,
            cache_creation=record.usage.cache_creation_input_tokens,
            cached=[b.cached for b in record.breakpoints],
            keep_content=self.keep_content,
            id=record.id,
        )

    async def _explain(
        self, record: CallRecord, request: ObservedRequest | None
    ) -> tuple[MissExplanation | None, CallRecord | None]:
        """Why the call missed, and the earlier call it was compared with."""
        if request is None or record.status != "ok" or not request.breakpoints:
            return None, None
        current = self._shape(record, request)
        recent = list(self._recent.get(record.client, ()))
        candidates = [shape for shape, _ in recent]
        owners = {id(shape): earlier for shape, earlier in recent}
        if not candidates and current.cache_read == 0:
            # Nothing in memory (the proxy just started): ask the log.
            for earlier in await self.store.observed.recent_cached(
                client=record.client, before_id=record.id, session=record.session
            ):
                shape = await self.store.observed.shape(earlier)
                if shape is not None:
                    candidates.append(shape)
                    owners[id(shape)] = earlier
        previous = pick_previous(current, candidates)
        expiry = await self._expiry(record, previous) if previous is not None else None
        found = explain_miss(
            current,
            previous,
            min_tokens=self.catalog.min_cache_tokens(record.model),
            expiry=expiry,
            resolve=self.catalog.cache_id,  # an alias and its dated id: one model, one cache
        )
        return found, owners.get(id(previous)) if previous is not None else None

    async def _expiry(self, record: CallRecord, previous: CallShape) -> dict[str, float]:
        """When the ledger thought each of the earlier call's entries expired, as of this call
        (reads by other calls in between refresh them)."""
        if record.usage.cache_read_input_tokens > 0:
            return {}  # partial misses are about content, not time
        now = parse_iso(record.ts)
        hashes = [m.prefix_hash for m in previous.marks if m.cached]
        # Calls made with an alias refresh the entries of its dated id, and the reverse.
        ledger = TTLLedger(lambda: now, resolve=self.catalog.cache_id)
        ledger.record_all(e for e in await self.store.calls.cache_events(hashes) if e.ts < now)
        out: dict[str, float] = {}
        for h in hashes:
            state = ledger.state(previous.model, h, now)
            if state.expires_at is not None:
                out[h] = state.expires_at
        return out

    def _remember(self, record: CallRecord, request: ObservedRequest | None) -> None:
        if (
            request is None
            or record.status != "ok"
            or not any(b.cached for b in record.breakpoints)
        ):
            return
        recent = self._recent.get(record.client)
        if recent is None:
            recent = self._recent[record.client] = deque(maxlen=_RECENT)
        self._recent.move_to_end(record.client)
        recent.appendleft((self._shape(record, request), record))
        while len(self._recent) > _CLIENTS:
            self._recent.popitem(last=False)

    def _report_unlogged(self, record: CallRecord, problem: str) -> None:
        self.unlogged += 1
        u = record.usage
        self.report(
            "promptcache-tui proxy: a call was forwarded but not logged "
            f"({one_line(problem)}): {record.ts} {one_line(record.model)} {record.status}, "
            f"input {u.input_tokens}, cache write {u.cache_creation_input_tokens} "
            f"(5m {u.cache_creation_5m_tokens}, 1h {u.cache_creation_1h_tokens}), "
            f"cache read {u.cache_read_input_tokens}, output {u.output_tokens}, "
            f"request id {one_line(record.request_id or '-')}"
        )


def _redacted(found: MissExplanation, exchange: Exchange) -> MissExplanation:
    def clean(text: str | None) -> str | None:
        return redact(text, exchange.secrets) if text else text

    return MissExplanation(
        code=found.code,
        summary=clean(found.summary) or found.code,
        block_index=found.block_index,
        block_label=found.block_label,
        before=clean(found.before),
        after=clean(found.after),
        gap_s=found.gap_s,
        previous_call_id=found.previous_call_id,
    )
