"""Serve the recording proxy: the ASGI app, its recorder and the store on one event loop.

`ProxyServer.serve()` runs in the foreground (the `proxy` command); `start()` / `stop()` run
it in a daemon thread on an ephemeral loopback port (tests, benchmarks), the way
`sim/inprocess.py` runs the simulator. `upstream="sim"` answers from the built-in
simulator, started in-process on its own loopback port with its state in the data dir;
the logged calls then follow the simulator's clock, like offline calls of our own.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from promptcache_tui.core.catalog import Catalog, load_catalog
from promptcache_tui.core.clock import Clock, wall_clock
from promptcache_tui.observe.proxy import (
    CONNECT_TIMEOUT_S,
    DEFAULT_UPSTREAM,
    READ_TIMEOUT_S,
    ProxyApp,
    install_log_filter,
)
from promptcache_tui.observe.recorder import OnLogged, ProxyRecorder, Report, to_stderr
from promptcache_tui.sim.quiet_server import QuietServer
from promptcache_tui.store import Store

if TYPE_CHECKING:
    from promptcache_tui.sim.inprocess import InProcessSimulator

DEFAULT_PORT = 8788
SIM = "sim"
START_TIMEOUT_S = 15.0


def choose_upstream(flag: str | None, env_base_url: str | None) -> str:
    """`--upstream`, else the proxy's own ANTHROPIC_BASE_URL, else the real API."""
    return (flag or env_base_url or DEFAULT_UPSTREAM).strip()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (TCP_NODELAY-friendly: IPPROTO_TCP given explicitly)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(256)
    return sock


class ProxyServer:
    """The proxy, ready to serve."""

    def __init__(
        self,
        data_dir: Path,
        upstream: str,
        *,
        db_path: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        keep_content: bool = True,
        catalog: Catalog | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        sim_rate: float | None = None,
        report: Report = to_stderr,
        on_logged: OnLogged | None = None,
        log_level: str = "warning",
        clock: Clock | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = db_path or self.data_dir / "promptcache.sqlite3"
        self.upstream = upstream
        self.host = host
        self.port = port
        self.allow_remote = allow_remote
        self.keep_content = keep_content
        self.catalog = catalog or load_catalog(self.data_dir)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.sim_rate = sim_rate
        self.report = report
        self.on_logged = on_logged
        self.log_level = log_level
        self.clock = clock  # the calls' timestamps (default: the simulator's or the wall's)
        self.recorder: ProxyRecorder | None = None
        self.app: ProxyApp | None = None
        self.sim: InProcessSimulator | None = None
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`: what a client sets ANTHROPIC_BASE_URL to."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    @property
    def upstream_url(self) -> str:
        """Where calls go (the in-process simulator's URL for `sim`)."""
        if self.upstream == SIM and self.sim is not None:
            return self.sim.base_url
        return self.upstream

    def listen(self) -> socket.socket:
        """Bind now (so the port is known and a busy port fails before anything starts)."""
        if self._sock is None:
            self._sock = bind(self.host, self.port)
            self.port = self._sock.getsockname()[1]
        return self._sock

    def _clock(self) -> Clock:
        sim = self.sim
        if self.clock is not None:
            return self.clock
        return sim.now if sim is not None else wall_clock

    async def serve(self) -> None:
        """Run until told to stop (Ctrl-C in the foreground, `stop()` from another thread)."""
        sock = self.listen()
        self._loop = asyncio.get_running_loop()
        if self.upstream == SIM and self.sim is None:
            from promptcache_tui.sim.inprocess import InProcessSimulator

            self.sim = InProcessSimulator(self.data_dir, rate=self.sim_rate).start()
        store = await Store.open(self.db_path)
        recorder = ProxyRecorder(
            store,
            self.catalog,
            keep_content=self.keep_content,
            live=self.upstream != SIM,
            report=self.report,
            on_logged=self.on_logged,
        )
        self.recorder = recorder
        connect = CONNECT_TIMEOUT_S if self.connect_timeout is None else self.connect_timeout
        read = READ_TIMEOUT_S if self.read_timeout is None else self.read_timeout
        app = ProxyApp(
            self.upstream_url,
            recorder=recorder,
            allow_remote=self.allow_remote,
            connect_timeout=connect,
            read_timeout=read,
            clock=self._clock(),
        )
        self.app = app
        install_log_filter()
        config = uvicorn.Config(
            app,
            log_config=None if self._thread is not None else uvicorn.config.LOGGING_CONFIG,
            log_level=self.log_level,
            lifespan="off",
            access_log=False,
            server_header=False,  # the upstream's own headers go back, not ours
            date_header=False,
            timeout_graceful_shutdown=2,
            timeout_keep_alive=75,
            h11_max_incomplete_event_size=64 * 1024,
        )
        server = QuietServer(config)
        self._server = server
        try:
            serving = asyncio.ensure_future(server.serve(sockets=[sock]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.005)
            self._ready.set()
            await serving
        finally:
            with contextlib.suppress(Exception):
                await recorder.close()
            await app.aclose()
            await store.close()
            if self.sim is not None:
                self.sim.stop()
                self.sim = None
            self._ready.set()

    # -- in a thread (tests, benchmarks) ------------------------------------------------

    def start(self) -> ProxyServer:
        """Serve in a daemon thread; return once it accepts requests."""
        if self._thread is not None:
            return self
        self.listen()
        self._thread = threading.Thread(target=self._run, name="promptcache-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._failure is not None:
            failure = self._failure
            self.stop()
            raise RuntimeError(f"the proxy failed to start: {failure}") from failure
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as exc:  # reported by start()
            self._failure = exc
            self._ready.set()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every call so far is logged (from another thread)."""
        recorder, loop = self.recorder, self._loop
        if recorder is None or loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(recorder.drain(), loop).result(timeout)

    def stop(self) -> None:
        """Stop serving, log what is pending, close everything."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._thread = None
        self._server = None

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
