"""The simulator's HTTP surface: a Starlette app that speaks the Messages API.

`create_app(data_dir)` serves `/v1/messages` (JSON and SSE), `/v1/messages/count_tokens`,
`/v1/models`, and the test hooks under `/_sim/`. All state lives in the data dir's SQLite
file, so several processes serving the same dir behave as one server.

The event loop only moves bytes. Everything else a request needs (parsing, validation,
the caching engine, the answer, the state database) runs on one worker thread per app,
in arrival order (`Simulator.run`): the work is bound by the GIL anyway, and threads
taking turns on it made every request slower and let some wait for many others (with 8
clients, some saw 25 others finish before them). One thread also means one connection
to the state file, so requests of one process never wait on each other's SQLite locks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from promptcache_tui.core.catalog import Catalog, load_catalog
from promptcache_tui.sim.answers import Generation, generate
from promptcache_tui.sim.engine import CacheEngine, Prepared
from promptcache_tui.sim.errors import ApiError, SimulatedDrop, invalid, new_id
from promptcache_tui.sim.guard import LocalOnly
from promptcache_tui.sim.request import (
    check_model_rules,
    finite_json_constant,
    finite_json_float,
    is_finite_number,
    keeps_all_thinking,
    nesting_depth,
    traits_of,
    validate_create,
    validate_prompt,
    without_earlier_thinking,
)
from promptcache_tui.sim.state import Fault, SimState

RATE_ENV = "PROMPTCACHE_TUI_SIM_RATE"
PREFILL_RATE_ENV = "PROMPTCACHE_TUI_SIM_PREFILL_RATE"
DEFAULT_RATE = 80.0  # output tokens per second: slow enough to watch, fast enough to use
DEFAULT_PREFILL_RATE = 25_000.0  # uncached prompt tokens per second before the first token
ACCEPTED_VERSIONS = ("2023-01-01", "2023-06-01", "2026-10-21")
MAX_BODY_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit
MAX_JSON_DEPTH = 128  # deeper bodies are refused before anything walks them
FAULT_STATUSES = {
    402: ("billing_error", "Your credit balance is too low (simulated)."),
    409: ("conflict_error", "The request conflicts with another one (simulated)."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit (simulated)."),
    500: ("api_error", "Internal server error (simulated)."),
    504: ("timeout_error", "The request timed out (simulated)."),
    529: ("overloaded_error", "Overloaded (simulated)."),
}
STREAM_ERROR_STATUSES = (500, 529)  # what an `event: error` mid-stream may carry
# Bounds of the test hooks' numbers: past them a value is a mistake, not a test.
MAX_ADVANCE_S = 10 * 366 * 86400  # ten years per jump
MAX_FAULT_COUNT = 10_000
MAX_FAULT_EVENTS = 100_000
MAX_RETRY_AFTER_S = 86_400
# Unpaced stream events due at once go out together, up to this many bytes per write.
MAX_COALESCED_BYTES = 64 * 1024
_JSON = "application/json"
_T = TypeVar("_T")
_log = logging.getLogger("promptcache_tui.sim")
_log.addHandler(logging.NullHandler())  # an embedding app decides where logs go


def _rate_from(value: float | None, env: str, default: float) -> float:
    if value is None:
        raw = os.environ.get(env, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{env} must be a number of tokens per second, got {raw!r}") from None
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{env} must be >= 0 (0 turns pacing off), got {value}")
    return float(value)


class _DropFilter(logging.Filter):
    """Keeps uvicorn from logging a traceback for a deliberately dropped connection."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while isinstance(error, BaseExceptionGroup) and error.exceptions:
            error = error.exceptions[0]
        return not isinstance(error, SimulatedDrop)


def _install_drop_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


