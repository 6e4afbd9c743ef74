"""Several simulator processes on one socket: `promptcache-tui sim --workers N`.

One Python process serves on one core. uvicorn's supervisor starts N worker processes that
accept on the same listening socket; each builds its own app from the settings this module
puts in the environment (workers are spawned, not forked), and all of them keep their state
in the one data dir's SQLite database, so a prefix written through one worker is read
through another, and the test hooks (`/_sim/advance`, faults, reset) act on all of them.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

WORKER_ENV = "PROMPTCACHE_TUI_SIM_WORKER"
APP = "promptcache_tui.sim.workers:worker_app"


def worker_app() -> Starlette:
    """One worker's app, from the settings `serve_workers` left in the environment."""
    from promptcache_tui.sim.server import create_app

    spec = json.loads(os.environ[WORKER_ENV])
    rate = spec["rate"]
    return create_app(
        Path(spec["data_dir"]),
        rate=None if rate is None else float(rate),
        allow_remote=bool(spec["allow_remote"]),
    )


def serve_workers(
    sock: socket.socket,
    workers: int,
    data_dir: Path,
    *,
    rate: float | None,
    allow_remote: bool,
) -> None:
    """Serve on `sock` with `workers` processes until SIGINT or SIGTERM stops them all."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[WORKER_ENV] = json.dumps(
        {"data_dir": str(data_dir), "rate": rate, "allow_remote": allow_remote}
    )
    config = uvicorn.Config(
        APP,
        factory=True,
        workers=workers,
        lifespan="off",
        log_level="info",
        timeout_graceful_shutdown=2,
    )
    Multiprocess(config, sockets=[sock]).run()
