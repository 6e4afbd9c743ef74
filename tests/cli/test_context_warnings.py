"""`context add` and `context show` warn on a retired or retiring model and a context too long."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
TEXT = "The harbour was quiet and the boats rocked gently in the evening tide. " * 200


def test_add_warns_on_a_retired_model_naming_a_replacement(cli: Cli) -> None:
    added = cli("context", "add", "old", "--text", TEXT, "--model", "claude-3-haiku-20240307")
    assert added.code == 0  # still created: the user may mean to fix the model next
    assert "warning: model_retired: claude-3-haiku-20240307 was retired on 2026-04-20" in added.err
    assert "move to claude-haiku-4-5" in added.err
    shown = json.loads(cli("context", "show", "old", "--format", "json").out)
    codes = [w["code"] for w in shown["breakpoints"][0]["warnings"]]
    assert codes[0] == "model_retired"
    assert shown["replacement"] == "claude-haiku-4-5"


def test_add_warns_on_a_model_retiring_soon(cli: Cli, isolated_env: Path) -> None:
    # A retirement ten days from the real today, so the test holds on any day.
    soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    (isolated_env / "models.toml").write_text(
        f"[models.claude-sonnet-4-6]\nretires_on = {soon}\nreplacement = 'claude-sonnet-5'\n"
    )
    added = cli("context", "add", "soon", "--text", TEXT)
    assert added.code == 0
    assert f"model_retiring: claude-sonnet-4-6 retires on {soon} (in 10 days)" in added.err
    assert "move to claude-sonnet-5" in added.err
    shown = cli("context", "show", "soon")
    assert "bp 1: model_retiring:" in shown.out


def test_add_warns_on_a_context_over_the_window(cli: Cli, isolated_env: Path) -> None:
    (isolated_env / "models.toml").write_text("[models.claude-sonnet-4-6]\ncontext_window = 1000\n")
    added = cli("context", "add", "big", "--text", TEXT)
    assert added.code == 0
    assert "context_too_long:" in added.err and "context window of 1,000" in added.err
    small = cli("context", "add", "small", "--text", "A short note.")
    assert "context_too_long" not in small.err


def test_a_current_model_adds_without_warnings(cli: Cli) -> None:
    added = cli("context", "add", "fine", "--text", TEXT)
    assert added.code == 0 and "warning" not in added.err


def test_a_retirement_is_counted_from_the_clis_clock(
    cli: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The days left come from the clock the command runs on (here frozen), not from the
    # real date: the same data says the same thing in a test on any day.
    frozen = datetime(2031, 3, 1, 12, tzinfo=UTC).timestamp()
    monkeypatch.setattr("promptcache_tui.cli.context_cmd.wall_clock", lambda: frozen)
    (isolated_env / "models.toml").write_text(
        "[models.claude-sonnet-4-6]\nretires_on = 2031-03-11\n"
    )
    added = cli("context", "add", "soon", "--text", TEXT)
    assert added.code == 0
    assert "model_retiring: claude-sonnet-4-6 retires on 2031-03-11 (in 10 days)" in added.err
    shown = json.loads(cli("context", "show", "soon", "--format", "json").out)
    [warning] = [w for w in shown["breakpoints"][0]["warnings"] if w["code"] == "model_retiring"]
    assert "(in 10 days)" in warning["message"]
