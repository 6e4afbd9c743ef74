"""Adding our `statusLine` to Claude Code's user settings, and nothing else.

Claude Code reads `settings.json` in its config dir: `$CLAUDE_CONFIG_DIR`, else
`~/.claude` (when that file is a symlink, the target is what it reads, so the target is
what is updated). The setting is inserted into the file's text where the JSON object ends
(or replaces the old value, with `force`), so every other byte of the file stays as the
user wrote it; the result is parsed back and compared with what was meant before it is
written, atomically, with the file's own mode (0600 for a new file).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptcache_tui.core.errors import UserError
from promptcache_tui.core.sanitize import one_line

SETTING = "statusLine"
# Claude Code re-runs the command this often (seconds) besides after each message, so the
# countdown moves while the user reads; a run with nothing new to log reads no database.
REFRESH_INTERVAL_S = 5
_WHITESPACE = re.compile(r"[ \t\n\r]+")  # JSON's insignificant whitespace (RFC 8259)


class InstallError(UserError):
    """The setting could not be added; the message says how to add it by hand."""


@dataclass(frozen=True, slots=True)
class Installed:
    """What `install` did."""

    path: Path
    action: str  # added | replaced | unchanged
    entry: dict[str, Any]


def config_dir() -> Path:
    """Claude Code's config dir: $CLAUDE_CONFIG_DIR, else ~/.claude."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".claude"


def settings_file() -> Path:
    """The user settings file Claude Code reads (a symlink's target)."""
    path = config_dir() / "settings.json"
    return path.resolve() if path.is_symlink() else path


def program() -> list[str]:
    """How to run this program again from Claude Code's shell: the console script by its
    absolute path (Claude Code may not share this shell's PATH), else `python -m`."""
    arg0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if arg0 is not None and arg0.name.removesuffix(".exe") == "promptcache-tui":
        found = arg0 if arg0.is_absolute() else Path.cwd() / arg0
        if found.is_file():
            return [str(found)]
    return [sys.executable, "-m", "promptcache_tui"]


def statusline_entry(data_dir: Path | None = None) -> dict[str, Any]:
    """The `statusLine` setting that runs `promptcache-tui statusline`."""
    command = [*program(), "statusline"]
    if data_dir is not None:
        command += ["--data-dir", str(Path(data_dir).expanduser().absolute())]
    return {
        "type": "command",
        "command": shlex.join(command),
        "padding": 0,
        "refreshInterval": REFRESH_INTERVAL_S,
    }


def _by_hand(entry: dict[str, Any]) -> str:
    return f'"{SETTING}": {json.dumps(entry)}'


def install(entry: dict[str, Any], *, force: bool = False, path: Path | None = None) -> Installed:
    """Add `entry` as the statusLine of Claude Code's settings (or say why not)."""
    path = path or settings_file()
    shown = one_line(str(path))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise InstallError(
            f"cannot read {shown}: {exc.strerror or exc}; add this to it by hand: {_by_hand(entry)}"
        ) from exc
    text = "" if raw is None else _decode(raw, shown, entry)
    current: Any = {} if not text.strip() else _parse(text, shown, entry)
    if not isinstance(current, dict):
        raise InstallError(
            f"{shown} does not hold a JSON object; add this to it by hand: {_by_hand(entry)}"
        )
    existing = current.get(SETTING)
    if isinstance(existing, dict) and existing.get("command") == entry["command"]:
        return Installed(path, "unchanged", existing)
    if existing is not None and not force:
        theirs = existing.get("command") if isinstance(existing, dict) else existing
        raise InstallError(
            f"{shown} already has a statusLine ({one_line(json.dumps(theirs))[:120]}); "
            f"run again with --force to replace it, or have your own command pipe its input "
            f'to ours: input=$(cat); echo "$input" | {entry["command"]}'
        )
    wanted = {**current, SETTING: entry}
    new_text = _edited(text, entry, replace=existing is not None)
    if new_text is None or json.loads(new_text) != wanted:
        # The text could not be edited in place (an odd layout): write it out whole.
        new_text = json.dumps(wanted, indent=2, ensure_ascii=False) + "\n"
    _write(path, new_text.encode("utf-8"))
    return Installed(path, "replaced" if existing is not None else "added", entry)


