"""Settings: one validated object, read once from the environment, `.env` and the data dir."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from promptcache_tui.core.errors import UserError
from promptcache_tui.core.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    import logging

__all__ = ["DEFAULT_MODEL", "ConfigError", "Settings", "load_keymap", "load_settings"]

APP_NAME = "promptcache-tui"
HOME_ENV = "PROMPTCACHE_TUI_HOME"
MAX_TOKENS_ENV = "PROMPTCACHE_TUI_MAX_TOKENS"


class ConfigError(UserError, ValueError):
    """A setting is unusable; the message is one line for the user."""


def default_data_dir() -> Path:
    """The platform's user data dir for the app (platformdirs)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir(data_dir: Path | str | None = None) -> Path:
    """The data dir to use (flag, then PROMPTCACHE_TUI_HOME, then platformdirs), created 0700."""
    chosen = data_dir or os.environ.get(HOME_ENV) or default_data_dir()
    path = Path(chosen).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"data dir {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"cannot create data dir {path}: {exc.strerror or exc}") from exc
    return path


def load_dotenv_file(path: Path) -> None:
    """Load one `.env` file if it exists; variables already in the environment win.

    A file that is not UTF-8 text (or holds NUL bytes, which no environment variable can)
    is a ConfigError; lines python-dotenv cannot parse are skipped with one warning on
    stderr that names the file and the lines.
    """
    if not path.is_file():
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if b"\x00" in data:
        raise ConfigError(
            f"cannot read {path}: it looks binary (it contains NUL bytes); "
            "a .env file holds KEY=value lines"
        )
    try:
        text = data.decode("utf-8-sig")  # a BOM would otherwise glue itself to the first key
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read {path}: not UTF-8 text (bad byte "
            f"0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc
    import logging  # (only here: every command starts without it)

    from dotenv import load_dotenv
    from dotenv.parser import parse_stream

    bad = [b.original.line for b in parse_stream(io.StringIO(text)) if b.error]
    logger = logging.getLogger("dotenv.main")
    logger.addFilter(_drop_parse_warnings)  # reported once below, with the file's name
    try:
        load_dotenv(stream=io.StringIO(text), override=False)
    finally:
        logger.removeFilter(_drop_parse_warnings)
    if bad:
        from promptcache_tui.core.sanitize import one_line

        where = ", ".join(str(n) for n in bad)
        print(
            f"{APP_NAME}: warning: {one_line(str(path))}: cannot parse line"
            f"{'s' if len(bad) > 1 else ''} "
            f"{where} (ignored)",
            file=sys.stderr,
        )


def _drop_parse_warnings(record: logging.LogRecord) -> bool:
    return "could not parse" not in record.getMessage()


def load_settings(
    data_dir: Path | str | None = None, *, offline: bool = False, model: str | None = None
) -> Settings:
    """Load `.env` (working dir, then data dir), resolve the data dir, read the API settings."""
    # The working dir's .env may itself set PROMPTCACHE_TUI_HOME, so it is read first.
    load_dotenv_file(Path.cwd() / ".env")
    path = resolve_data_dir(data_dir)
    load_dotenv_file(path / ".env")
    # A blank key is no key (offline), not a header the HTTP client refuses to send.
    key = os.environ.get("ANTHROPIC_API_KEY", "").strip() or None
    from promptcache_tui.core.sanitize import register_secret

    register_secret(key)  # redacted from every message from now on, whatever its shape
    register_secret(os.environ.get("ANTHROPIC_AUTH_TOKEN"))  # the SDK would send it too
    base_url = os.environ.get("ANTHROPIC_BASE_URL", "").strip() or None
    if base_url is not None and key and not offline:
        check_base_url(base_url)
    return Settings(
        data_dir=path,
        api_key=key,
        base_url=base_url,
        offline=offline,
        model=model,
        max_tokens=_max_tokens(os.environ.get(MAX_TOKENS_ENV)),
    )


def check_base_url(value: str) -> None:
    """Refuse an ANTHROPIC_BASE_URL that is not an http(s) URL with a host (one line)."""
    from urllib.parse import urlsplit

    from promptcache_tui.core.sanitize import one_line

    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"ANTHROPIC_BASE_URL must be an http(s) URL such as https://api.anthropic.com, "
            f"not '{one_line(value)}'"
        )
    del port


def _max_tokens(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 1024
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 128_000:
        raise ConfigError(f"{MAX_TOKENS_ENV} must be a whole number from 1 to 128000, not {raw!r}")
    return value


KEYS_FILE = "keys.toml"


def load_keymap(data_dir: Path) -> dict[str, str]:
    """Key remaps from `keys.toml` in the data dir: `[keys]` binding id = "key[,key]".

    Example: `main.warm_now = "ctrl+w"`. Missing file: no remaps. A malformed one is a
    ConfigError naming the file.
    """
    import tomllib

    path = data_dir / KEYS_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise ConfigError(
            f'{path}: [keys] must map binding ids to keys, e.g. main.warm_now = "ctrl+w"'
        )
    out: dict[str, str] = {}
    # TOML reads `main.warm_now = ...` as a nested table: join the parts back into the id.
    pending: list[tuple[str, object]] = list(keys.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, dict):
            pending.extend((f"{name}.{k}", v) for k, v in value.items())
        elif isinstance(value, str) and value.strip():
            out[name] = value.strip()
        else:
            raise ConfigError(f'{path}: {name} must be a key such as "ctrl+w", not {value!r}')
    return out
