"""Configuration: .env files in the working dir and the data dir, and the data dir itself."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_dotenv_in_the_working_dir_can_choose_the_data_dir(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMPTCACHE_TUI_HOME")
    home = tmp_path / "from-dotenv"
    Path(".env").write_text(f"PROMPTCACHE_TUI_HOME={home}\n")
    assert cli("context", "add", "notes", "--text", "hello there").code == 0
    assert (home / "promptcache.sqlite3").exists()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_the_environment_wins_over_dotenv(cli: Cli, isolated_env: Path, tmp_path: Path) -> None:
    Path(".env").write_text(f"PROMPTCACHE_TUI_HOME={tmp_path / 'ignored'}\n")
    assert cli("context", "add", "notes", "--text", "hello there").code == 0
    assert (isolated_env / "promptcache.sqlite3").exists()
    assert not (tmp_path / "ignored").exists()


def test_dotenv_in_the_data_dir_makes_calls_live(
    cli: Cli, isolated_env: Path, tmp_path: Path
) -> None:
    from promptcache_tui.sim.inprocess import InProcessSimulator

    with InProcessSimulator(tmp_path / "remote", rate=0) as remote:
        (isolated_env / ".env").write_text(
            f"ANTHROPIC_API_KEY=sk-from-dotenv\nANTHROPIC_BASE_URL={remote.base_url}\n"
        )
        assert cli("context", "add", "notes", "--text", "hello there " * 600).code == 0
        record = json.loads(cli("ask", "notes", "hi?", "--format", "json").out)
        assert record["status"] == "ok"
        assert (remote.data_dir / "simulator.sqlite3").exists()
        assert not (isolated_env / "simulator.sqlite3").exists()


def test_a_data_dir_that_is_a_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = cli("--data-dir", str(not_a_dir), "context", "list")
    assert result.code != 0 and "is a file" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_keys_toml_remaps_bindings_by_id(isolated_env: Path) -> None:
    from promptcache_tui.config import load_keymap

    assert load_keymap(isolated_env) == {}
    (isolated_env / "keys.toml").write_text('[keys]\nmain.warm_now = "ctrl+w"\n')
    assert load_keymap(isolated_env) == {"main.warm_now": "ctrl+w"}


@pytest.mark.parametrize("content", ["[keys\n", "[keys]\nmain.warm_now = 5\n", "keys = 1\n"])
def test_a_malformed_keys_toml_is_one_clear_error(isolated_env: Path, content: str) -> None:
    from promptcache_tui.config import ConfigError, load_keymap

    (isolated_env / "keys.toml").write_text(content)
    with pytest.raises(ConfigError, match=r"keys\.toml"):
        load_keymap(isolated_env)
