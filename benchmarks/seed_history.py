"""Fill a data dir with N realistic logged calls, through the project's own store.

    python benchmarks/seed_history.py --data-dir /tmp/pct-1m --calls 1000000

Several contexts and models (one with unknown prices), chat/ask/warm, a year of sessions
ending on --end, cache writes at the start of a session and reads while the TTL holds, misses
with reasons, and ~2% errors. Deterministic for a given --seed. Rows go in through
`CallLog.log_many` (the real schema, triggers and insert path), a batch per transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptcache_tui.config import load_settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.cost import Prices, Usage, prices_for
from promptcache_tui.core.records import CallRecord, LoggedBreakpoint, iso_utc
from promptcache_tui.store import Store

TTL = {"5m": 300, "1h": 3600}


@dataclass(frozen=True, slots=True)
class Profile:
    """A context as the seed uses it: size, model, TTL and how often it is used."""

    name: str
    model: str
    prefix_tokens: int
    ttl: str
    weight: float


PROFILES = (
    Profile("handbook", "claude-sonnet-4-6", 24_000, "1h", 0.30),
    Profile("codebase", "claude-sonnet-4-6", 90_000, "5m", 0.22),
    Profile("support-faq", "claude-haiku-4-5", 8_000, "5m", 0.20),
    Profile("legal-contracts", "claude-opus-4-5", 60_000, "1h", 0.12),
    Profile("research-papers", "claude-sonnet-4-5", 150_000, "1h", 0.11),
    Profile("novel", "claude-sonnet-5", 187_000, "5m", 0.05),  # no price in the catalog
)
OTHER_MODELS = ("claude-haiku-4-5", "claude-opus-4-6", "claude-sonnet-4-6")
TOPICS = (
    "termination clauses",
    "the refund policy",
    "error handling",
    "the billing module",
    "chapter three",
    "the onboarding checklist",
    "rate limits",
    "data retention",
    "the migration plan",
    "caching strategy",
    "the main character",
    "liability caps",
    "the test suite",
    "vacation policy",
    "the API gateway",
    "security reviews",
    "the conclusion",
    "invoice disputes",
    "the deployment pipeline",
    "password resets",
)
ASKS = (
    "What does the document say about {t}?",
    "Summarise {t} in three bullet points.",
    "Where is {t} described, and what are the exceptions?",
    "Compare {t} with what section {n} says.",
    "List every mention of {t} with a short quote for each.",
    "Is there anything inconsistent about {t}? Cite section {n}.",
)
WORDS = (
    "the",
    "cache",
    "prefix",
    "section",
    "policy",
    "request",
    "model",
    "tokens",
    "answer",
    "document",
    "clause",
    "review",
    "states",
    "that",
    "must",
    "within",
    "days",
    "and",
    "customer",
    "system",
    "is",
    "not",
    "covered",
    "by",
    "this",
    "agreement",
    "except",
)
ERRORS = (
    "rate_limit_error: Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error: Overloaded",
    "api_error: Internal server error",
    "connection error: the stream ended before message_stop",
)
MISS_REASONS = ("model changed", "expired", "prefix changed at breakpoint 2", "messages_changed")


def _prefix_hash(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


class Seeder:
    """Generates calls in time order, session by session."""

    def __init__(self, calls: int, end: datetime, days: int, seed: int) -> None:
        self.total = calls
        self.rng = random.Random(seed)
        self.end = end.timestamp()
        self.start = (end - timedelta(days=days)).timestamp()
        catalog = load_catalog(None)
        self.prices = {
            m: prices_for(catalog, m) for m in {p.model for p in PROFILES} | set(OTHER_MODELS)
        }
        self.version = {p.name: 0 for p in PROFILES}
        self.warm_until: dict[tuple[str, str, int], float] = {}

    def records(self) -> Iterator[CallRecord]:
        """Exactly `calls` records, oldest first."""
        rng = self.rng
        sizes: list[int] = []
        left = self.total
        while left > 0:
            size = min(left, int(rng.expovariate(1 / 7)) + 1)  # mostly short sessions
            sizes.append(size)
            left -= size
        span = self.end - self.start
        # Session starts sorted over the span, so ids follow time like a real log.
        starts = sorted(self.start + rng.random() * span for _ in sizes)
        for number, (at, size) in enumerate(zip(starts, sizes, strict=True)):
            profile = rng.choices(PROFILES, weights=[p.weight for p in PROFILES])[0]
            for turn in range(size):
                yield self._call(profile, at, turn, number + 1)
                at += rng.uniform(4, 200)

    def _call(self, profile: Profile, at: float, turn: int, conversation: int) -> CallRecord:
        rng = self.rng
        kind = (
            "warm"
            if turn == 0 and rng.random() < 0.35
            else rng.choices(("chat", "ask"), weights=(0.7, 0.3))[0]
        )
        model = profile.model if rng.random() > 0.03 else rng.choice(OTHER_MODELS)
        if rng.random() < 0.002:
            self.version[profile.name] += 1  # the context was edited: a new prefix
        version = self.version[profile.name]
        key = (profile.name, model, version)
        hashes = (
            _prefix_hash(profile.name, version, "system"),
            _prefix_hash(profile.name, version, "doc"),
        )
        prefix = profile.prefix_tokens
        prices: Prices = self.prices[model]
        if rng.random() < 0.02:
            return CallRecord(
                ts=iso_utc(at),
                kind=kind,
                model=model,
                status="error",
                context=profile.name,
                conversation_id=conversation if kind == "chat" else None,
                error=rng.choice(ERRORS),
                prices=prices,
                duration_ms=rng.uniform(80, 3000),
                prompt=None if kind == "warm" else self._prompt(),
                live=True,
            )
        warm = self.warm_until.get(key, 0.0) > at
        conversation_tokens = 0 if kind != "chat" else turn * rng.randint(200, 900)
        if warm:
            usage = Usage.from_counts(
                input_tokens=rng.randint(10, 400),
                cache_read_input_tokens=prefix,
                cache_creation_input_tokens=conversation_tokens,
                output_tokens=0 if kind == "warm" else rng.randint(40, 900),
            )
            miss = None
        else:
            five, hour = (prefix, 0) if profile.ttl == "5m" else (0, prefix)
            usage = Usage.from_counts(
                input_tokens=rng.randint(10, 400),
                cache_creation_input_tokens=prefix + conversation_tokens,
                ephemeral_5m=five + conversation_tokens,
                ephemeral_1h=hour,
                output_tokens=0 if kind == "warm" else rng.randint(40, 900),
            )
            miss = "first write" if turn == 0 else rng.choice(MISS_REASONS)
        self.warm_until[key] = at + TTL[profile.ttl]
        ttft = rng.uniform(300, 900) if warm else rng.uniform(1500, 9000)
        return CallRecord(
            ts=iso_utc(at),
            kind=kind,
            model=model,
            status="ok",
            context=profile.name,
            conversation_id=conversation if kind == "chat" else None,
            usage=usage,
            prices=prices,
            ttft_ms=None if kind == "warm" else ttft,
            duration_ms=ttft + rng.uniform(200, 6000),
            cache_miss_reason=miss,
            request_id=f"req_{rng.getrandbits(64):016x}",
            message_id=f"msg_{rng.getrandbits(64):016x}",
            stop_reason="max_tokens" if kind == "warm" else "end_turn",
            live=True,
            prompt=None if kind == "warm" else self._prompt(),
            answer=None if kind == "warm" else self._answer(),
            breakpoints=(
                LoggedBreakpoint(0, profile.ttl, hashes[0], 900, True, 0),
                LoggedBreakpoint(1, profile.ttl, hashes[1], prefix, True, 1),
            ),
        )

    def _prompt(self) -> str:
        rng = self.rng
        return rng.choice(ASKS).format(t=rng.choice(TOPICS), n=rng.randint(1, 40))

    def _answer(self) -> str:
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(30, 120))]
        return " ".join(words).capitalize() + "."


async def seed(
    data_dir: Path, calls: int, *, end: datetime, days: int, seed_value: int, batch: int
) -> float:
    """Insert the calls; return the seconds it took."""
    settings = load_settings(data_dir, offline=True)
    seeder = Seeder(calls, end, days, seed_value)
    started = time.perf_counter()
    async with await Store.open(settings.db_path) as store:
        pending: list[CallRecord] = []
        done = 0
        for record in seeder.records():
            pending.append(record)
            if len(pending) >= batch:
                await store.calls.log_many(pending)
                done += len(pending)
                pending = []
                if done % (batch * 20) == 0:
                    print(f"  {done:,} calls", file=sys.stderr)
        await store.calls.log_many(pending)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Command line: --data-dir DIR --calls N."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument(
        "--end",
        default="2026-11-26T18:00:00+00:00",
        help="time of the newest call (ISO, default 2026-11-26T18:00Z)",
    )
    parser.add_argument("--days", type=int, default=365, help="span of the log in days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=5000, help="calls per transaction")
    args = parser.parse_args(argv)
    end = datetime.fromisoformat(args.end).astimezone(UTC)
    seconds = asyncio.run(
        seed(
            args.data_dir,
            args.calls,
            end=end,
            days=args.days,
            seed_value=args.seed,
            batch=args.batch,
        )
    )
    print(f"seeded {args.calls:,} calls into {args.data_dir} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