def sse(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event, as the API frames it."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class _CutResponse(Response):
    """A JSON response whose body stops halfway: the client sees a broken transfer."""

    media_type = _JSON

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        raise SimulatedDrop("non-streaming response cut by a drop_after_events fault")


class LoopPace:
    """The pace of answers in real time: the event loop's clock and sleep.

    Pacing is the one place the simulator waits; a test swaps this for a virtual pace and
    checks the schedule itself (`Simulator.pace`), not how long a loaded machine took.
    """

    def now(self) -> float:
        """Monotonic seconds (the running loop's clock)."""
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (none when zero or less)."""
        await asyncio.sleep(max(seconds, 0.0))


class Simulator:
    """Everything one app instance shares: state, engine, clock and pacing."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Callable[[], float] | None = None,
        rate: float | None = None,
        prefill_rate: float | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.rate = _rate_from(rate, RATE_ENV, DEFAULT_RATE)
        # No output pacing means tests: no prefill delay either, unless asked for.
        default_prefill = DEFAULT_PREFILL_RATE if self.rate else 0.0
        self.prefill_rate = _rate_from(prefill_rate, PREFILL_RATE_ENV, default_prefill)
        self.base_clock = clock or time.time
        self.pace = LoopPace()  # when prefill ends and each output token goes out
        self.state = SimState.in_dir(Path(data_dir))
        self.catalog = catalog or load_catalog(Path(data_dir))
        self.engine = CacheEngine(self.state, self.catalog, self.now)
        self._worker: ThreadPoolExecutor | None = None
        self._worker_lock = threading.Lock()

    async def run(self, work: Callable[[], _T]) -> _T:
        """Run `work` on the simulator's worker thread, after the work queued before it."""
        with self._worker_lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="promptcache-sim-work")
            worker = self._worker
        return await asyncio.get_running_loop().run_in_executor(worker, work)

    def close(self) -> None:
        """Finish the queued work, stop the worker, close the state file (reopened on use)."""
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True)
        self.state.close()

    def now(self) -> float:
        """Simulated time: the base clock plus the persisted offset."""
        return self.base_clock() + self.state.offset()

    def prefill_seconds(self, prepared: Prepared) -> float:
        """Simulated time to first token: only uncached prompt tokens cost time."""
        if not self.prefill_rate:
            return 0.0
        usage = prepared.usage
        return (usage.input_tokens + usage.cache_creation_input_tokens) / self.prefill_rate


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


def _gate(request: Request) -> None:
    """Authentication and version checks, in the API's order."""
    key = request.headers.get("x-api-key", "").strip()
    bearer = request.headers.get("authorization", "")
    if not key and not (bearer.lower().startswith("bearer ") and bearer[7:].strip()):
        raise ApiError(401, "x-api-key header is required")
    version = request.headers.get("anthropic-version")
    if version is None:
        raise invalid("anthropic-version: header is required")
    if version not in ACCEPTED_VERSIONS:
        raise invalid(
            f"anthropic-version: unsupported version '{version}'; "
            f"use one of {', '.join(ACCEPTED_VERSIONS)}"
        )


