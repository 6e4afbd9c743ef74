"""The one place the program reads the wall clock. Everything else takes a clock.

Components take a `Clock` (seconds since the epoch) and default to `wall_clock`; tests
inject a fixed or moving one. Durations use time.perf_counter / monotonic, not this.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def wall_clock() -> float:
    """Seconds since the epoch, now."""
    return time.time()  # clock: the one true source
