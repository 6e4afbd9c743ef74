"""Settings: one validated object, read once from the environment, `.env` and the data dir."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from promptcache_tui.core.errors import UserError

DEFAULT_MODEL = "claude-sonnet-4-6"
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
    """Load one `.env` file if it exists; variables already in the environment win."""
    if not path.is_file():
        return
    from dotenv import load_dotenv

    try:
        load_dotenv(path, override=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to know about where to write and whom to call."""

    data_dir: Path
    api_key: str | None = field(default=None, repr=False)  # never printed, never stored
    base_url: str | None = None
    offline: bool = False
    model: str | None = None
    max_tokens: int = 1024  # output cap per chat/ask call (PROMPTCACHE_TUI_MAX_TOKENS)

    @property
    def live(self) -> bool:
        """True when calls go to the real API (or a server named by ANTHROPIC_BASE_URL)."""
        return bool(self.api_key) and not self.offline

    @property
    def db_path(self) -> Path:
        """The app's SQLite database."""
        return self.data_dir / "promptcache.sqlite3"

    @property
    def sim_state_path(self) -> Path:
        """The offline simulator's cache state."""
        return self.data_dir / "simulator.sqlite3"

    def mode_label(self) -> str:
        """LIVE or OFFLINE SIMULATOR, as the header shows it."""
        return "LIVE" if self.live else "OFFLINE SIMULATOR"


def load_settings(
    data_dir: Path | str | None = None, *, offline: bool = False, model: str | None = None
) -> Settings:
    """Load `.env` (working dir, then data dir), resolve the data dir, read the API settings."""
    # The working dir's .env may itself set PROMPTCACHE_TUI_HOME, so it is read first.
    load_dotenv_file(Path.cwd() / ".env")
    path = resolve_data_dir(data_dir)
    load_dotenv_file(path / ".env")
    key = os.environ.get("ANTHROPIC_API_KEY") or None
    base_url = os.environ.get("ANTHROPIC_BASE_URL") or None
    return Settings(data_dir=path, api_key=key, base_url=base_url, offline=offline, model=model,
                    max_tokens=_max_tokens(os.environ.get(MAX_TOKENS_ENV)))


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
