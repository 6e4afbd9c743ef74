"""Costs of a call: what it cost, what it would have cost uncached, and the saving.

cost = input x base + 5m writes x w5 base + 1h writes x w1 base + reads x r base
       + output x output price; all per million tokens. w5, w1 and r are the model's own
cache multipliers (its catalog prices), else the catalog's default (1.25, 2, 0.1).
The base and output prices are those of the call's mode: fast mode (`speed: "fast"`) has
its own, `inference_geo: "us"` multiplies every category on the models that charge it.
Unknown prices give None, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False  # (`typing` stays unimported at run time: see store/inline.py)
if TYPE_CHECKING:  # (a logged call's costs need no catalog: `history` and `stats` start faster)
    from promptcache_tui.core.catalog import Catalog, Multipliers

MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call, as the API reports it."""

    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def from_counts(
        cls,
        *,
        input_tokens: int = 0,
        cache_creation_input_tokens: int = 0,
        cache_read_input_tokens: int = 0,
        output_tokens: int = 0,
        ephemeral_5m: int | None = None,
        ephemeral_1h: int | None = None,
    ) -> Usage:
        """Build usage; without a TTL split every write counts as 5m (the API default)."""
        if ephemeral_5m is None and ephemeral_1h is None:
            ephemeral_5m, ephemeral_1h = cache_creation_input_tokens, 0
        five = ephemeral_5m or 0
        hour = ephemeral_1h or 0
        return cls(
            input_tokens=input_tokens,
            cache_creation_input_tokens=cache_creation_input_tokens or five + hour,
            cache_creation_5m_tokens=five,
            cache_creation_1h_tokens=hour,
            cache_read_input_tokens=cache_read_input_tokens,
            output_tokens=output_tokens,
        )

    @property
    def prompt_tokens(self) -> int:
        """All prompt tokens: input + cache writes + cache reads."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def hit_rate(self) -> float | None:
        """read / (input + creation + read); None when there are no prompt tokens."""
        total = self.prompt_tokens
        return self.cache_read_input_tokens / total if total else None


@dataclass(frozen=True, slots=True)
class Prices:
    """Prices in effect for a call, stored with it so history survives price changes."""

    input: float | None  # USD per MTok
    output: float | None
    write_5m: float = 1.25  # multipliers of `input`
    write_1h: float = 2.0
    read: float = 0.1

    @property
    def known(self) -> bool:
        """True when both base prices are known."""
        return self.input is not None and self.output is not None


@dataclass(frozen=True, slots=True)
class CallCost:
    """Cost, uncached cost and saving in USD (None when the price is unknown)."""

    cost_usd: float | None
    uncached_cost_usd: float | None
    saved_usd: float | None


def prices_for(
    catalog: Catalog,
    model: str,
    *,
    speed: str | None = None,
    inference_geo: str | None = None,
    service_tier: str | None = None,
) -> Prices:
    """The prices in effect for a call of `model`, from its usage's speed, geo and tier.

    None prices when the catalog does not know them: an unknown model, or fast mode on a
    model without fast-mode prices. Stored with the call, so history keeps them.
    """
    info = catalog.get(model)
    mult: Multipliers = catalog.multipliers_for(model)
    base = info.input if info else None
    out = info.output if info else None
    if info is not None and speed == "fast":
        base, out = info.fast_input, info.fast_output
    if info is not None and inference_geo == "us" and info.inference_geo_us is not None:
        # Every token category: the cache multipliers apply on top of the raised base.
        base = None if base is None else base * info.inference_geo_us
        out = None if out is None else out * info.inference_geo_us
    if service_tier == "batch" and catalog.batch is not None:
        base = None if base is None else base * catalog.batch
        out = None if out is None else out * catalog.batch
    return Prices(
        input=base,
        output=out,
        write_5m=mult.cache_write_5m,
        write_1h=mult.cache_write_1h,
        read=mult.cache_read,
    )


def call_cost(usage: Usage, prices: Prices) -> CallCost:
    """Cost of a call with these prices."""
    if prices.input is None or prices.output is None:
        return CallCost(None, None, None)
    base, out = prices.input, prices.output
    # A write reported without its TTL split is billed at the 5m rate (the API default).
    unsplit = usage.cache_creation_input_tokens - (
        usage.cache_creation_5m_tokens + usage.cache_creation_1h_tokens
    )
    five = usage.cache_creation_5m_tokens + max(unsplit, 0)
    cost = (
        usage.input_tokens * base
        + five * base * prices.write_5m
        + usage.cache_creation_1h_tokens * base * prices.write_1h
        + usage.cache_read_input_tokens * base * prices.read
        + usage.output_tokens * out
    ) / MTOK
    uncached = (usage.prompt_tokens * base + usage.output_tokens * out) / MTOK
    return CallCost(cost_usd=cost, uncached_cost_usd=uncached, saved_usd=uncached - cost)
