"""Every default the README promises, read from the README and from the code: a change to one
without the other fails here (and the behaviour behind each is checked, not only the number).
No number is written here: change both together and this still passes."""

from __future__ import annotations

import re
from pathlib import Path

import anthropic
import pytest

from promptcache_tui.config import MAX_TOKENS_ENV, load_settings
from promptcache_tui.core.context import Block, Breakpoint, Context
from promptcache_tui.core.keepwarm import KeepWarm, KeepWarmPolicy
from promptcache_tui.core.request import DEFAULT_MAX_TOKENS, Turn, build_request
from promptcache_tui.observe import proxy
from promptcache_tui.sim import server
from promptcache_tui.sim.inprocess import InProcessSimulator
from promptcache_tui.ui.widgets.chat_view import MAX_SHOWN_TURNS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
TEXT = " ".join(README.split())  # sentences wrapped across lines read as one


def promised(pattern: str) -> list[str]:
    """Every match of `pattern` in the README (whitespace-normalised); at least one."""
    found = re.findall(pattern, TEXT)
    assert found, f"the README no longer says {pattern!r}"
    return found


def test_the_chat_shows_the_last_turns_and_every_call_sends_all() -> None:
    [shown] = promised(
        r"The chat shows a conversation's last (\d+) turns; every call still sends all of it\."
    )
    assert int(shown) == MAX_SHOWN_TURNS
    # A conversation longer than the chat shows: the request still carries every turn.
    history = [
        Turn("user" if i % 2 == 0 else "assistant", f"turn {i}")
        for i in range(MAX_SHOWN_TURNS * 2 + 1)
    ]
    ctx = Context("c", (Block("system", "Be brief."),), (Breakpoint(0),), "claude-sonnet-4-6")
    built = build_request(ctx, prompt="next", history=history)
    sent = [
        part["text"]
        for message in built.params["messages"]
        for part in message["content"]
        if isinstance(part, dict)
    ]
    assert sent == [turn.text for turn in history] + ["next"]


def test_keep_warm_caps_pings_and_dollars() -> None:
    [(pings, dollars)] = promised(r"capped per session at (\d+) pings and \$(\d+\.\d\d)")
    policy = KeepWarmPolicy()
    assert (policy.max_pings, policy.max_usd) == (int(pings), float(dollars))
    warm = KeepWarm()
    warm.pings = policy.max_pings - 1
    assert warm.capped is None
    warm.pings = policy.max_pings
    assert warm.capped == f"ping cap reached ({pings}/{pings})"
    warm.pings, warm.spent_usd = 0, policy.max_usd
    assert warm.capped == f"spend cap reached (${dollars}00/${dollars})"


def test_max_tokens_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    [default] = promised(
        rf"`{MAX_TOKENS_ENV}` \| the output cap of each chat and `ask` call \(default (\d+)\)"
    )
    monkeypatch.delenv(MAX_TOKENS_ENV, raising=False)
    assert load_settings(tmp_path, offline=True).max_tokens == int(default) == DEFAULT_MAX_TOKENS
    monkeypatch.setenv(MAX_TOKENS_ENV, "7")
    assert load_settings(tmp_path, offline=True).max_tokens == 7


def test_the_simulators_default_pace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    defaults = promised(rf"`{server.RATE_ENV}` \| [^|]*?\(default (\d+); 0 = no pacing\)")
    defaults += promised(rf"`--rate N` / `{server.RATE_ENV}` \| [^|]*?\(default (\d+);")
    assert {int(d) for d in defaults} == {int(server.DEFAULT_RATE)}
    monkeypatch.delenv(server.RATE_ENV, raising=False)  # the suite's conftest sets it to 0
    with InProcessSimulator(tmp_path / "a") as sim:
        assert sim.app.state.sim.rate == server.DEFAULT_RATE
    monkeypatch.setenv(server.RATE_ENV, "12")
    with InProcessSimulator(tmp_path / "b") as sim:
        assert sim.app.state.sim.rate == 12


def test_sim_reset_forgets_cache_faults_and_clock_offset(tmp_path: Path) -> None:
    [(path, forgets)] = promised(
        r"curl -s -X POST localhost:8787(/_sim/reset) .*?# (forget [^`]*?offset)"
    )
    assert forgets == "forget cache, faults, clock offset"
    with (
        InProcessSimulator(tmp_path, rate=0) as sim,
        anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client,
    ):
        from tests.sim.hooks import SimHooks

        hooks = SimHooks(sim.base_url)
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8,
            system=[{"type": "text", "text": "a " * 2000, "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": "Q"}],
        )
        hooks.advance(60)
        hooks.fault(status=529, count=3)
        before = hooks.state()
        assert (before["live_entries"], before["offset"], len(before["pending_faults"])) == (
            1,
            60,
            1,
        )
        assert hooks.call("POST", path, {}) == {"ok": True}
        after = hooks.state()
        assert (after["live_entries"], after["offset"], after["pending_faults"]) == (0, 0, [])


def test_the_body_limit_in_megabytes() -> None:
    [sim_mb] = promised(r"bodies over (\d+) MB are a 413")
    [proxy_mb] = promised(r"Bodies up to the API's (\d+) MB are forwarded")
    mb = 1024 * 1024
    assert int(sim_mb) * mb == server.MAX_BODY_BYTES == proxy.MAX_BODY_BYTES
    assert int(proxy_mb) == int(sim_mb)
    # At and around the limit over HTTP: tests/sim/test_engine_limits.py (simulator) and
    # tests/observe/test_proxy_wire.py (proxy).
