"""Model catalog: prices, cache rules, windows, capabilities and lifecycle, loaded from TOML.

The shipped `catalog.toml` can be overridden or extended by `models.toml` in the data dir.
Nothing model-specific lives in code: what the catalog does not say is unknown (None), and
an unknown price gives an unknown cost, never a guess.

Cache prices: the `[pricing]` multipliers are only the default. A model may state its own
5m-write, 1h-write and read prices in USD (`write_5m`, `write_1h`, `read`); they are kept
as multipliers of that model's input price, so a user who changes only `input` keeps the
model's cache ratios, and the prices stored with each call stay exact.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from promptcache_tui.core.errors import UserError

USER_CATALOG_NAME = "models.toml"
THINKING_TYPES = ("enabled", "adaptive")
LifecycleState = Literal["active", "retiring", "retired", "unknown"]


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
    """What the catalog knows about one model (None: the catalog does not know)."""

    id: str
    family: str = ""
    line: str | None = None  # opus, sonnet, haiku, fable, mythos
    aliases: tuple[str, ...] = ()  # other ids of the very same model (same cache)
    input: float | None = None  # USD per million tokens
    output: float | None = None
    cache: Multipliers | None = None  # this model's own cache multipliers; None: default
    min_cache_tokens: int | None = None
    context_window: int | None = None  # tokens a prompt may have
    retires_on: date | None = None  # requests fail from this day on (UTC)
    retired: bool = False  # retired, date not recorded
    replacement: str | None = None  # the current model to move to
    system_messages: bool | None = None  # takes {"role": "system"} inside messages
    thinking: tuple[str, ...] | None = None  # thinking types it takes: enabled, adaptive
    keeps_thinking: bool | None = None  # earlier turns' thinking stays in its prompt
    fast_mode: bool | None = None  # takes `speed: "fast"`
    fast_input: float | None = None  # USD per million tokens in fast mode
    fast_output: float | None = None
    inference_geo_us: float | None = None  # price multiplier of `inference_geo: "us"`
    source: str = ""
    as_of: str = ""

    @property
    def priced(self) -> bool:
        """True when both input and output prices are known."""
        return self.input is not None and self.output is not None

    @property
    def deprecated_on(self) -> date | None:
        """The retirement date (the older name of `retires_on`)."""
        return self.retires_on

    def cache_price(self, which: str, default: Multipliers) -> float | None:
        """USD per million tokens of `write_5m`, `write_1h` or `read`; None when unknown."""
        if self.input is None:
            return None
        mult = self.cache or default
        factor = {
            "write_5m": mult.cache_write_5m,
            "write_1h": mult.cache_write_1h,
            "read": mult.cache_read,
        }[which]
        return self.input * factor


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where a model stands on a given day."""

    state: LifecycleState
    retires_on: date | None = None
    replacement: str | None = None
    days_left: int | None = None  # days until `retires_on`, while retiring


@dataclass(slots=True)
class Catalog:
    """Models by id and alias, the default cache multipliers and the pricing modifiers."""

    models: dict[str, ModelInfo] = field(default_factory=dict)
    multipliers: Multipliers = field(default_factory=Multipliers)
    batch: float | None = None  # Message Batches API: multiplier of every price
    retiring_soon_days: int = 90  # warn this many days before a retirement
    _by_name: dict[str, ModelInfo] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._reindex()

    def _reindex(self) -> None:
        self._by_name = {}
        for info in self.models.values():
            self._by_name[info.id] = info
        for info in self.models.values():
            for alias in info.aliases:
                self._by_name.setdefault(alias, info)

    def get(self, model: str) -> ModelInfo | None:
        """The model's entry by id or alias, or None when the catalog does not know it."""
        return self._by_name.get(model)

    def cache_id(self, model: str) -> str:
        """The id caches are kept under: the catalog id for a known model, else as sent."""
        info = self.get(model)
        return info.id if info else model

    def keeps_earlier_thinking(self, model: str) -> bool:
        """Whether `model` keeps earlier turns' thinking blocks in its prompt.

        As the catalog says (`keeps_thinking`: Opus 4.5 and later); a catalogued model it
        does not say it of drops them, as models long did; a model newer than the catalog
        is taken to follow the newest rule and keep them.
        """
        info = self.get(model)
        return info is None or bool(info.keeps_thinking)

    def min_cache_tokens(self, model: str) -> int | None:
        """Minimum cacheable prefix for `model`, or None when unknown."""
        info = self.get(model)
        return info.min_cache_tokens if info else None

    def multipliers_for(self, model: str) -> Multipliers:
        """The cache multipliers `model` is billed at (its own, else the default)."""
        info = self.get(model)
        return info.cache if info and info.cache else self.multipliers

    def lifecycle(self, model: str, today: date) -> Lifecycle:
        """Active, retiring (within `retiring_soon_days`), retired, or unknown, on `today`."""
        info = self.get(model)
        if info is None:
            return Lifecycle("unknown")
        when, replacement = info.retires_on, info.replacement
        if info.retired or (when is not None and today >= when):
            return Lifecycle("retired", when, replacement)
        if when is not None and (when - today).days <= self.retiring_soon_days:
            return Lifecycle("retiring", when, replacement, (when - today).days)
        return Lifecycle("active", when, replacement)

    def names(self) -> list[str]:
        """Every model id, sorted."""
        return sorted(self.models)


# -- loading -------------------------------------------------------------------------------

_PRICE_KEYS = ("write_5m", "write_1h", "read")
_KNOWN_KEYS = frozenset(
    {
        "family",
        "line",
        "aliases",
        "input",
        "output",
        *_PRICE_KEYS,
        "min_cache_tokens",
        "context_window",
        "retires_on",
        "deprecated_on",
        "retired",
        "replacement",
        "system_messages",
        "thinking",
        "keeps_thinking",
        "fast_mode",
        "fast_input",
        "fast_output",
        "inference_geo_us",
        "source",
        "as_of",
    }
)


