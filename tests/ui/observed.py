"""Observed traffic for the dashboard's tests and screenshots, on a frozen clock.

A program of the user's own (`review-bot/1.0`) calls the simulator through the recording
proxy: a first call writes its system prompt to the cache, the next comes six minutes
later (expired: it writes again), the last reads it. Claude Code's session is imported
from a transcript in the shape claude-cli writes: a 1h write, then a read.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anthropic

from promptcache_tui.config import Settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.records import iso_utc
from promptcache_tui.observe.claude_code import ClaudeCodeImporter
from promptcache_tui.observe.server import ProxyServer
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.store import Store
from tests.observe.transcript import Session

from .harness import FakeClock

CLIENT = "review-bot/1.0"
MODEL = "claude-sonnet-4-6"
SYSTEM = "You review pull requests for a small web shop. " + (
    "Point out bugs first, then risky changes, then style; quote the lines you mean. " * 60
)
SESSION_ID = "0b9c3a52-6d1e-4c7a-9f21-5e3d2a1b0c44"
PROJECT_CWD = "/home/me/code/shop"


def request(question: str) -> dict[str, Any]:
    """The bot's request: its system prompt cached (5m), then the question."""
    return {
        "model": MODEL,
        "max_tokens": 64,
        "system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": question}],
    }


class ObservedTraffic:
    """The proxy in front of a simulator, both on `clock`, logging into the app's data dir."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.clock = clock
        self.sim = InProcessSimulator(settings.data_dir.parent / "upstream", rate=0, clock=clock)
        self.proxy = ProxyServer(settings.data_dir, "", clock=clock, report=lambda _line: None)

    def __enter__(self) -> ObservedTraffic:
        self.sim.start()
        self.proxy.upstream = self.sim.base_url
        self.proxy.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.proxy.stop()
        self.sim.stop()

    def call(self, question: str) -> None:
        """One call of the bot through the proxy, logged before this returns."""
        self.send(request(question), CLIENT)

    def send(self, params: dict[str, Any], client_name: str) -> None:
        """Any request through the proxy, as `client_name` (its User-Agent)."""
        client = anthropic.Anthropic(
            api_key="test-key",
            base_url=self.proxy.base_url,
            max_retries=0,
            default_headers={"User-Agent": client_name},
        )
        body = {k: v for k, v in params.items() if k != "stream"}
        body["max_tokens"] = 64
        client.messages.create(**body)
        self.proxy.drain()


def proxied_calls(settings: Settings, clock: FakeClock) -> None:
    """Three calls of the bot, ending 10 s before `clock`'s time (which it leaves as it was):
    write, expired (6 min later: a write again), read."""
    start = clock.value
    clock.value = start - 400
    with ObservedTraffic(settings, clock) as traffic:
        traffic.call("Review PR 41: the cart total rounding.")
        clock.advance(360)
        traffic.call("Review PR 42: the checkout retry loop.")
        clock.advance(30)
        traffic.call("Review PR 43: the coupon expiry check.")
    clock.value = start


def claude_code_session(projects: Path, now: float, *, more: bool = False) -> Path:
    """A Claude Code session's transcript: a 1h write two minutes before `now`, then a read a
    minute before (which keeps the cache for an hour from then); `more`: and a read at `now`
    (the session went on)."""
    session = Session(projects, SESSION_ID, cwd=PROJECT_CWD)
    session.user(iso_utc(now - 125), "Why does the cart test fail?")
    session.response(
        iso_utc(now - 120), message_id="msg_01", request_id="req_01", write_1h=21_000, output=80
    )
    session.user(iso_utc(now - 65), "Fix it.")
    session.response(
        iso_utc(now - 60), message_id="msg_02", request_id="req_02", read=21_000, write_1h=300
    )
    if more:
        session.user(iso_utc(now - 5), "Run the tests again.")
        session.response(iso_utc(now), message_id="msg_03", request_id="req_03", read=21_300)
    return session.write()


async def import_session(settings: Settings, projects: Path) -> None:
    """`import claude-code --path projects`, into the app's database."""
    async with await Store.open(settings.db_path) as store:
        await ClaudeCodeImporter(store, load_catalog(settings.data_dir)).run([projects])


async def seed_observed(settings: Settings, clock: FakeClock) -> None:
    """The bot's three proxied calls and one imported Claude Code session."""
    await asyncio.to_thread(proxied_calls, settings, clock)
    projects = settings.data_dir.parent / "claude" / "projects"
    claude_code_session(projects, clock.value)
    await import_session(settings, projects)
