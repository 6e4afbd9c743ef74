"""glibc's mmap threshold, fixed for a long session (ui/heap.py; issue 16).

Each probe runs in a process of its own (the threshold is process-wide) and asks glibc
itself (`mallinfo2`) whether a block got a mapping of its own, returned when freed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from promptcache_tui.ui.heap import MMAP_THRESHOLD_BYTES, USER_SETTING

PROBE = """
import ctypes, sys
from promptcache_tui.ui.heap import fix_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks"
                " fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
fixed = fix_mmap_threshold() if sys.argv[1] == "fix" else False
libc.free(libc.malloc(4 << 20))  # an earlier, larger request freed: glibc's threshold moves
out = [str(fixed)]
for size in map(int, sys.argv[2:]):
    before = libc.mallinfo2().hblks
    block = libc.malloc(size)
    out.append("mapped" if libc.mallinfo2().hblks > before else "heap")
    libc.free(block)
print(" ".join(out))
"""

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="glibc's malloc only",
)


def probe(mode: str, *sizes: int, env: dict[str, str] | None = None) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != USER_SETTING} | (env or {})
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, *map(str, sizes)],
        capture_output=True,
        text=True,
        check=True,
        env=environ,
    )
    return done.stdout.split()


@glibc
def test_a_request_sized_block_has_its_own_mapping_even_after_larger_ones() -> None:
    # Blocks the heap's free top can hold (up to the trim threshold, twice the mmap one) may
    # come from it whatever the threshold: the probe asks for more than that.
    above = 2 * MMAP_THRESHOLD_BYTES + 4096
    assert probe("fix", above, 1 << 20, 3 << 20) == ["True", "mapped", "mapped", "mapped"]


@glibc
def test_without_it_glibc_serves_such_blocks_from_the_heap_once_a_larger_one_was_freed() -> None:
    # What the fix is for: after a freed 4 MB block, a 1 MB request body stays in the heap.
    assert probe("none", 1 << 20) == ["False", "heap"]


@glibc
def test_a_threshold_the_user_set_stands() -> None:
    assert probe("fix", 1 << 20, env={USER_SETTING: str(8 << 20)}) == ["False", "heap"]