def _raise_status(fault: Fault) -> None:
    assert fault.status is not None
    kind, message = FAULT_STATUSES[fault.status]
    headers = {}
    seconds = fault.retry_after
    if seconds is not None:
        headers["retry-after"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
    raise ApiError(fault.status, message, kind=kind, headers=headers)


async def _take_fault(request: Request, *, can_drop: bool) -> Fault | None:
    """The next fault for this request; a status fault is raised here.

    Stream faults (a dropped connection, or an `event: error` after K events) are returned
    for the response to apply; they only apply to requests with a body to cut (`can_drop`).
    """
    sim = _sim(request)
    if not sim.state.any_fault():  # nearly always: a read, which never waits on writers
        return None
    fault = await sim.run(lambda: sim.state.take_fault(can_drop=can_drop))
    if fault is not None and fault.status is not None and fault.drop_after_events is None:
        _raise_status(fault)
    return fault


def _is_json(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == _JSON or (media.startswith("application/") and media.endswith("+json"))


async def _raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    too_large = ApiError(
        413,
        f"Request exceeds the maximum size of {MAX_BODY_BYTES} bytes.",
        kind="request_too_large",
    )
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():  # never more than the limit in memory
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request, *, empty: Any = ...) -> Any:
    """The request's JSON body: refused unless it is JSON, finite, and not nested too deep.

    A browser can send a cross-site `text/plain` POST without asking first: only
    `application/json` bodies are read. `empty` is what an empty body means (default: refused).
    """
    return _parse_json(await _json_bytes(request), empty=empty)


async def _json_bytes(request: Request) -> bytes:
    """The raw body of a JSON request (`_json_body` without the parsing)."""
    if not _is_json(request):
        raise invalid("content-type: must be application/json")
    return await _raw_body(request)


def _parse_json(raw: bytes, *, empty: Any = ...) -> Any:
    """`_json_body`'s parsing and checks, for the worker thread."""
    if not raw.strip() and empty is not ...:
        return empty
    try:
        value = json.loads(raw, parse_constant=finite_json_constant, parse_float=finite_json_float)
    except RecursionError:
        value = _TOO_DEEP
    except ValueError:
        raise invalid("Request body is not valid JSON") from None
    if value is _TOO_DEEP or nesting_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise invalid(f"Request body is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


_TOO_DEEP = object()


def _message(prepared: Prepared, message_id: str, generation: Generation | None) -> dict[str, Any]:
    """A `message` object; `generation` None is the message_start snapshot."""
    content = [b.content() for b in generation.blocks] if generation is not None else []
    message = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": prepared.model.requested,
        "content": content,
        "stop_reason": generation.stop_reason if generation else None,
        "stop_sequence": generation.stop_sequence if generation else None,
        "usage": prepared.usage.as_dict(generation.output_tokens if generation else 0),
    }
    if prepared.diagnostics_asked:  # absent from a response that did not ask for it
        message["diagnostics"] = prepared.diagnostics
    return message


def _stream_error(status: int) -> bytes:
    kind, message = FAULT_STATUSES[status]
    return sse("error", {"type": "error", "error": {"type": kind, "message": message}})


def _frames(prepared: Prepared, message_id: str, generation: Generation) -> list[tuple[bytes, int]]:
    """The SSE body as framed events, each with the output tokens it carries (for pacing):
    message_start, each block (start, deltas, stop), message_delta, message_stop."""
    events: list[tuple[str, dict[str, Any], int]] = [
        (
            "message_start",
            {"type": "message_start", "message": _message(prepared, message_id, None)},
            0,
        ),
    ]
    for index, block in enumerate(generation.blocks):
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block.start()},
                0,
            )
        )
        if index == 0:
            events.append(("ping", {"type": "ping"}, 0))
        for piece, tokens in block.deltas:
            delta = {"type": "content_block_delta", "index": index, "delta": block.delta(piece)}
            events.append(("content_block_delta", delta, tokens))
        if block.type == "thinking":
            # The signature closes a thinking block, as on the API.
            signature = {"type": "signature_delta", "signature": block.signature}
            delta = {"type": "content_block_delta", "index": index, "delta": signature}
            events.append(("content_block_delta", delta, 0))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}, 0))
    usage = prepared.usage
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": generation.stop_reason,
                    "stop_sequence": generation.stop_sequence,
                },
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                    "cache_read_input_tokens": usage.cache_read_input_tokens,
                    "output_tokens": generation.output_tokens,
                },
            },
            0,
        ),
        ("message_stop", {"type": "message_stop"}, 0),
    ]
    return [(sse(name, data), tokens) for name, data, tokens in events]


