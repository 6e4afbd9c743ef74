"""Fixtures: a real simulator on an ephemeral loopback port, and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anthropic
import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator

from .hooks import API_KEY, SimHooks


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The simulator's data dir for one test."""
    return tmp_path / "data"


@pytest.fixture
def sim_server(data_dir: Path) -> Iterator[InProcessSimulator]:
    """A simulator served in-process on 127.0.0.1, no pacing."""
    with InProcessSimulator(data_dir, rate=0) as server:
        yield server


@pytest.fixture
def base_url(sim_server: InProcessSimulator) -> str:
    """The running simulator's base URL."""
    return sim_server.base_url


@pytest.fixture
def hooks(base_url: str) -> SimHooks:
    """The test hooks of the running simulator."""
    return SimHooks(base_url)


@pytest.fixture
def client(base_url: str) -> Iterator[anthropic.Anthropic]:
    """A sync SDK client, no retries."""
    with anthropic.Anthropic(api_key=API_KEY, base_url=base_url, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def aclient(base_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """An async SDK client, no retries."""
    async with anthropic.AsyncAnthropic(api_key=API_KEY, base_url=base_url, max_retries=0) as sdk:
        yield sdk
