"""Process memory: a bounded, thread-safe LRU."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class ProcessLRU:
    """A thread-safe LRU in this process's memory, bounded by items and/or bytes."""

    def __init__(self, items: int = 0, max_bytes: int = 0) -> None:
        self.items, self.max_bytes = items, max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return default
            self._data.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any, size: int = 0) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._data[key] = (value, size)
            self._bytes += size
            while self._data and (
                (self.items and len(self._data) > self.items)
                or (self.max_bytes and self._bytes > self.max_bytes)
            ):
                self._bytes -= self._data.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0
