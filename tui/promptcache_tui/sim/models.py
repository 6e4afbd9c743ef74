"""Which model ids exist, on the simulator's clock: one rule for every endpoint.

`POST /v1/messages`, `GET /v1/models` and `GET /v1/models/{id}` all ask this directory, so
they agree:

- a catalog model (id or alias) exists until the day it retires (`retires_on`, UTC, on the
  simulated clock) or for ever unless marked `retired`;
- any other `claude-*` id exists too: a model newer than the catalog (it caches from
  `UNKNOWN_MODEL_MIN_CACHE_TOKENS`, its context window is unknown, so never enforced);
- everything else (retired models, ids that are not Claude's) is a 404 `not_found_error`
  on all three, as the API answers a retired model.

`GET /v1/models` lists the catalog's existing models: it cannot list ids it never heard of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from promptcache_tui.core.catalog import Catalog, ModelInfo
from promptcache_tui.sim.errors import ApiError, invalid

# Used for a `claude-*` model the catalog does not know (the most common published minimum).
UNKNOWN_MODEL_MIN_CACHE_TOKENS = 1024
_EPOCH = "1970-01-01T00:00:00Z"  # the catalog has no release dates


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """The model a request names, resolved against the catalog."""

    requested: str  # as sent, echoed back in responses
    id: str  # catalog id (aliases resolved): part of every cache key
    min_cache_tokens: int
    known: bool
    info: ModelInfo | None = None

    @property
    def context_window(self) -> int | None:
        """The most prompt tokens a request may have, None when unknown."""
        return self.info.context_window if self.info else None


def _midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


class ModelDirectory:
    """The catalog seen through the simulated clock."""

    def __init__(self, catalog: Catalog, clock: Callable[[], float]) -> None:
        self.catalog = catalog
        self.clock = clock

    def today(self) -> date:
        """The simulated day, in UTC (retirement dates are UTC days)."""
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def _not_found(self, model: str) -> ApiError:
        return ApiError(404, f"model: {model}")

    def resolve(self, model: Any) -> ResolvedModel:
        """The model of a request, or 400 (missing) / 404 (retired, not a Claude id)."""
        if not isinstance(model, str) or not model:
            raise invalid("model: Field required")
        info = self.catalog.get(model)
        if info is not None:
            if self.catalog.lifecycle(model, self.today()).state == "retired":
                raise self._not_found(model)
            minimum = info.min_cache_tokens or UNKNOWN_MODEL_MIN_CACHE_TOKENS
            return ResolvedModel(model, info.id, minimum, True, info)
        if model.startswith("claude-"):
            return ResolvedModel(model, model, UNKNOWN_MODEL_MIN_CACHE_TOKENS, False)
        raise self._not_found(model)

    def listed(self) -> list[ModelInfo]:
        """The catalog's models that exist today, in catalog order (newest first)."""
        today = self.today()
        return [
            info
            for info in self.catalog.models.values()
            if self.catalog.lifecycle(info.id, today).state != "retired"
        ]

    def retrieve(self, model_id: str) -> dict[str, Any]:
        """`GET /v1/models/{id}`: the model object of any id `resolve` accepts."""
        resolved = self.resolve(model_id)
        if resolved.info is None:
            return {
                "type": "model",
                "id": model_id,
                "display_name": model_id,
                "created_at": _EPOCH,
                "lifecycle": "active",
                "deprecated_at": None,
                "retires_at": None,
                "line": None,
                "max_input_tokens": None,
                "max_tokens": None,
            }
        return self.model_object(resolved.info)

    def model_object(self, info: ModelInfo) -> dict[str, Any]:
        """A catalog model in the API's `model` shape."""
        retires = info.retires_on
        return {
            "type": "model",
            "id": info.id,
            "display_name": f"Claude {info.family}" if info.family else info.id,
            "created_at": _EPOCH,
            # A scheduled retirement makes a model deprecated: callable, headed for retirement.
            "lifecycle": "deprecated" if retires else "active",
            "deprecated_at": None,  # the catalog records retirements, not announcements
            "retires_at": _midnight(retires) if retires else None,
            "line": info.line,
            "max_input_tokens": info.context_window,
            "max_tokens": None,
        }