async def _events(
    sim: Simulator,
    prepared: Prepared,
    message_id: str,
    generation: Generation,
    fault: Fault | None,
) -> AsyncIterator[bytes]:
    """The SSE body, paced at `sim.rate`; events due at the same moment go out together."""
    await sim.pace.sleep(sim.prefill_seconds(prepared))

    def started() -> list[tuple[bytes, int]]:
        # The response has started: from now on other requests can read what this one wrote.
        sim.engine.commit(prepared, message_id)
        return _frames(prepared, message_id, generation)

    frames = await sim.run(started)
    cut_after = fault.drop_after_events if fault is not None else None
    pace = sim.pace
    begun, emitted = pace.now(), 0
    due: list[bytes] = []  # framed events not sent yet
    size = 0
    for sent, (frame, tokens) in enumerate(frames):
        if fault is not None and cut_after is not None and sent >= cut_after:
            if fault.status is None:
                if due:
                    yield b"".join(due)
                raise SimulatedDrop(f"stream cut after {sent} events by a drop_after_events fault")
            # The API ends the stream after an error event.
            yield b"".join([*due, _stream_error(fault.status)])
            return
        if tokens and sim.rate:
            # Pace against the start, not the previous event, so the rate stays steady.
            delay = begun + emitted / sim.rate - pace.now()
            if delay > 0:
                if due:
                    yield b"".join(due)
                    due, size = [], 0
                await pace.sleep(delay)
            emitted += tokens
        due.append(frame)
        size += len(frame)
        if size >= MAX_COALESCED_BYTES:
            yield b"".join(due)
            due, size = [], 0
    if due:
        yield b"".join(due)


