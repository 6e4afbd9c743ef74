"""The settings every command runs with: plain data, no I/O (`config` reads them).

Here, not in `config`, so that the call service (which may import only the core, the store
and the simulator) can take them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL = "claude-sonnet-4-6"


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

    def mode_label(self) -> str:
        """LIVE or OFFLINE SIMULATOR, as the header shows it."""
        return "LIVE" if self.live else "OFFLINE SIMULATOR"
