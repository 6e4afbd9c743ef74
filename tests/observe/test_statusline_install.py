"""`promptcache-tui statusline --install`: Claude Code's settings get our statusLine, and
nothing else of them changes."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from promptcache_tui.observe.claude_settings import (
    REFRESH_INTERVAL_S,
    InstallError,
    install,
    statusline_entry,
)
from tests.conftest import CliResult


@pytest.fixture
def claude_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user whose Claude Code config dir is ~/.claude (no CLAUDE_CONFIG_DIR)."""
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return user / ".claude"


def settings(folder: Path) -> Path:
    return folder / "settings.json"


MINE = """{
    "model": "opus",
    "permissions": {
        "allow": ["Bash(git status)", "Read(~/notes/**)"],
        "deny": []
    },
    "env": {"EDITOR": "vim", "GREETING": "grüß dich"},
    "hooks": {}
}
"""


def test_a_user_without_settings_gets_a_private_file_with_the_setting(
    cli: Callable[..., CliResult], claude_home: Path, home: Path
) -> None:
    result = cli("statusline", "--install")
    assert result.code == 0, result.err
    path = settings(claude_home)
    assert path.stat().st_mode & 0o777 == 0o600
    entry = json.loads(path.read_text())["statusLine"]
    assert entry["type"] == "command" and entry["refreshInterval"] == REFRESH_INTERVAL_S
    words = shlex.split(entry["command"])
    # The data dir in effect (PROMPTCACHE_TUI_HOME here) goes into the command: Claude Code
    # may start from a shell that does not set it.
    assert words[-3:] == ["statusline", "--data-dir", str(home)]
    assert Path(words[0]).is_absolute()
    assert f"added statusLine in {path}" in result.out


def test_other_settings_stay_byte_for_byte(
    cli: Callable[..., CliResult], claude_home: Path
) -> None:
    claude_home.mkdir()
    path = settings(claude_home)
    path.write_text(MINE, encoding="utf-8")
    path.chmod(0o644)
    assert cli("statusline", "--install").code == 0
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert {k: v for k, v in data.items() if k != "statusLine"} == json.loads(MINE)
    # Inserted after the last member, in the file's own indentation; the rest untouched.
    head, _, added = text.partition(',\n    "statusLine": ')
    assert head + "\n}\n" == MINE
    assert added.startswith('{\n        "type": "command",')
    assert added.endswith("\n    }\n}\n")
    assert path.stat().st_mode & 0o777 == 0o644  # the user's own mode is kept
    # Installing again changes nothing.
    before = path.read_bytes()
    again = cli("statusline", "--install")
    assert again.code == 0 and "already runs it" in again.out
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "original",
    [
        "{}",
        "{}\n",
        '{"a":1}',
        '{\r\n  "a": [1, 2],\r\n  "b": {"c": null}\r\n}\r\n',
        '\ufeff{"a": 1}',
        "",
        "  \n",
    ],
)
def test_any_layout_keeps_its_content(original: str, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(original, encoding="utf-8", newline="")
    entry = statusline_entry()
    if original.startswith("\ufeff"):
        with pytest.raises(InstallError, match="cannot parse"):
            install(entry, path=path)
        return
    done = install(entry, path=path)
    assert done.action == "added"
    text = path.read_bytes().decode("utf-8")
    before = json.loads(original) if original.strip() else {}
    assert json.loads(text) == {**before, "statusLine": entry}
    if "\r\n" in original:
        assert "\n" not in text.replace("\r\n", "")  # one newline style


def test_a_different_status_line_is_kept_unless_forced(
    cli: Callable[..., CliResult], claude_home: Path
) -> None:
    claude_home.mkdir()
    path = settings(claude_home)
    theirs = '{\n  "statusLine": {"type": "command", "command": "~/bin/my-line.sh"},\n  "x": 1\n}\n'
    path.write_text(theirs)
    refused = cli("statusline", "--install")
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert "already has a statusLine" in refused.err and "my-line.sh" in refused.err
    assert "--force" in refused.err and 'echo "$input" |' in refused.err  # how to combine
    assert path.read_text() == theirs
    forced = cli("statusline", "--install", "--force")
    assert forced.code == 0 and "replaced statusLine" in forced.out
    text = path.read_text()
    command = shlex.split(json.loads(text)["statusLine"]["command"])
    assert command[-3:] == ["statusline", "--data-dir", os.environ["PROMPTCACHE_TUI_HOME"]]
    # Only the value changed: what came before and after it is as it was.
    assert text.startswith('{\n  "statusLine": {\n    "type": "command",')
    assert text.endswith('\n  },\n  "x": 1\n}\n')


def test_claude_config_dir_and_a_symlinked_settings_file_are_honoured(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "cc-config"
    real = tmp_path / "dotfiles" / "claude-settings.json"
    real.parent.mkdir()
    real.write_text('{"theme": "dark"}\n')
    config.mkdir()
    (config / "settings.json").symlink_to(real)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert cli("statusline", "--install").code == 0
    assert (config / "settings.json").is_symlink()  # the link stays a link
    data = json.loads(real.read_text())
    assert data["theme"] == "dark" and data["statusLine"]["type"] == "command"


def test_a_settings_file_it_cannot_parse_is_left_alone(
    cli: Callable[..., CliResult], claude_home: Path
) -> None:
    claude_home.mkdir()
    path = settings(claude_home)
    path.write_text('{"model": "opus",}\n')  # a trailing comma
    result = cli("statusline", "--install")
    assert result.code == 1 and result.err.count("\n") == 1
    assert "cannot parse" in result.err and '"statusLine": {"type": "command"' in result.err
    assert path.read_text() == '{"model": "opus",}\n'
    path.write_text("[1, 2]")
    assert "does not hold a JSON object" in cli("statusline", "--install").err


def test_the_data_dir_flag_goes_into_the_command(
    cli: Callable[..., CliResult], claude_home: Path, tmp_path: Path
) -> None:
    chosen = tmp_path / "my data"
    assert cli("--data-dir", str(chosen), "statusline", "--install").code == 0
    command = json.loads(settings(claude_home).read_text())["statusLine"]["command"]
    assert shlex.split(command)[-2:] == ["--data-dir", str(chosen)]
