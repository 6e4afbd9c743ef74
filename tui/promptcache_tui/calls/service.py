"""The call service: every call, from the TUI or the shell, is built, sent, measured, logged.

Flow: build the request from the context -> log its row in flight -> stream it with
`AsyncAnthropic` -> record the input-side usage when `message_start` arrives -> hand text
deltas to the caller -> settle the row as ok, error or interrupted (cancelled: a signal, a
quit, a reader gone) with the usage known so far. No Textual here, and the `anthropic` SDK
(about a second to import) loads only when the first call is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from promptcache_tui.core.advisor import api_miss_reason, infer_miss_reason
from promptcache_tui.core.catalog import Catalog
from promptcache_tui.core.clock import wall_clock
from promptcache_tui.core.context import Context
from promptcache_tui.core.cost import Usage, prices_for
from promptcache_tui.core.records import IN_FLIGHT, CallRecord, LoggedBreakpoint, iso_utc
from promptcache_tui.core.request import (
    BuiltRequest,
    Turn,
    build_request,
    filler_params,
    prefix_params,
)
from promptcache_tui.core.sanitize import redact
from promptcache_tui.core.settings import Settings
from promptcache_tui.core.ttl import (
    CacheEvent,
    CallPrediction,
    State,
    TTLLedger,
    lookback_hashes,
    predict_call,
    settle,
)
from promptcache_tui.store import CallFilter, Store, StoreError

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.lib.streaming import AsyncMessageStream

    from promptcache_tui.sim.inprocess import InProcessSimulator

TextSink = Callable[[str], Awaitable[None] | None]
OFFLINE_KEY = "offline-simulator"  # the in-process simulator wants a key; this one is not secret
DEFAULT_TIMEOUT_S = 300.0
INTERRUPTED = "interrupted before the answer ended"


class ReaderGone(Exception):
    """Raised by a text sink when no one reads the answer any more (a closed pipe).

    The call stops and is settled as `interrupted` with this message; `run` returns it.
    """


@dataclass(frozen=True, slots=True)
class _Before:
    """The log's view just before a call, for explaining a miss afterwards."""

    states: list[State]
    previous: CallRecord | None
    prediction: CallPrediction  # what the caching rules say this call will read and write


@dataclass(slots=True)
class _Progress:
    """What a call has reported so far (kept when it fails midway)."""

    usage: dict[str, int] = field(default_factory=dict)
    split: dict[str, int | None] = field(default_factory=lambda: {"5m": None, "1h": None})
    text: list[str] = field(default_factory=list)
    message_id: str | None = None
    request_id: str | None = None
    stop_reason: str | None = None
    miss_reason: str | None = None
    missed_tokens: int | None = None
    ttft_ms: float | None = None  # time to the first text delta
    modes: dict[str, str] = field(default_factory=dict)  # speed, inference_geo, service_tier
    started: bool = False  # the response began (message_start): the cache was written
    finished: bool = False  # the whole answer arrived

    def take_usage(self, usage: Any) -> None:
        """Merge a usage object from message_start, message_delta or the final message."""
        if usage is None:
            return
        for name in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        ):
            value = getattr(usage, name, None)
            if value is not None:
                self.usage[name] = int(value)
        for name in ("speed", "inference_geo", "service_tier"):  # they change the price
            value = getattr(usage, name, None)
            if isinstance(value, str):
                self.modes[name] = value
        creation = getattr(usage, "cache_creation", None)
        if creation is not None:
            self.split["5m"] = int(getattr(creation, "ephemeral_5m_input_tokens", 0) or 0)
            self.split["1h"] = int(getattr(creation, "ephemeral_1h_input_tokens", 0) or 0)

    def take_message(self, message: Any) -> None:
        """Id, usage and diagnostics of a message (message_start or final)."""
        self.message_id = getattr(message, "id", None) or self.message_id
        self.take_usage(getattr(message, "usage", None))
        self.stop_reason = getattr(message, "stop_reason", None) or self.stop_reason
        diagnostics = getattr(message, "diagnostics", None)
        reason = getattr(diagnostics, "cache_miss_reason", None) if diagnostics else None
        if reason is not None:
            self.miss_reason = getattr(reason, "type", None)
            self.missed_tokens = getattr(reason, "cache_missed_input_tokens", None)

    def to_usage(self) -> Usage:
        """The usage reported so far."""
        return Usage.from_counts(
            input_tokens=self.usage.get("input_tokens", 0),
            cache_creation_input_tokens=self.usage.get("cache_creation_input_tokens", 0),
            cache_read_input_tokens=self.usage.get("cache_read_input_tokens", 0),
            output_tokens=self.usage.get("output_tokens", 0),
            ephemeral_5m=self.split["5m"],
            ephemeral_1h=self.split["1h"],
        )


