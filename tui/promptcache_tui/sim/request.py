"""Validation of Messages API request bodies, with the API's `field.path: problem` messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptcache_tui.core.catalog import Catalog
from promptcache_tui.sim.errors import ApiError, invalid

# Used for a `claude-*` model the catalog does not know (the most common published minimum).
UNKNOWN_MODEL_MIN_CACHE_TOKENS = 1024
ROLES = ("user", "assistant")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """The model a request names, resolved against the catalog."""

    requested: str  # as sent, echoed back in responses
    id: str  # catalog id (aliases resolved): part of every cache key
    min_cache_tokens: int
    known: bool


def resolve_model(catalog: Catalog, model: Any) -> ResolvedModel:
    """Resolve `model`, or raise 404 not_found_error as the API does for an unknown model.

    Any `claude-*` id is accepted (new models appear before the catalog knows them);
    retired catalog models are refused, as the real API refuses them.
    """
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required")
    info = catalog.get(model)
    if info is not None:
        if info.retired:
            raise ApiError(404, f"model: {model}")
        minimum = info.min_cache_tokens or UNKNOWN_MODEL_MIN_CACHE_TOKENS
        return ResolvedModel(model, info.id, minimum, True)
    if model.startswith("claude-"):
        return ResolvedModel(model, model, UNKNOWN_MODEL_MIN_CACHE_TOKENS, False)
    raise ApiError(404, f"model: {model}")


def _check_blocks(value: Any, where: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise invalid(f"{where}: Input should be a valid list")
    for i, block in enumerate(value):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise invalid(f"{where}.{i}: Input should be an object with a 'type' field")
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise invalid(f"{where}.{i}.text: Field required")


def validate_prompt(body: Any) -> Mapping[str, Any]:
    """Check the prompt fields shared by /v1/messages and /v1/messages/count_tokens."""
    if not isinstance(body, Mapping):
        raise invalid("Request body must be a JSON object")
    messages = body.get("messages")
    if messages is None:
        raise invalid("messages: Field required")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise invalid(f"messages.{i}: Input should be a valid dictionary")
        if message.get("role") not in ROLES:
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise invalid(f"messages.{i}.content: Field required")
        _check_blocks(message["content"], f"messages.{i}.content")
    system = body.get("system")
    if system is not None:
        _check_blocks(system, "system")
    tools = body.get("tools")
    if tools is not None and (
        not isinstance(tools, list) or not all(isinstance(t, Mapping) for t in tools)
    ):
        raise invalid("tools: Input should be a valid list of objects")
    for key in ("cache_control", "diagnostics"):
        value = body.get(key)
        if value is not None and not isinstance(value, Mapping):
            raise invalid(f"{key}: Input should be a valid dictionary")
    previous = (body.get("diagnostics") or {}).get("previous_message_id")
    if previous is not None and not isinstance(previous, str):
        raise invalid("diagnostics.previous_message_id: Input should be a valid string")
    return body


def validate_create(body: Any) -> Mapping[str, Any]:
    """Check a /v1/messages body: the prompt plus max_tokens, stream and stop_sequences."""
    params = validate_prompt(body)
    if "max_tokens" not in params:
        raise invalid("max_tokens: Field required")
    max_tokens = params["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    stream = params.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise invalid("stream: Input should be a valid boolean")
    if max_tokens == 0 and stream:
        # Prefill-only requests (cache pre-warming) exist for non-streaming calls only.
        raise invalid(
            "max_tokens: 0 (prefill only) is not supported with stream: true; "
            "send a non-streaming request"
        )
    stops = params.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops)
    ):
        raise invalid("stop_sequences: Input should be a list of non-empty strings")
    return params
