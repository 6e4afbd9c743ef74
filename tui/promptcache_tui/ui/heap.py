"""glibc's malloc, tuned for a long-running process whose requests keep growing.

A chat sends its whole conversation on every call: the request body, its JSON and the
simulator's parse of it are each a few hundred KB at 100 answers, and freed after the call.
glibc raises its mmap threshold to the largest block freed so far (up to 32 MB) and its
trim threshold to twice that, so from then on blocks of that size come from the heaps, and
each thread's heap keeps up to twice the largest request free and unreturned. Measured with
`benchmarks/bench_memory.py` (one conversation, 100 answers of 1,500 tokens): malloc's free
lists grew 10.3 -> 11.8 MB over answers 50-100 with the threshold moving, 5.8 -> 7.3 MB
with it fixed here (5.6 -> 5.9 MB with `MALLOC_MMAP_THRESHOLD_` set from the start). A
fixed threshold gives such blocks mappings of their own, returned to the system when
freed; smaller blocks are served from the heaps as before. Textual-free.
"""

from __future__ import annotations

import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD_BYTES = 256 * 1024
USER_SETTING = "MALLOC_MMAP_THRESHOLD_"  # glibc reads it at start; a user's choice stands


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at `threshold` bytes (which also stops it moving), and its
    trim threshold at twice that, as glibc's own rule would set it (start-up may already
    have raised it to twice a large block freed then).

    Returns False, changing nothing, without glibc or when the user set the threshold.
    """
    if not sys.platform.startswith("linux") or USER_SETTING in os.environ:
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl ignores mallopt)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(
        mallopt(M_TRIM_THRESHOLD, 2 * threshold)
    )