def describe_error(exc: BaseException, *, base_url: str | None, live: bool) -> str:
    """One line for the user; never the API key."""
    import anthropic

    where = base_url or ("the Anthropic API" if live else "the offline simulator")
    if isinstance(exc, anthropic.AuthenticationError):
        return "authentication failed (401): check ANTHROPIC_API_KEY"
    if isinstance(exc, anthropic.RateLimitError):
        after = exc.response.headers.get("retry-after")
        hint = f"; the server asks to wait {after} s" if after else ""
        return f"rate limited (429) after retrying{hint}"
    if isinstance(exc, anthropic.APIStatusError):
        kind = exc.type or "error"
        message = exc.api_message or str(exc)
        if exc.status_code == 529:
            return f"the API is overloaded (529 {kind}): {message}; try again shortly"
        return f"API error {exc.status_code} {kind}: {message}"
    if isinstance(exc, anthropic.APITimeoutError):
        return f"the request to {where} timed out"
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f": {cause}" if cause else ""
        return f"cannot reach {where}{detail}"
    import httpx2

    name = type(exc).__name__
    # Raised while reading a stream, these reach us unwrapped by the SDK.
    if isinstance(exc, httpx2.TimeoutException):
        return f"the request to {where} timed out mid-answer ({name}); the answer is incomplete"
    if isinstance(exc, httpx2.TransportError):
        return f"the connection to {where} broke mid-answer ({name}); the answer is incomplete"
    return f"the call failed: {name}: {exc}"


