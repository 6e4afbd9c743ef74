"""Run the simulator inside the current process, on an ephemeral loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import uvicorn

from promptcache_tui.sim.quiet_server import QuietServer
from promptcache_tui.sim.server import create_app

START_TIMEOUT_S = 10.0


class InProcessSimulator:
    """The simulator served by uvicorn in a daemon thread on 127.0.0.1, port chosen by the OS.

    Use as a context manager, or call `start()` / `stop()`. `base_url` is what an SDK
    client takes (`Anthropic(base_url=sim.base_url, api_key="...")`).
    """

    def __init__(
        self,
        data_dir: Path,
        rate: float | None = None,
        *,
        clock: Callable[[], float] | None = None,
        prefill_rate: float | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.app = create_app(self.data_dir, clock=clock, rate=rate, prefill_rate=prefill_rate)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` once started."""
        if not self.port:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    def now(self) -> float:
        """The simulator's clock (epoch seconds, `/_sim/advance` jumps included).

        TTL countdowns of offline calls must use this clock, not the machine's wall clock.
        """
        return float(self.app.state.sim.now())

    def start(self) -> InProcessSimulator:
        """Bind, serve in a daemon thread, and return once it accepts requests."""
        if self._thread is not None:
            return self
        # Binding here (not in uvicorn) gives the port at once and fails loudly in this thread.
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it keep-alive requests stall ~40 ms on Nagle + delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        # log_config=None: an embedded server must not reconfigure the host app's logging.
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        server = QuietServer(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"promptcache-sim:{self.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the in-process simulator failed to start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Shut the server down and close the state file."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=5)
        self.app.state.sim.close()
        self.port = 0

    def __enter__(self) -> InProcessSimulator:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
