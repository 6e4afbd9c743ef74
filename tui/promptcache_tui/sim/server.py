"""The simulator's HTTP surface: a Starlette app that speaks the Messages API.

`create_app(data_dir)` serves `/v1/messages` (JSON and SSE), `/v1/messages/count_tokens`,
`/v1/models`, and the test hooks under `/_sim/`. All state lives in the data dir's SQLite
file, so several processes serving the same dir behave as one server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio.to_thread
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
from promptcache_tui.sim.request import validate_create, validate_prompt
from promptcache_tui.sim.state import Fault, SimState

RATE_ENV = "PROMPTCACHE_TUI_SIM_RATE"
PREFILL_RATE_ENV = "PROMPTCACHE_TUI_SIM_PREFILL_RATE"
DEFAULT_RATE = 80.0  # output tokens per second: slow enough to watch, fast enough to use
DEFAULT_PREFILL_RATE = 25_000.0  # uncached prompt tokens per second before the first token
ACCEPTED_VERSIONS = ("2023-01-01", "2023-06-01", "2026-10-21")
MAX_BODY_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit
FAULT_STATUSES = {
    402: ("billing_error", "Your credit balance is too low (simulated)."),
    409: ("conflict_error", "The request conflicts with another one (simulated)."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit (simulated)."),
    500: ("api_error", "Internal server error (simulated)."),
    504: ("timeout_error", "The request timed out (simulated)."),
    529: ("overloaded_error", "Overloaded (simulated)."),
}
_JSON = "application/json"
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
        self.state = SimState.in_dir(Path(data_dir))
        self.catalog = catalog or load_catalog(Path(data_dir))
        self.engine = CacheEngine(self.state, self.catalog, self.now)

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


async def _take_fault(request: Request, *, can_drop: bool) -> Fault | None:
    fault = await anyio.to_thread.run_sync(
        lambda: _sim(request).state.take_fault(can_drop=can_drop)
    )
    if fault is not None and fault.status is not None:
        kind, message = FAULT_STATUSES[fault.status]
        headers = {}
        seconds = fault.retry_after
        if seconds is not None:
            headers["retry-after"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        raise ApiError(fault.status, message, kind=kind, headers=headers)
    return fault


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(
            413,
            f"Request exceeds the maximum size of {MAX_BODY_BYTES} bytes.",
            kind="request_too_large",
        )
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid("Request body is not valid JSON") from None


def _message(prepared: Prepared, message_id: str, generation: Generation | None) -> dict[str, Any]:
    """A `message` object; `generation` None is the message_start snapshot."""
    content: list[dict[str, Any]] = []
    if generation is not None and generation.deltas:
        content = [{"type": "text", "text": generation.text}]
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


async def _events(
    sim: Simulator,
    prepared: Prepared,
    message_id: str,
    generation: Generation,
    drop_after: int | None,
) -> AsyncIterator[bytes]:
    """The SSE body: message_start, one text block, message_delta, message_stop."""
    await asyncio.sleep(sim.prefill_seconds(prepared))
    # The response has started: from now on other requests can read what this one wrote.
    await anyio.to_thread.run_sync(lambda: sim.engine.commit(prepared, message_id))
    events: list[tuple[str, dict[str, Any], int]] = [
        (
            "message_start",
            {"type": "message_start", "message": _message(prepared, message_id, None)},
            0,
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            0,
        ),
        ("ping", {"type": "ping"}, 0),
    ]
    for text, tokens in generation.deltas:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
                tokens,
            )
        )
    usage = prepared.usage
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}, 0),
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
    loop = asyncio.get_running_loop()
    started, emitted = loop.time(), 0
    for sent, (name, data, tokens) in enumerate(events):
        if drop_after is not None and sent >= drop_after:
            raise SimulatedDrop(f"stream cut after {sent} events by a drop_after_events fault")
        if tokens and sim.rate:
            # Pace against the start, not the previous event, so the rate stays steady.
            delay = started + emitted / sim.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            emitted += tokens
        yield sse(name, data)


async def create_message(request: Request) -> Response:
    """POST /v1/messages."""
    _gate(request)
    sim = _sim(request)
    fault = await _take_fault(request, can_drop=True)
    params = validate_create(await _json_body(request))

    def work() -> tuple[Prepared, Generation]:
        # Both scan the whole prompt: keep them off the event loop.
        betas = request.headers.get("anthropic-beta")
        return sim.engine.prepare(params, betas=betas), generate(params, params["max_tokens"])

    prepared, generation = await anyio.to_thread.run_sync(work)
    message_id = new_id("msg")
    drop_after = fault.drop_after_events if fault is not None else None
    headers = {"request-id": request.state.request_id}
    if params.get("stream"):
        return StreamingResponse(
            _events(sim, prepared, message_id, generation, drop_after),
            media_type="text/event-stream",
            headers={**headers, "cache-control": "no-cache"},
        )
    await asyncio.sleep(sim.prefill_seconds(prepared))
    await anyio.to_thread.run_sync(lambda: sim.engine.commit(prepared, message_id))
    if sim.rate and generation.output_tokens:
        await asyncio.sleep(generation.output_tokens / sim.rate)
    body = _message(prepared, message_id, generation)
    if drop_after is not None:
        return _CutResponse(json.dumps(body).encode(), headers=headers)
    return JSONResponse(body, headers=headers)


async def count_tokens(request: Request) -> Response:
    """POST /v1/messages/count_tokens: the estimate; never reads or writes the cache."""
    _gate(request)
    sim = _sim(request)
    await _take_fault(request, can_drop=False)
    params = validate_prompt(await _json_body(request))
    tokens = await anyio.to_thread.run_sync(lambda: sim.engine.count_tokens(params))
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


def _number(
    body: Mapping[str, Any],
    key: str,
    *,
    default: float | None = None,
    whole: bool = False,
    minimum: float = 0,
) -> float:
    value = body.get(key, default)
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    )
    if number is None or number < minimum or (whole and not number.is_integer()):
        kind = "a whole number" if whole else "a number"
        raise invalid(f"{key}: Input should be {kind} >= {minimum:g}")
    return number


async def sim_advance(request: Request) -> Response:
    """POST /_sim/advance {"seconds": N}: move the simulated clock forward."""
    sim = _sim(request)
    body = await _json_body(request)
    if not isinstance(body, Mapping):
        raise invalid("Request body must be a JSON object")
    seconds = _number(body, "seconds")
    offset = await anyio.to_thread.run_sync(lambda: sim.state.advance(seconds))
    return JSONResponse({"offset": offset, "clock": sim.now()})


async def sim_faults(request: Request) -> Response:
    """/_sim/faults: POST queues a fault, GET lists them, DELETE clears them."""
    sim = _sim(request)
    if request.method == "DELETE":
        await anyio.to_thread.run_sync(sim.state.clear_faults)
    elif request.method == "POST":
        body = await _json_body(request)
        if not isinstance(body, Mapping):
            raise invalid("Request body must be a JSON object")
        count = int(_number(body, "count", default=1, whole=True, minimum=1))
        if "drop_after_events" in body:
            events = int(_number(body, "drop_after_events", whole=True))
            await anyio.to_thread.run_sync(
                lambda: sim.state.add_fault(count=count, drop_after_events=events)
            )
        else:
            status = body.get("status")
            if status not in FAULT_STATUSES:
                codes = ", ".join(str(c) for c in FAULT_STATUSES)
                raise invalid(f"status: Input should be one of {codes} (or send drop_after_events)")
            code = int(status)
            # A 429 always says when to retry (0 by default); others only when asked to.
            has_retry = code == 429 or "retry_after" in body
            retry = _number(body, "retry_after", default=0) if has_retry else None
            await anyio.to_thread.run_sync(
                lambda: sim.state.add_fault(count=count, status=code, retry_after=retry)
            )
    pending = await anyio.to_thread.run_sync(sim.state.pending_faults)
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

    return JSONResponse(await anyio.to_thread.run_sync(read))


async def sim_reset(request: Request) -> Response:
    """POST /_sim/reset: forget every entry, fingerprint and fault; clock offset back to 0."""
    sim = _sim(request)
    await anyio.to_thread.run_sync(sim.state.reset)
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
    # A bug in the simulator still answers in the API's shape, as a 500 api_error.
    if not isinstance(exc, SimulatedDrop):  # a drop is wanted; its response has started
        _log.error("simulator error", exc_info=exc)
    return _error_response(request, ApiError(500, f"Internal server error: {exc}"))


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
) -> Starlette:
    """The simulator as an ASGI app, its state in `data_dir`.

    `clock`: seconds since the epoch (default `time.time`); the `/_sim/advance` offset is
    added to it. `rate`: output tokens per second, default env `PROMPTCACHE_TUI_SIM_RATE`
    or 80; 0 turns pacing off. `prefill_rate`: uncached prompt tokens per second before the
    first token, default env `PROMPTCACHE_TUI_SIM_PREFILL_RATE`, or 25000 (0 when `rate`
    is 0). Raises ValueError for a bad rate and `StateError` for an unusable state file.
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
    app.add_middleware(_RequestId)
    return app