def _model_checked(sim: Simulator, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model's own rules, then the prompt as that model sees it (earlier thinking gone)."""
    resolved = sim.engine.models.resolve(params.get("model"))  # a 404 comes first
    traits = traits_of(resolved.info)
    check_model_rules(params, resolved.requested, traits)
    if traits.keeps_thinking or keeps_all_thinking(params):
        return params
    return without_earlier_thinking(params)


async def create_message(request: Request) -> Response:
    """POST /v1/messages."""
    _gate(request)
    sim = _sim(request)
    fault = await _take_fault(request, can_drop=True)
    raw = await _json_bytes(request)
    betas = request.headers.get("anthropic-beta")

    def start() -> tuple[Mapping[str, Any], Prepared, Generation]:
        params = validate_create(_parse_json(raw))
        if fault is not None and fault.status is not None and not params.get("stream"):
            # A mid-stream error fault meets a JSON request: it fails before it starts.
            _raise_status(fault)
        seen = _model_checked(sim, params)
        prepared = sim.engine.prepare(seen, betas=betas)
        return params, prepared, generate(seen, params["max_tokens"], model=prepared.model.id)

    params, prepared, generation = await sim.run(start)
    message_id = new_id("msg")
    headers = {"request-id": request.state.request_id}
    if params.get("stream"):
        return StreamingResponse(
            _events(sim, prepared, message_id, generation, fault),
            media_type="text/event-stream",
            headers={**headers, "cache-control": "no-cache"},
        )
    await sim.pace.sleep(sim.prefill_seconds(prepared))
    await sim.run(lambda: sim.engine.commit(prepared, message_id))
    if sim.rate and generation.output_tokens:
        await sim.pace.sleep(generation.output_tokens / sim.rate)
    body = _message(prepared, message_id, generation)
    if fault is not None and fault.drop_after_events is not None:
        return _CutResponse(json.dumps(body).encode(), headers=headers)
    return JSONResponse(body, headers=headers)


async def count_tokens(request: Request) -> Response:
    """POST /v1/messages/count_tokens: the estimate; never reads or writes the cache."""
    _gate(request)
    sim = _sim(request)
    await _take_fault(request, can_drop=False)
    raw = await _json_bytes(request)
    tokens = await sim.run(
        lambda: sim.engine.count_tokens(_model_checked(sim, validate_prompt(_parse_json(raw))))
    )
    return JSONResponse({"input_tokens": tokens}, headers={"request-id": request.state.request_id})


async def list_models(request: Request) -> Response:
    """GET /v1/models: the catalog's models that exist today (sim/models.py), listed."""
    _gate(request)
    sim = _sim(request)
    await _take_fault(request, can_drop=False)
    ids = [m.id for m in sim.engine.models.listed()]
    try:
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        raise invalid("limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise invalid("limit: Input should be between 1 and 1000")
    after, before = request.query_params.get("after_id"), request.query_params.get("before_id")
    if after in ids:
        ids = ids[ids.index(after) + 1 :]
    if before in ids:
        ids = ids[: ids.index(before)]
        page, has_more = ids[-limit:], len(ids) > limit
    else:
        page, has_more = ids[:limit], len(ids) > limit
    data = [sim.engine.models.model_object(sim.catalog.models[m]) for m in page]
    return JSONResponse(
        {
            "data": data,
            "has_more": has_more,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        },
        headers={"request-id": request.state.request_id},
    )


async def get_model(request: Request) -> Response:
    """GET /v1/models/{model_id}: any id a create accepts (sim/models.py)."""
    _gate(request)
    sim = _sim(request)
    await _take_fault(request, can_drop=False)
    found = sim.engine.models.retrieve(request.path_params["model_id"])
    return JSONResponse(found, headers={"request-id": request.state.request_id})


# -- test hooks ------------------------------------------------------------------------


def _hook_body(body: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise invalid("Request body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise invalid(f"{key}: Extra inputs are not permitted")
    return body


def _number(
    body: Mapping[str, Any],
    key: str,
    *,
    default: float | None = None,
    whole: bool = False,
    minimum: float = 0,
    maximum: float,
) -> float:
    """A finite number within [minimum, maximum] (whole if asked), or a 400 naming the key."""
    value = body.get(key, default)
    ok = is_finite_number(value) and minimum <= value <= maximum
    if not ok or (whole and not float(value).is_integer()):
        kind = "a whole number" if whole else "a number"
        raise invalid(f"{key}: Input should be {kind} from {minimum:g} to {maximum:g}")
    return float(value)


async def sim_advance(request: Request) -> Response:
    """POST /_sim/advance {"seconds": N}: move the simulated clock forward."""
    sim = _sim(request)
    body = _hook_body(await _json_body(request), frozenset({"seconds"}))
    seconds = _number(body, "seconds", maximum=MAX_ADVANCE_S)
    offset = await sim.run(lambda: sim.state.advance(seconds))
    return JSONResponse({"offset": offset, "clock": sim.now()})


_FAULT_KEYS = frozenset(
    {"status", "count", "retry_after", "drop_after_events", "error_after_events"}
)


async def sim_faults(request: Request) -> Response:
    """/_sim/faults: POST queues a fault, GET lists them, DELETE clears them."""
    sim = _sim(request)
    if request.method == "DELETE":
        await sim.run(sim.state.clear_faults)
    elif request.method == "POST":
        body = _hook_body(await _json_body(request), _FAULT_KEYS)
        count = int(
            _number(body, "count", default=1, whole=True, minimum=1, maximum=MAX_FAULT_COUNT)
        )
        stream_keys = [k for k in ("drop_after_events", "error_after_events") if k in body]
        if len(stream_keys) > 1:
            raise invalid("send either drop_after_events or error_after_events, not both")
        if stream_keys:
            key = stream_keys[0]
            events = int(_number(body, key, whole=True, maximum=MAX_FAULT_EVENTS))
            status = None
            if key == "error_after_events":
                status = body.get("status", 529)
                if status not in STREAM_ERROR_STATUSES or isinstance(status, bool):
                    raise invalid("status: an error mid-stream is 529 (overloaded) or 500")
            elif "status" in body or "retry_after" in body:
                raise invalid("drop_after_events takes no status or retry_after")
            await sim.run(
                lambda: sim.state.add_fault(count=count, status=status, drop_after_events=events)
            )
        else:
            status = body.get("status")
            if status not in FAULT_STATUSES or isinstance(status, bool):
                codes = ", ".join(str(c) for c in FAULT_STATUSES)
                raise invalid(
                    f"status: Input should be one of {codes} (or send drop_after_events or "
                    "error_after_events instead)"
                )
            code = int(status)
            # A 429 always says when to retry (0 by default); others only when asked to.
            has_retry = code == 429 or "retry_after" in body
            retry = (
                _number(body, "retry_after", default=0, maximum=MAX_RETRY_AFTER_S)
                if has_retry
                else None
            )
            await sim.run(lambda: sim.state.add_fault(count=count, status=code, retry_after=retry))
    pending = await sim.run(sim.state.pending_faults)
    return JSONResponse({"pending": [f.to_dict() for f in pending]})


async def sim_state(request: Request) -> Response:
    """GET /_sim/state: simulated clock, live entries, pending faults, pacing."""
    sim = _sim(request)

    def read() -> dict[str, Any]:
        now = sim.now()
        return {
            "clock": now,
            "offset": sim.state.offset(),
            "live_entries": sim.state.live_entries(now),
            "pending_faults": [f.to_dict() for f in sim.state.pending_faults()],
            "rate": sim.rate,
            "prefill_rate": sim.prefill_rate,
            "state_file": str(sim.state.path),
        }

    return JSONResponse(await sim.run(read))


async def sim_reset(request: Request) -> Response:
    """POST /_sim/reset: forget every entry, fingerprint and fault; clock offset back to 0."""
    sim = _sim(request)
    _hook_body(await _json_body(request, empty={}), frozenset())
    await sim.run(sim.state.reset)
    return JSONResponse({"ok": True})


# -- errors ----------------------------------------------------------------------------


def _error_response(request: Request, error: ApiError) -> Response:
    request_id = getattr(request.state, "request_id", None) or new_id("req")
    return JSONResponse(
        error.body(request_id),
        status_code=error.status,
        headers={**error.headers, "request-id": request_id},
    )


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(request, exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = {404: "not_found_error", 405: "invalid_request_error"}.get(exc.status_code)
    message = "Not Found" if exc.status_code == 404 else str(exc.detail)
    return _error_response(request, ApiError(exc.status_code, message, kind=kind))


async def _on_crash(request: Request, exc: Exception) -> Response:
    # A bug in the simulator still answers in the API's shape, as a 500 api_error; the
    # details go to the log only, never to the client.
    if not isinstance(exc, SimulatedDrop):  # a drop is wanted; its response has started
        _log.error("simulator error", exc_info=exc)
    return _error_response(request, ApiError(500, "Internal server error"))


class _RequestId:
    """Gives every request an id before routing, for the `request-id` header and error bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["request_id"] = new_id("req")
        await self.app(scope, receive, send)


def create_app(
    data_dir: Path,
    *,
    clock: Callable[[], float] | None = None,
    rate: float | None = None,
    prefill_rate: float | None = None,
    catalog: Catalog | None = None,
    allow_remote: bool = False,
) -> Starlette:
    """The simulator as an ASGI app, its state in `data_dir`.

    `clock`: seconds since the epoch (default `time.time`); the `/_sim/advance` offset is
    added to it. `rate`: output tokens per second, default env `PROMPTCACHE_TUI_SIM_RATE`
    or 80; 0 turns pacing off. `prefill_rate`: uncached prompt tokens per second before the
    first token, default env `PROMPTCACHE_TUI_SIM_PREFILL_RATE`, or 25000 (0 when `rate`
    is 0). `allow_remote`: accept any `Host` header (default: loopback names only, against
    DNS rebinding); requests from web pages (a non-loopback `Origin`) are refused either way.
    Raises ValueError for a bad rate and `StateError` for an unusable state file.
    """
    _install_drop_filter()
    sim = Simulator(data_dir, clock=clock, rate=rate, prefill_rate=prefill_rate, catalog=catalog)
    routes = [
        Route("/v1/messages", create_message, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        Route("/_sim/advance", sim_advance, methods=["POST"]),
        Route("/_sim/faults", sim_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/state", sim_state, methods=["GET"]),
        Route("/_sim/reset", sim_reset, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _on_api_error,
            HTTPException: _on_http_error,
            Exception: _on_crash,
        },
    )
    app.state.sim = sim
    app.add_middleware(LocalOnly, allow_remote=allow_remote)
    app.add_middleware(_RequestId)
    return app
