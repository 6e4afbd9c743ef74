"""A uvicorn server that sleeps while idle: for servers run inside another program.

The TUI runs the offline simulator in a thread of its own process, and the recording proxy
runs next to a user's work all day: neither may cost CPU while nothing happens.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn


class QuietServer(uvicorn.Server):
    """uvicorn's server without its ten wake-ups a second, and quick to stop.

    uvicorn's main loop sleeps 100 ms at a time to notice `should_exit`; an earlier version
    here slept 5 ms to stop quickly in tests: 200 wake-ups a second, most of an idle
    dashboard's CPU (the TUI runs the offline simulator in-process). This one sleeps until
    `should_exit` is set (from any thread, or a signal handler) or a second has passed, and
    does uvicorn's once-a-second housekeeping (the date header) on every tick.
    """

    _exit = False
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    @property
    def should_exit(self) -> bool:
        """Set to stop serving; setting it wakes the main loop at once."""
        return self._exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit = value
        loop, wake = self._loop, self._wake
        if value and loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()  # after the event: the setter reads both
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            counter = (counter + 10) % 864_000  # on_tick's once-a-second work: each tick
            should_exit = await self.on_tick(counter)