def _decode(raw: bytes, shown: str, entry: dict[str, Any]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstallError(
            f"{shown} is not UTF-8 text; add this to it by hand: {_by_hand(entry)}"
        ) from exc


def _parse(text: str, shown: str, entry: dict[str, Any]) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InstallError(
            f"cannot parse {shown} ({one_line(str(exc))}); fix it, or add this to it by hand: "
            f"{_by_hand(entry)}"
        ) from exc


def _edited(text: str, entry: dict[str, Any], *, replace: bool) -> str | None:
    """The file's text with the setting inserted or replaced, the rest untouched; None
    when the text is not laid out as expected."""
    if not text.strip():
        return json.dumps({SETTING: entry}, indent=2) + "\n"
    try:
        opening, closing, members = _members(text)
    except (ValueError, IndexError):
        return None
    newline = "\r\n" if "\r\n" in text else "\n"
    if members:
        first_key = members[0][1]
        gap = text[opening + 1 : first_key]
        indent = gap.rsplit("\n", 1)[-1] if "\n" in gap else ""
        multiline = "\n" in gap
    else:
        indent, multiline = "  ", True
    value = _value_text(entry, indent, newline, multiline)
    if replace:
        found = [m for m in members if m[0] == SETTING]
        if not found:
            return None
        _, _, start, end = found[-1]  # JSON's last duplicate wins: that is the one in effect
        return text[:start] + value + text[end:]
    member = f'"{SETTING}": {value}'
    if not members:
        inner = f"{newline}{indent}{member}{newline}" if multiline else member
        return text[: opening + 1] + inner + text[closing:]
    last_end = members[-1][3]
    joint = f",{newline}{indent}" if multiline else ", "
    return text[:last_end] + joint + member + text[last_end:]


def _value_text(entry: dict[str, Any], indent: str, newline: str, multiline: bool) -> str:
    if not multiline:
        return json.dumps(entry)
    step = indent if indent.strip(" \t") == "" and indent else "  "
    body = json.dumps(entry, indent=step)  # nested one level below the member
    return body.replace("\n", newline + indent)


def _members(text: str) -> tuple[int, int, list[tuple[str, int, int, int]]]:
    """The top-level object's `{` and `}` offsets and its members: (key, key start,
    value start, value end)."""
    decoder = json.JSONDecoder()
    i = _skip(text, 0)
    if text[i] != "{":
        raise ValueError("not an object")
    opening = i
    members: list[tuple[str, int, int, int]] = []
    i = _skip(text, i + 1)
    if text[i] == "}":
        return opening, i, members
    while True:
        if text[i] != '"':
            raise ValueError("expected a key")
        key, j = decoder.raw_decode(text, i)  # a string: text[i] is '"'
        j = _skip(text, j)
        if text[j] != ":":
            raise ValueError("expected ':'")
        start = _skip(text, j + 1)
        _, end = decoder.raw_decode(text, start)
        members.append((key, i, start, end))
        k = _skip(text, end)
        if text[k] == "}":
            if text[k + 1 :].strip():
                raise ValueError("text after the object")
            return opening, k, members
        if text[k] != ",":
            raise ValueError("expected ','")
        i = _skip(text, k + 1)


def _skip(text: str, i: int) -> int:
    """The index of the first character at or after `i` that is not JSON whitespace."""
    found = _WHITESPACE.match(text, i)
    return i if found is None else found.end()


def _write(path: Path, data: bytes) -> None:
    """Replace the file atomically, keeping its mode (0600 for a new one)."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InstallError(f"cannot write {one_line(str(path))}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(temp)
        raise InstallError(f"cannot write {one_line(str(path))}: {exc.strerror or exc}") from exc
