"""Running a command's coroutine so that Ctrl-C, SIGTERM and SIGHUP end it cleanly.

The first of these signals cancels the command's task (its call, if one is in flight, is
settled as interrupted on the way out); further ones are ignored while that happens. The
command then ends with `Interrupted`: one line, and the conventional exit code 128 + the
signal's number (130, 143, 129).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from promptcache_tui.core.errors import UserError

T = TypeVar("T")
SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


class Interrupted(UserError):
    """The command was stopped by a signal; `code` is the exit code it should end with."""

    def __init__(self, signum: int, detail: str = "") -> None:
        self.signum = signum
        self.code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}" + (f": {detail}" if detail else ""))


def run_interruptible(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)`, with the signals above cancelling it (then raising Interrupted).

    The cancellation carries the signal's name, so a call settled on the way out can say
    which one stopped it.
    """
    received: list[int] = []

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def on_signal(signum: int) -> None:
            if not received:
                received.append(signum)
                task.cancel(signal.Signals(signum).name)

        installed = []
        for sig in SIGNALS:
            try:
                loop.add_signal_handler(sig, on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no such support: default handling
            installed.append(sig)
        try:
            return await coro
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        if received:
            raise Interrupted(received[0]) from None
        raise
    except BaseException:
        if received:  # the cancellation surfaced as another error on its way out
            raise Interrupted(received[0]) from None
        raise