class CallService:
    """Sends calls with the official SDK and logs every one of them."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: Catalog,
        *,
        clock: Callable[[], float] | None = None,
        max_retries: int = 2,
        timeout: float = DEFAULT_TIMEOUT_S,
        sim_rate: float | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.max_retries = max_retries
        self.timeout = timeout
        self.sim_rate = sim_rate
        self._clock = clock
        self._client: AsyncAnthropic | None = None
        self._sim: InProcessSimulator | None = None
        self._counts: dict[tuple[str, str], int] = {}  # (model, prefix hash) -> tokens
        # Why calls are being cancelled ("quit", "SIGTERM"), for their error; set it before
        # cancelling where the cancellation itself cannot carry it (Textual's workers).
        self.interrupt_reason: str | None = None

    @property
    def live(self) -> bool:
        """True when calls go to a real (or user-named) API endpoint."""
        return self.settings.live

    @property
    def base_url(self) -> str | None:
        """Where calls go."""
        if self._sim is not None:
            return self._sim.base_url
        return self.settings.base_url

    def now(self) -> float:
        """The service's clock: offline it follows the simulator's (its hooks move time)."""
        if self._clock is not None:
            return self._clock()
        if self._sim is not None:
            return self._sim.now()
        return wall_clock()

    def start_simulator(self) -> None:
        """Offline: start the in-process simulator now (cheap; no SDK import)."""
        if not self.live and self._sim is None:
            from promptcache_tui.sim.inprocess import InProcessSimulator

            self._sim = InProcessSimulator(self.settings.data_dir, rate=self.sim_rate)
            self._sim.start()

    def client(self) -> AsyncAnthropic:
        """The SDK client, created on first use."""
        if self._client is None:
            self.start_simulator()
            from anthropic import AsyncAnthropic

            if self.live:
                self._client = AsyncAnthropic(
                    api_key=self.settings.api_key,
                    base_url=self.settings.base_url,
                    max_retries=self.max_retries,
                    timeout=self.timeout,
                )
            else:
                assert self._sim is not None
                self._client = AsyncAnthropic(
                    api_key=OFFLINE_KEY,
                    base_url=self._sim.base_url,
                    max_retries=self.max_retries,
                    timeout=self.timeout,
                )
        return self._client

    async def ensure_client(self) -> AsyncAnthropic:
        """The SDK client; the first time, it is created (and primed) in a thread.

        Importing the SDK takes about a second, and its first streamed answer another 70 ms
        of validator building: done on the event loop that would freeze the TUI, so both
        happen in a thread (the app calls this early, as a preload).
        """
        if self._client is None:
            await asyncio.to_thread(self._create_primed_client)
        return self.client()

    def _create_primed_client(self) -> None:
        from promptcache_tui.calls.prime import prime_sdk

        self.client()
        # Only a speed-up: if a new SDK parses differently, the first real call says so.
        with contextlib.suppress(Exception):
            prime_sdk()

    async def counted_prefix_tokens(
        self, ctx: Context, model: str | None = None
    ) -> list[int] | None:
        """Live: each context breakpoint's prefix, counted with count_tokens.

        Counts are cached by (model, prefix hash) for the life of the service. Returns None
        offline (estimates apply) or when counting fails (the caller falls back to estimates).
        """
        if not self.live:
            return None
        model = model or ctx.model
        built = build_request(ctx, prompt=None, model=model)
        own = [bp for bp in built.breakpoints if bp.context_block is not None]
        try:
            client = await self.ensure_client()
            if (model, "") not in self._counts:
                filler = await client.messages.count_tokens(**filler_params(model))
                self._counts[(model, "")] = filler.input_tokens
            for bp in own:
                if (model, bp.prefix_hash) not in self._counts:
                    found = await client.messages.count_tokens(
                        **prefix_params(built.params, bp.block_index)
                    )
                    self._counts[(model, bp.prefix_hash)] = max(
                        0, found.input_tokens - self._counts[(model, "")]
                    )
        except Exception:  # counting is advisory: estimates stand in
            return None
        return [self._counts[(model, bp.prefix_hash)] for bp in own]

    async def close(self) -> None:
        """Close the client and stop the simulator."""
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._sim is not None:
            self._sim.stop()
            self._sim = None

    async def run(
        self,
        ctx: Context,
        prompt: str | None,
        *,
        kind: str,
        history: Sequence[Turn] = (),
        conversation_id: int | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        on_text: TextSink | None = None,
        on_begin: Callable[[CallRecord], object] | None = None,
    ) -> CallRecord:
        """Send one call and log it; return the logged record (status ok, error or interrupted).

        `on_begin(record)` is told of the record once its in-flight row exists.

        `prompt=None` sends a prefill-only warm request. The call's row is written (in
        flight) before the request leaves; if it cannot be, a StoreError is raised and
        nothing is sent. API errors never raise: they come back as a record with
        `status == "error"` and a one-line `error`. A sink raising ReaderGone stops the call
        (`interrupted`). Cancelled (a signal, a quit), the call is settled as `interrupted`
        (or `ok` if its answer had already ended) and the cancellation goes on.
        """
        built = build_request(
            ctx,
            history,
            prompt,
            model=model or ctx.model,
            max_tokens=max_tokens or self.settings.max_tokens,
            cache_conversation=kind == "chat",
        )
        previous = await self._previous_message(ctx, kind, conversation_id)
        client = await self.ensure_client()  # offline, this starts the simulator we follow
        started = self.now()
        before = await self._before(ctx, built, started)
        progress = _Progress()
        record = self._record(ctx, built, kind, conversation_id, prompt, started)
        try:
            await self.store.calls.begin(record)
        except StoreError as exc:
            raise StoreError(f"the call was not sent, as it could not be logged: {exc}") from exc
        if on_begin is not None:
            on_begin(record)
        clock_start = time.perf_counter()

        async def reached_start() -> None:
            # The input side (cache writes and reads) is billed from here on: store it now.
            self._apply(record, built, progress, IN_FLIGHT, None, clock_start, before)
            with contextlib.suppress(StoreError):  # settling writes it again
                await self.store.calls.update(record)

        status, error = "ok", None
        try:
            params = {**built.params, "diagnostics": {"previous_message_id": previous}}
            if prompt is None:
                await self._prefill(client, params, progress)
            else:
                await self._stream(client, params, progress, on_text, clock_start, reached_start)
        except ReaderGone as exc:
            status, error = "interrupted", str(exc) or INTERRUPTED
        except Exception as exc:  # every failure is logged, then reported as one line
            status = "error"
            error = describe_error(exc, base_url=self.base_url, live=self.live)
            progress.request_id = getattr(exc, "request_id", None) or progress.request_id
        except BaseException as exc:  # cancelled (signal, quit) or KeyboardInterrupt
            if not progress.finished:
                status, error = "interrupted", _interruption(exc, self.interrupt_reason)
            self._apply(record, built, progress, status, error, clock_start, before)
            # Shielded: a second cancellation must not lose the settle (close() would
            # settle the row anyway, without the usage that arrived since message_start).
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._settle(record, ctx))
            raise
        self._apply(record, built, progress, status, error, clock_start, before)
        await self._settle(record, ctx)
        return record

    async def _settle(self, record: CallRecord, ctx: Context) -> None:
        try:
            await self.store.calls.settle(record)
        except StoreError as exc:
            # The call happened (and was paid for): say so rather than lose it silently.
            # Its row stays in flight and is settled as interrupted by the next process.
            raise StoreError(f"the call was made but could not be logged: {exc}") from exc
        if ctx.id is not None:
            with contextlib.suppress(StoreError):  # recency only; the call is logged
                await self.store.contexts.touch(ctx.id)

    async def _previous_message(
        self, ctx: Context, kind: str, conversation_id: int | None
    ) -> str | None:
        """The message to diagnose a miss against: the last call of the same thread.

        A chat compares with its conversation's last turn; an ask with the context's last ask,
        a warm-up with its last warm-up. Comparing across kinds would report the other
        thread's messages as "changed" although the context itself was read.
        """
        if kind == "chat":
            if conversation_id is None:
                return None
            return await self.store.calls.last_message_id(conversation_id=conversation_id)
        return await self.store.calls.last_message_id(context=ctx.name, kind=kind)

    async def _before(self, ctx: Context, built: BuiltRequest, now: float) -> _Before:
        """What the log says just before a call: breakpoint states and the previous call."""
        ledger = TTLLedger(lambda: now, resolve=self.catalog.cache_id)
        ledger.record_all(await self.store.calls.cache_events(lookback_hashes(built.blocks)))
        prediction = predict_call(
            ledger, built.model, built.blocks, self.catalog.min_cache_tokens(built.model)
        )
        states = [p.state_before for p in prediction.points]
        previous = None
        if ctx.id is not None:
            latest = await self.store.calls.history(CallFilter(context=ctx.name), limit=1)
            if latest and latest[0].id is not None:
                previous = await self.store.calls.get(latest[0].id)
        return _Before(states=states, previous=previous, prediction=prediction)

    def _inferred_miss(
        self, built: BuiltRequest, record: CallRecord, before: _Before
    ) -> str | None:
        """The app's own reading of a miss, when the API gave no diagnosis."""
        own = [bp for bp in built.breakpoints if bp.context_block is not None]
        prev = before.previous
        return infer_miss_reason(
            cache_read=record.usage.cache_read_input_tokens,
            cache_creation=record.usage.cache_creation_input_tokens,
            prefix_tokens=[bp.prefix_tokens for bp in own],
            states_before=before.states[: len(own)],
            min_tokens=self.catalog.min_cache_tokens(built.model),
            previous_hashes=[b.prefix_hash for b in prev.breakpoints if b.context_block is not None]
            if prev
            else None,
            hashes=[bp.prefix_hash for bp in own],
            previous_model=prev.model if prev else None,
            model=built.model,
            beyond_lookback=before.prediction.beyond_lookback,
        )

    async def _prefill(
        self, client: AsyncAnthropic, params: dict[str, Any], progress: _Progress
    ) -> None:
        import anthropic

        try:
            response = await client.messages.with_raw_response.create(**params)
        except anthropic.BadRequestError as exc:
            # Some endpoints refuse max_tokens 0: fall back to the older 1-token warm-up.
            if "max_tokens" not in str(exc.api_message or ""):
                raise
            response = await client.messages.with_raw_response.create(**{**params, "max_tokens": 1})
        progress.request_id = response.headers.get("request-id")
        progress.take_message(await response.parse())
        progress.started = progress.finished = True

    async def _stream(
        self,
        client: AsyncAnthropic,
        params: dict[str, Any],
        progress: _Progress,
        on_text: TextSink | None,
        clock_start: float,
        reached_start: Callable[[], Awaitable[None]],
    ) -> None:
        async with client.messages.stream(**params) as stream, _unlinked(stream):
            progress.request_id = stream.request_id
            async for event in stream:
                # Compare `event.type` itself (not a copy): mypy narrows the SDK's tagged union.
                if event.type == "message_start":
                    progress.take_message(event.message)
                    progress.started = True
                    await reached_start()
                elif event.type == "message_delta":
                    progress.take_usage(event.usage)
                    progress.stop_reason = event.delta.stop_reason or progress.stop_reason
                elif event.type == "text":
                    if progress.ttft_ms is None:
                        progress.ttft_ms = (time.perf_counter() - clock_start) * 1000
                    progress.text.append(event.text)
                    if on_text is not None:
                        result = on_text(event.text)
                        if inspect.isawaitable(result):
                            await result
            progress.take_message(await stream.get_final_message())
            progress.finished = True

    def _record(
        self,
        ctx: Context,
        built: BuiltRequest,
        kind: str,
        conversation_id: int | None,
        prompt: str | None,
        started: float,
    ) -> CallRecord:
        """The record of a call about to be sent: no usage yet, nothing cached."""
        return CallRecord(
            ts=iso_utc(started),
            kind=kind,
            model=built.model,
            status=IN_FLIGHT,
            context=ctx.name,
            context_id=ctx.id,
            conversation_id=conversation_id,
            prices=prices_for(self.catalog, built.model),
            live=self.live,
            prompt=prompt,
            breakpoints=tuple(
                LoggedBreakpoint(
                    position=bp.position,
                    ttl=bp.ttl,
                    prefix_hash=bp.prefix_hash,
                    prefix_tokens=bp.prefix_tokens,
                    context_block=bp.context_block,
                    cached=False,
                )
                for bp in built.breakpoints
            ),
        )

    def _apply(
        self,
        record: CallRecord,
        built: BuiltRequest,
        progress: _Progress,
        status: str,
        error: str | None,
        clock_start: float,
        before: _Before,
    ) -> None:
        """Bring the record up to what the call has reported so far.

        A breakpoint counts as written or read once the response has begun, whatever
        happens next: the API bills (and keeps) the cache from message_start on. Which
        breakpoints those were follows the caching rules' prediction, checked against the
        usage reported (`core.ttl.settle`).
        """
        usage = progress.to_usage()
        cached = settle(
            before.prediction,
            cache_read=usage.cache_read_input_tokens,
            cache_creation=usage.cache_creation_input_tokens,
            ok=progress.started,
            min_tokens=self.catalog.min_cache_tokens(built.model),
        )
        reason = api_miss_reason(
            progress.miss_reason,
            progress.missed_tokens,
            cache_read=usage.cache_read_input_tokens,
            cache_creation=usage.cache_creation_input_tokens,
        )
        record.status = status
        record.error = redact(error, [self.settings.api_key]) if error else None
        record.usage = usage
        record.ttft_ms = progress.ttft_ms
        record.duration_ms = (time.perf_counter() - clock_start) * 1000
        record.prices = prices_for(self.catalog, built.model, **progress.modes)
        record.cache_miss_reason = reason
        record.cache_missed_input_tokens = progress.missed_tokens if reason else None
        record.request_id = progress.request_id
        record.message_id = progress.message_id
        record.stop_reason = progress.stop_reason
        record.answer = "".join(progress.text) or None
        record.breakpoints = tuple(
            replace(b, cached=flag) for b, flag in zip(record.breakpoints, cached, strict=True)
        )
        if progress.started and record.cache_miss_reason is None:
            record.cache_miss_reason = self._inferred_miss(built, record, before)


