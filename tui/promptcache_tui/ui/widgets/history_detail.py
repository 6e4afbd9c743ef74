"""One logged call in full: usage priced line by line, prices in effect, why it missed (with
the block that changed and its diff), a proxied call's prompt block by block, texts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Label, Static

from promptcache_tui.core.cost import MTOK
from promptcache_tui.core.formatting import (
    milliseconds,
    money,
    percent,
    price_per_mtok,
    utc_time,
)
from promptcache_tui.core.miss import MissExplanation
from promptcache_tui.core.records import CallRecord
from promptcache_tui.core.sanitize import one_line

if TYPE_CHECKING:
    from promptcache_tui.store.observed import PromptNode


def _line_cost(tokens: int, price: float | None) -> str:
    return money(None if price is None else tokens * price / MTOK)


def header_text(record: CallRecord) -> Content:
    """Who, when, what, and the ids to quote to support."""
    ok = record.status == "ok"
    ids = [
        f"{name} {value}"
        for name, value in (
            ("request", record.request_id),
            ("message", record.message_id),
            ("stop", record.stop_reason),
            ("conversation", record.conversation_id),
        )
        if value
    ]
    ids.append("live API" if record.live else "offline simulator")
    timing = [
        f"{name} {milliseconds(value)}"
        for name, value in (
            ("time to first token", record.ttft_ms),
            ("duration", record.duration_ms),
        )
        if value is not None
    ]
    parts: list[str | tuple[str, str]] = [
        (f"call {record.id} · ", "bold"),
        f"{utc_time(record.ts)} UTC · {record.context or one_line(record.client or '(no context)')}"
        f" · {record.kind} · {record.model} · ",
        (record.status, "bold $text-success" if ok else "bold $text-error"),
        ("\n" + " · ".join(ids), "$text-muted"),
    ]
    if timing:
        parts.append(("\n" + " · ".join(timing), "$text-muted"))
    return Content.assemble(*parts)


def usage_table(record: CallRecord) -> Table:
    """Each kind of token with the price in effect for it and what it cost."""
    usage, prices, cost = record.usage, record.prices, record.cost
    base = prices.input
    unsplit = usage.cache_creation_input_tokens - (
        usage.cache_creation_5m_tokens + usage.cache_creation_1h_tokens
    )
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("tokens", "count", "price / MTok", "cost"):
        table.add_column(name, justify="left" if name == "tokens" else "right")

    def scaled(multiplier: float) -> float | None:
        return None if base is None else base * multiplier

    rows = [
        ("input (uncached)", usage.input_tokens, base),
        (
            "cache writes, 5m",
            usage.cache_creation_5m_tokens + max(unsplit, 0),
            scaled(prices.write_5m),
        ),
        ("cache writes, 1h", usage.cache_creation_1h_tokens, scaled(prices.write_1h)),
        ("cache reads", usage.cache_read_input_tokens, scaled(prices.read)),
        ("output", usage.output_tokens, prices.output),
    ]
    for name, tokens, price in rows:
        table.add_row(name, f"{tokens:,}", price_per_mtok(price), _line_cost(tokens, price))
    table.add_row(
        Text("total", style="bold"),
        f"{usage.prompt_tokens + usage.output_tokens:,}",
        "",
        Text(money(cost.cost_usd), style="bold"),
    )
    return table


def money_text(record: CallRecord) -> Content:
    """Cost, uncached cost, saving, hit rate, and the prices in effect."""
    cost, prices = record.cost, record.prices
    parts: list[str | tuple[str, str]] = [
        (
            f"cost {money(cost.cost_usd)} · uncached {money(cost.uncached_cost_usd)} · "
            f"saved {money(cost.saved_usd)} · hit rate {percent(record.usage.hit_rate)}",
            "bold",
        ),
        f"\nprices in effect: input {price_per_mtok(prices.input)} / MTok, output "
        f"{price_per_mtok(prices.output)} / MTok; 5m writes x{prices.write_5m:g}, 1h writes "
        f"x{prices.write_1h:g}, reads x{prices.read:g} of input",
    ]
    if not prices.known:
        parts.append(("\nthis model had no known price when the call was made", "$text-warning"))
    return Content.assemble(*parts)


def why_text(record: CallRecord, miss: MissExplanation | None = None) -> Content:
    """The miss reason (with `miss`: the block that changed, before and after, and the call
    compared with), the error, and the breakpoints sent."""
    parts: list[str | tuple[str, str]] = []
    if record.error:
        parts.append((f"error: {one_line(record.error)}\n", "bold $text-error"))
    parts.append(f"cache miss reason: {one_line(record.cache_miss_reason or '-')}")
    if record.cache_missed_input_tokens:
        parts.append(f" ({record.cache_missed_input_tokens:,} tokens missed)")
    if miss is not None:
        parts.append((f"\ncause: {miss.code.replace('_', ' ')}", "bold"))
        if miss.block_label:
            # The prompt table's `#`, numbered from 1 like the labels.
            where = f" (block {miss.block_index + 1})" if miss.block_index is not None else ""
            parts.append(f" · first changed block: {one_line(miss.block_label)}{where}")
        if miss.before is not None and miss.after is not None:
            parts.append((f"\n  - {one_line(miss.before)}", "$text-error"))
            parts.append((f"\n  + {one_line(miss.after)}", "$text-success"))
        compared = []
        if miss.previous_call_id is not None:
            compared.append(f"compared with call {miss.previous_call_id}")
        if miss.gap_s is not None:
            compared.append(f"{miss.gap_s:,.0f} s after it")
        if compared:
            parts.append((f"\n{', '.join(compared)}", "$text-muted"))
    for mark in record.breakpoints:
        state = "cached" if mark.cached else "not cached"
        parts.append(
            (
                f"\nbreakpoint {mark.position + 1}: {mark.ttl}, prefix "
                f"~{mark.prefix_tokens:,} tokens, {state}, {mark.prefix_hash[:12]}",
                "$text-muted",
            )
        )
    return Content.assemble(*parts)


def prompt_table(nodes: list[PromptNode], record: CallRecord, changed: int | None) -> Table:
    """A proxied call's prompt as stored: each block, its size, and where the breakpoints and
    the first change were."""
    marks = {b.prefix_hash: b for b in record.breakpoints}
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("#", "block", "tokens", "bytes", "prefix", "note"):
        table.add_column(name, justify="right" if name in ("#", "tokens", "bytes") else "left")
    for node in nodes:
        notes = []
        mark = marks.get(node.prefix_hash)
        if mark is not None:
            state = "cached" if mark.cached else "not cached"
            notes.append(f"breakpoint {mark.position + 1} ({mark.ttl}, {state})")
        if changed is not None and node.index == changed:
            notes.append("first change")
        table.add_row(
            str(node.index + 1),
            one_line(node.label),
            f"{node.tokens:,}",
            f"{node.size:,}",
            node.prefix_hash[:12],
            Text(" · ".join(notes), style="bold" if notes else ""),
        )
    return table


class CallDetail(VerticalScroll):
    """A call's full record, for the history's drill-down."""

    DEFAULT_CSS = """
    CallDetail > Static {
        margin-bottom: 1;
    }
    CallDetail > .detail-title {
        text-style: bold;
        color: $text-primary;
    }
    CallDetail > .detail-text {
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(
        self,
        record: CallRecord,
        *,
        id: str | None = None,
        miss: MissExplanation | None = None,
        prompt: list[PromptNode] | None = None,
    ) -> None:
        super().__init__(id=id)
        self.record = record
        self.miss = miss
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        record = self.record
        yield Static(header_text(record), id="detail-header")
        yield Static(usage_table(record), id="detail-usage")
        yield Static(money_text(record), id="detail-money")
        yield Static(why_text(record, self.miss), id="detail-why")
        if self.prompt:
            size = sum(n.size for n in self.prompt)
            yield Label(
                f"the prompt's {len(self.prompt)} blocks as stored ({size / 1024:,.0f} KB)",
                classes="detail-title",
            )
            changed = self.miss.block_index if self.miss is not None else None
            yield Static(prompt_table(self.prompt, record, changed), id="detail-blocks")
        yield Label("prompt", classes="detail-title")
        yield Static(
            Text(record.prompt or "(none: a warm-up call sends no prompt)"),
            classes="detail-text",
            id="detail-prompt",
        )
        yield Label("answer", classes="detail-title")
        yield Static(Text(record.answer or "(none)"), classes="detail-text", id="detail-answer")
