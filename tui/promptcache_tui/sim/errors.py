"""API errors in the official shape, raised anywhere in the simulator and rendered by the server."""

from __future__ import annotations

import secrets
import string
from typing import Any

_ALPHABET = string.ascii_letters + string.digits

# Status code of each official error type (platform docs, api/errors).
STATUS_OF_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
TYPE_OF_STATUS = {status: kind for kind, status in STATUS_OF_TYPE.items()}


def new_id(prefix: str) -> str:
    """An id shaped like the API's (`msg_...`, `req_...`): prefix, underscore, 24 base62 chars."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


class ApiError(Exception):
    """An error the simulator answers with, as the real API would."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind or TYPE_OF_STATUS.get(status, "api_error")
        self.message = message
        self.headers = dict(headers or {})

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON error body: `{"type": "error", "error": {...}, "request_id": ...}`."""
        return {
            "type": "error",
            "error": {"type": self.kind, "message": self.message},
            "request_id": request_id,
        }


def invalid(message: str) -> ApiError:
    """A 400 invalid_request_error."""
    return ApiError(400, message)


class SimulatedDrop(Exception):
    """Raised inside a response body to cut the connection short (the `drop_after_events` fault)."""
