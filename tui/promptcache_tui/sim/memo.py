"""Bounded memos of what the simulator derives from request content.

An agent sends the same ~100 KB of tools and system prompt on every turn; checking their
schemas and estimating their tokens again each time was most of a request's cost. A memo
remembers such a result under the exact content it was derived from (an encoding of the
content itself, see `content_key`, never an object's identity), so it cannot go stale:
other content is another key. It holds derived data only, never cache entries or anything
another process could change: those live in the shared SQLite state. Bounded in entries
and in bytes (keys, plus values where a weight is given); least recently used entries go
first. Safe across threads.
"""

from __future__ import annotations

import marshal
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Key = TypeVar("Key", str, bytes)
Value = TypeVar("Value")


def content_key(value: Any) -> bytes | None:
    """A byte encoding of a JSON value's content, or None for anything else.

    `marshal` (format 2: no back-references, so no dependence on which objects are
    shared) writes each type, each dict's keys in order and each string in full: equal
    bytes mean equal types and values, `True` is not `1`, `1.0` is not `1`. About ten
    times cheaper than canonical JSON for the same 100 KB; within one process only.
    """
    try:
        return marshal.dumps(value, 2)
    except ValueError:  # not plain data (a set, an object, a dict subclass...)
        return None


class Memo(Generic[Key, Value]):
    """A least-recently-used map from content to what was derived from it."""

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        weigh: Callable[[Value], int] | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._weigh = weigh  # bytes a value holds, counted with its key
        self._items: OrderedDict[Key, tuple[Value, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        """Bytes held: the keys' lengths plus the values' weights."""
        return self._bytes

    def get(self, key: Key, derive: Callable[[], Value]) -> Value:
        """The value remembered for `key`, else `derive()`, remembered if it fits."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found[0]
        value = derive()  # outside the lock: a race only derives the same value twice
        size = len(key) + (self._weigh(value) if self._weigh else 0)
        if size > self.max_bytes:
            return value  # too large to keep without pushing everything else out
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
                while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._bytes -= dropped
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
