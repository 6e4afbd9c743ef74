"""Which model ids exist: create, list and retrieve agree, on the simulator's own clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import anthropic
import pytest

from promptcache_tui.sim.inprocess import InProcessSimulator

from .hooks import API_KEY
from .prompts import doc_request

DAY = 86_400.0


def _midnight(year: int, month: int, day: int) -> float:
    return datetime(year, month, day, tzinfo=UTC).timestamp()


class Clock:
    """A base clock for the simulator that tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(_midnight(2026, 11, 29) + 12 * 3600)  # the day before Sonnet 4.5 retires


@pytest.fixture
def client(tmp_path: Path, clock: Clock) -> Iterator[anthropic.Anthropic]:
    with (
        InProcessSimulator(tmp_path / "data", rate=0, clock=clock) as sim,
        anthropic.Anthropic(api_key=API_KEY, base_url=sim.base_url, max_retries=0) as sdk,
    ):
        yield sdk


def _exists(client: anthropic.Anthropic, model: str) -> tuple[bool, bool, bool]:
    """(create accepted, retrieve found, listed) for `model`."""
    try:
        client.messages.create(**doc_request(100, model=model, max_tokens=4))
        created = True
    except anthropic.NotFoundError as caught:
        assert (caught.status_code, caught.type) == (404, "not_found_error")
        created = False
    try:
        client.models.retrieve(model)
        found = True
    except anthropic.NotFoundError:
        found = False
    listed = model in [m.id for m in client.models.list()]
    return created, found, listed


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-sonnet-4-6", (True, True, True)),  # catalogued, active
        ("claude-opus-4-5", (True, True, True)),  # catalogued, retiring
        ("claude-3-haiku-20240307", (False, False, False)),  # retired 2026-04-20
        ("claude-3-7-sonnet", (False, False, False)),  # retired, an alias
        ("claude-from-next-year", (True, True, False)),  # newer than the catalog
        ("gpt-4o", (False, False, False)),  # not a Claude model
    ],
)
def test_create_retrieve_and_list_agree_on_which_ids_exist(
    client: anthropic.Anthropic, model: str, expected: tuple[bool, bool, bool]
) -> None:
    assert _exists(client, model) == expected


def test_a_model_retires_at_midnight_utc_on_its_day(
    client: anthropic.Anthropic, clock: Clock
) -> None:
    clock.now = _midnight(2026, 11, 30) - 1  # the last second of Sonnet 4.5
    assert _exists(client, "claude-sonnet-4-5") == (True, True, True)
    assert client.models.retrieve("claude-sonnet-4-5").retires_at == datetime(
        2026, 11, 30, tzinfo=UTC
    )
    clock.now = _midnight(2026, 11, 30)
    assert _exists(client, "claude-sonnet-4-5") == (False, False, False)
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(**doc_request(100, model="claude-sonnet-4-5-20250929"))
    assert caught.value.type == "not_found_error"
    assert caught.value.api_message == "model: claude-sonnet-4-5-20250929"


def test_the_advance_hook_moves_retirements_too(client: anthropic.Anthropic, clock: Clock) -> None:
    import json
    import urllib.request

    base = str(client.base_url).rstrip("/")
    request = urllib.request.Request(
        base + "/_sim/advance",
        data=json.dumps({"seconds": DAY}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    assert _exists(client, "claude-sonnet-4-5") == (False, False, False)


def test_model_objects_carry_lifecycle_window_and_line(client: anthropic.Anthropic) -> None:
    retiring = client.models.retrieve("claude-opus-4-5")
    assert (retiring.lifecycle, retiring.line) == ("deprecated", "opus")
    assert retiring.retires_at == datetime(2027, 1, 22, tzinfo=UTC)
    current = client.models.retrieve("claude-fable-5-1")
    assert (current.lifecycle, current.retires_at, current.display_name) == (
        "active",
        None,
        "Claude Fable 5.1",
    )
    assert current.max_input_tokens == 1_000_000
    unknown = client.models.retrieve("claude-from-next-year")
    assert (unknown.id, unknown.lifecycle, unknown.max_input_tokens) == (
        "claude-from-next-year",
        "active",
        None,
    )