@contextlib.asynccontextmanager
async def _unlinked(stream: AsyncMessageStream[Any]) -> AsyncIterator[None]:
    """Close the stream's `text_stream` once done with the stream.

    The SDK (2.15) makes that generator when the stream opens, and it refers to the stream:
    a reference cycle, so a finished stream (its response, and the request with the whole
    conversation as sent) lived until the cyclic collector's next full pass, which the TUI
    keeps rare (`gc.freeze`, a large young generation). A long conversation left ever
    larger request bodies behind it; closing the unstarted generator frees them at once.
    """
    try:
        yield
    finally:
        text = stream.text_stream
        if isinstance(text, AsyncGenerator):  # typed as an iterator: close it only if it can
            await text.aclose()


def _interruption(exc: BaseException, fallback: str | None = None) -> str:
    """The error of a cancelled call: why (a signal's name, "quit") when the canceller said."""
    reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else fallback
    return f"{INTERRUPTED} ({reason})" if reason else INTERRUPTED


def events_of(record: CallRecord) -> list[CacheEvent]:
    """The ledger events a logged call produces."""
    from promptcache_tui.core.records import parse_iso

    ts = parse_iso(record.ts)
    return [
        CacheEvent(ts=ts, model=record.model, prefix_hash=b.prefix_hash, ttl=b.ttl)
        for b in record.breakpoints
        if b.cached
    ]


def feed_ledger(ledger: TTLLedger, record: CallRecord) -> None:
    """Update a live ledger with a call just logged."""
    ledger.record_all(events_of(record))
