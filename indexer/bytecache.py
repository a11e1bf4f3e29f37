"""A least-recently-used cache of text functions, bounded in bytes rather than entries.

Questions and passages differ a thousandfold in length, so a cache bounded by its number of
entries is not bounded in memory: 16,384 tokenisations of 500-character questions hold ~2 GiB.
This one counts what each entry keeps alive (key, value and its items, bookkeeping) and forgets
the least recently used entries beyond ``max_bytes``; a result larger than the whole budget is
computed and returned but not kept. Thread-safe.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R", str, tuple[str, ...])

_ENTRY_OVERHEAD = 100  # the OrderedDict node and the (value, cost) pair


def entry_cost(key: str, value: str | tuple[str, ...]) -> int:
    cost = sys.getsizeof(key) + sys.getsizeof(value) + _ENTRY_OVERHEAD
    if isinstance(value, tuple):
        cost += sum(sys.getsizeof(item) for item in value)
    return cost


class ByteBoundedCache(Generic[R]):
    def __init__(self, function: Callable[[str], R], max_bytes: int) -> None:
        self.function: Callable[[str], R] = function
        self.max_bytes = max_bytes
        self.__doc__ = function.__doc__
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[R, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, key: str) -> R:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit[0]
        value = self.function(key)
        cost = entry_cost(key, value)
        if cost > self.max_bytes:
            return value
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, cost)
                self.bytes += cost
                while self.bytes > self.max_bytes:
                    _, (_, freed) = self._entries.popitem(last=False)
                    self.bytes -= freed
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


def byte_lru(max_bytes: int) -> Callable[[Callable[[str], R]], ByteBoundedCache[R]]:
    """Decorator: ``@byte_lru(8 * 2**20)`` over a function of one string."""

    def wrap(function: Callable[[str], R]) -> ByteBoundedCache[R]:
        return ByteBoundedCache(function, max_bytes)

    return wrap
