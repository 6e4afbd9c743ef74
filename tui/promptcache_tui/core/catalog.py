"""Model catalog: prices, cache minimums and lifecycle dates, loaded from TOML data.

The shipped `catalog.toml` can be overridden or extended by `models.toml` in the data dir.
Nothing model-specific lives in code: an unknown model has unknown prices (None).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from promptcache_tui.core.errors import UserError

USER_CATALOG_NAME = "models.toml"


class CatalogError(UserError, ValueError):
    """A catalog file is malformed; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Multipliers:
    """Cache price multipliers of the base input price."""

    cache_write_5m: float = 1.25
    cache_write_1h: float = 2.0
    cache_read: float = 0.1


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the catalog knows about one model."""

    id: str
    family: str = ""
    aliases: tuple[str, ...] = ()
    input: float | None = None
    output: float | None = None
    min_cache_tokens: int | None = None
    deprecated_on: date | None = None
    retired: bool = False
    source: str = ""
    as_of: str = ""

    @property
    def priced(self) -> bool:
        """True when both input and output prices are known."""
        return self.input is not None and self.output is not None


@dataclass(slots=True)
class Catalog:
    """Models by id and alias, plus the cache price multipliers."""

    models: dict[str, ModelInfo] = field(default_factory=dict)
    multipliers: Multipliers = field(default_factory=Multipliers)
    _by_name: dict[str, ModelInfo] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._reindex()

    def _reindex(self) -> None:
        self._by_name = {}
        for info in self.models.values():
            self._by_name[info.id] = info
            for alias in info.aliases:
                self._by_name.setdefault(alias, info)

    def get(self, model: str) -> ModelInfo | None:
        """The model's entry by id or alias, or None when the catalog does not know it."""
        return self._by_name.get(model)

    def min_cache_tokens(self, model: str) -> int | None:
        """Minimum cacheable prefix for `model`, or None when unknown."""
        info = self.get(model)
        return info.min_cache_tokens if info else None

    def names(self) -> list[str]:
        """Every model id, sorted."""
        return sorted(self.models)


def _parse_date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise CatalogError(f"{where}: deprecated_on must be a date (YYYY-MM-DD)") from exc


# Above this, a "price" is a typo (1e308 made every cost Inf and history JSON invalid): USD
# per million tokens for prices, a factor of the input price for the cache multipliers.
MAX_NUMBER = 10_000.0


def _number(value: Any, where: str, key: str, maximum: float = MAX_NUMBER) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= maximum
    ):
        raise CatalogError(f"{where}: {key} must be a number from 0 to {maximum:g}, not {value!r}")
    return float(value)


def _model_from(model_id: str, raw: Any, base: ModelInfo | None, where: str) -> ModelInfo:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: [models.{model_id}] must be a table")
    merged: dict[str, Any] = {}
    if base is not None:
        merged = {
            "family": base.family,
            "aliases": list(base.aliases),
            "input": base.input,
            "output": base.output,
            "min_cache_tokens": base.min_cache_tokens,
            "deprecated_on": base.deprecated_on,
            "retired": base.retired,
            "source": base.source,
            "as_of": base.as_of,
        }
    merged.update(raw)
    here = f"{where}: models.{model_id}"
    aliases = merged.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise CatalogError(f"{here}: aliases must be a list of strings")
    minimum = merged.get("min_cache_tokens")
    if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int)):
        raise CatalogError(f"{here}: min_cache_tokens must be a whole number")
    return ModelInfo(
        id=model_id,
        family=str(merged.get("family", "")),
        aliases=tuple(aliases),
        input=_number(merged.get("input"), here, "input"),
        output=_number(merged.get("output"), here, "output"),
        min_cache_tokens=minimum,
        deprecated_on=_parse_date(merged.get("deprecated_on"), here),
        retired=bool(merged.get("retired", False)),
        source=str(merged.get("source", "")),
        as_of=str(merged.get("as_of", "")),
    )


def _apply(catalog: Catalog, data: dict[str, Any], where: str) -> None:
    pricing = data.get("pricing", {})
    if not isinstance(pricing, dict):
        raise CatalogError(f"{where}: [pricing] must be a table")
    current = catalog.multipliers
    catalog.multipliers = Multipliers(
        cache_write_5m=_number(
            pricing.get("cache_write_5m", current.cache_write_5m), where, "cache_write_5m"
        )
        or 0.0,
        cache_write_1h=_number(
            pricing.get("cache_write_1h", current.cache_write_1h), where, "cache_write_1h"
        )
        or 0.0,
        cache_read=_number(pricing.get("cache_read", current.cache_read), where, "cache_read")
        or 0.0,
    )
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise CatalogError(f"{where}: [models] must be a table")
    for model_id, raw in models.items():
        base = catalog.models.get(model_id) or catalog.get(model_id)
        catalog.models[model_id if base is None else base.id] = _model_from(
            model_id if base is None else base.id, raw, base, where
        )
    catalog._reindex()


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{where}: not valid TOML ({exc})") from exc


def shipped_catalog_text() -> str:
    """The catalog shipped inside the package."""
    # The file beside this module, when the package is a folder (always, installed by pip):
    # importlib.resources costs more to import than the status line can spend on it.
    beside = Path(__file__).with_name("catalog.toml")
    if beside.is_file():
        return beside.read_text("utf-8")
    from importlib import resources

    return resources.files("promptcache_tui.core").joinpath("catalog.toml").read_text("utf-8")


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """Load the shipped catalog, then apply `models.toml` from `data_dir` if present."""
    catalog = Catalog()
    _apply(catalog, _read_toml(shipped_catalog_text(), "catalog.toml"), "catalog.toml")
    if data_dir is not None:
        user_file = Path(data_dir) / USER_CATALOG_NAME
        if user_file.is_file():
            try:
                text = user_file.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CatalogError(f"{user_file}: cannot read ({exc})") from exc
            _apply(catalog, _read_toml(text, str(user_file)), str(user_file))
    return catalog
