"""Who has a call in flight, and whether that process is still alive.

A process that logs a call in flight first takes a lease: a file `<token>.lock` in a folder
beside the database (`promptcache.sqlite3.leases/`), locked with flock(2) for as long as its
database stays open. The kernel drops the lock when the process ends, however it ends
(SIGKILL and power loss included), so another process that can take the lock knows that the
owner is gone and its in-flight calls are orphans. No pid is compared (pids are reused, and
differ between containers sharing a data dir) and no clock is trusted.

Where flock is unavailable (not POSIX) the owner's liveness is unknown and its calls are
never settled by anyone else.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

try:
    import fcntl

    FLOCK = True
except ImportError:  # pragma: no cover - Windows
    FLOCK = False  # and `fcntl` is unbound: every use checks FLOCK first

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def lease_folder(db_path: Path) -> Path:
    """The folder holding the leases of a database's processes."""
    return db_path.with_name(db_path.name + ".leases")


def valid_token(token: str | None) -> bool:
    """True for a token this module could have made (a name safe to open in the folder)."""
    return bool(token and _TOKEN.match(token))


class Lease:
    """This process's claim on the calls it has in flight in one database."""

    def __init__(self, folder: Path) -> None:
        import secrets  # (hashlib and OpenSSL: only for a process that takes a lease)

        self.folder = folder
        self.token = secrets.token_hex(16)
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        """The lock file."""
        return self.folder / f"{self.token}.lock"

    @property
    def held(self) -> bool:
        """True once the lock file exists and is locked by this process."""
        return self._fd is not None

    def acquire(self) -> None:
        """Create and lock the lease file (raises OSError if the folder is unusable)."""
        if self._fd is not None or not FLOCK:
            return
        self.folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Remove the lease (after this process's calls are all settled)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


class Orphans:
    """The leases of dead owners, locked by us until their calls are settled."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held: dict[str, int] = {}

    def claim(self, token: str | None) -> bool:
        """True if `token`'s owner is gone (its lease is now held by us, or was removed).

        Rows with no owner or an owner name no lease can have are orphans too: no process
        can prove it still runs them. Unknown liveness (no flock here, an unreadable
        folder) is False: a call is never settled behind its owner's back.
        """
        if not valid_token(token):
            return True
        assert token is not None
        if token in self._held:
            return True
        if not FLOCK:
            return False
        try:
            fd = os.open(self.folder / f"{token}.lock", os.O_RDWR)
        except FileNotFoundError:
            return True  # a lease is removed only once its calls are settled, or it died
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False  # locked: the owner is alive
        self._held[token] = fd
        return True

    def release(self) -> None:
        """Remove the claimed leases (call once their calls are settled) and unlock them."""
        for token, fd in self._held.items():
            with contextlib.suppress(OSError):
                (self.folder / f"{token}.lock").unlink()
            os.close(fd)
        self._held.clear()