def _parse_date(value: Any, where: str, key: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise CatalogError(f"{where}: {key} must be a date (YYYY-MM-DD)") from exc


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


def _whole(value: Any, where: str, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogError(f"{where}: {key} must be a whole number")
    return value


def _flag(value: Any, where: str, key: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: {key} must be true or false")
    return value


def _cache_multipliers(
    raw: dict[str, Any],
    base: ModelInfo | None,
    price_input: float | None,
    default: Multipliers,
    here: str,
) -> Multipliers | None:
    """The model's own cache multipliers after applying `raw` (USD prices) over `base`."""
    given = {k: _number(raw.get(k), here, k) for k in _PRICE_KEYS if k in raw}
    current = base.cache if base else None
    if not given:
        return current
    if not price_input:
        raise CatalogError(f"{here}: cache prices ({', '.join(given)}) need a non-zero input price")
    # Prices not given keep the model's ratios, or the standard ones for a first price.
    start = current or default
    factors = {
        "write_5m": start.cache_write_5m,
        "write_1h": start.cache_write_1h,
        "read": start.cache_read,
    }
    for key, price in given.items():
        factors[key] = (price or 0.0) / price_input
    return Multipliers(factors["write_5m"], factors["write_1h"], factors["read"])


def _model_from(
    model_id: str, raw: Any, base: ModelInfo | None, default: Multipliers, where: str
) -> ModelInfo:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: [models.{model_id}] must be a table")
    here = f"{where}: models.{model_id}"
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise CatalogError(f"{here}: unknown key {unknown[0]!r}")
    start = base or ModelInfo(id=model_id)
    aliases = raw.get("aliases", list(start.aliases))
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise CatalogError(f"{here}: aliases must be a list of strings")
    thinking = raw.get("thinking", start.thinking)
    if thinking is not None:
        if not isinstance(thinking, list | tuple) or not all(t in THINKING_TYPES for t in thinking):
            raise CatalogError(f"{here}: thinking must be a list of {' and '.join(THINKING_TYPES)}")
        thinking = tuple(thinking)
    for key in ("family", "line", "replacement", "source", "as_of"):
        if key in raw and not isinstance(raw[key], str):
            raise CatalogError(f"{here}: {key} must be a string")
    price_input = _number(raw.get("input", start.input), here, "input")
    retires = raw.get("retires_on", raw.get("deprecated_on"))
    multiplier = _number(
        raw.get("inference_geo_us", start.inference_geo_us), here, "inference_geo_us"
    )
    return replace(
        start,
        id=model_id,
        family=str(raw.get("family", start.family)),
        line=raw.get("line", start.line),
        aliases=tuple(aliases),
        input=price_input,
        output=_number(raw.get("output", start.output), here, "output"),
        cache=_cache_multipliers(raw, base, price_input, default, here),
        min_cache_tokens=_whole(
            raw.get("min_cache_tokens", start.min_cache_tokens), here, "min_cache_tokens"
        ),
        context_window=_whole(
            raw.get("context_window", start.context_window), here, "context_window"
        ),
        retires_on=(
            _parse_date(retires, here, "retires_on") if retires is not None else start.retires_on
        ),
        retired=bool(_flag(raw.get("retired", start.retired), here, "retired")),
        replacement=raw.get("replacement", start.replacement),
        system_messages=_flag(
            raw.get("system_messages", start.system_messages), here, "system_messages"
        ),
        thinking=thinking,
        keeps_thinking=_flag(
            raw.get("keeps_thinking", start.keeps_thinking), here, "keeps_thinking"
        ),
        fast_mode=_flag(raw.get("fast_mode", start.fast_mode), here, "fast_mode"),
        fast_input=_number(raw.get("fast_input", start.fast_input), here, "fast_input"),
        fast_output=_number(raw.get("fast_output", start.fast_output), here, "fast_output"),
        inference_geo_us=multiplier,
        source=str(raw.get("source", start.source)),
        as_of=str(raw.get("as_of", start.as_of)),
    )


def _apply(catalog: Catalog, data: dict[str, Any], where: str) -> None:
    pricing = data.get("pricing", {})
    if not isinstance(pricing, dict):
        raise CatalogError(f"{where}: [pricing] must be a table")
    current = catalog.multipliers
    here = f"{where}: pricing"
    catalog.multipliers = Multipliers(
        cache_write_5m=_number(
            pricing.get("cache_write_5m", current.cache_write_5m), here, "cache_write_5m"
        )
        or 0.0,
        cache_write_1h=_number(
            pricing.get("cache_write_1h", current.cache_write_1h), here, "cache_write_1h"
        )
        or 0.0,
        cache_read=_number(pricing.get("cache_read", current.cache_read), here, "cache_read")
        or 0.0,
    )
    catalog.batch = _number(pricing.get("batch", catalog.batch), here, "batch")
    lifecycle = data.get("lifecycle", {})
    if not isinstance(lifecycle, dict):
        raise CatalogError(f"{where}: [lifecycle] must be a table")
    days = _whole(
        lifecycle.get("retiring_soon_days", catalog.retiring_soon_days),
        f"{where}: lifecycle",
        "retiring_soon_days",
    )
    catalog.retiring_soon_days = catalog.retiring_soon_days if days is None else days
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise CatalogError(f"{where}: [models] must be a table")
    for model_id, raw in models.items():
        base = catalog.models.get(model_id) or catalog.get(model_id)
        key = model_id if base is None else base.id
        catalog.models[key] = _model_from(key, raw, base, catalog.multipliers, where)
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
