"""Bounded memos of what the simulator derives from request content.

An agent sends the same ~100 KB of tools and system prompt on every turn; checking their
schemas and estimating their tokens again each time was most of a request's cost. A memo
remembers such a result under the exact content it was derived from (bytes or a string of
the content itself, never an object's identity), so it cannot go stale: other content is
another key. It holds derived data only, never cache entries or anything another process
could change: those live in the shared SQLite state. Bounded in entries and in the size
of the keys it keeps; least recently used entries go first. Safe across threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Key = TypeVar("Key", str, bytes)
Value = TypeVar("Value")


class Memo(Generic[Key, Value]):
    """A least-recently-used map from content to what was derived from it."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Key, Value] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        """Total length of the keys held."""
        return self._bytes

    def get(self, key: Key, derive: Callable[[], Value]) -> Value:
        """The value remembered for `key`, else `derive()`, remembered if the key fits."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = derive()  # outside the lock: a race only derives the same value twice
        size = len(key)
        if size > self.max_bytes:
            return value  # too large to keep without pushing everything else out
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._bytes += size
                while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                    old, _ = self._items.popitem(last=False)
                    self._bytes -= len(old)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
