"""Results kept per warehouse snapshot: a district's overview costs seconds to compute (every
test of the document) and a dashboard asks for it again and again.

Keys include the snapshot token, so an ingest makes every older entry unreachable (they age
out of the LRU). Concurrent requests for the same key compute it once: the others wait for the
first (single flight), so twenty clients opening the same page cost one computation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class ResultCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key]  # type: ignore[no-any-return]
            flight = self._computing.setdefault(key, threading.Lock())
        with flight:
            with self._lock:   # computed by another request while this one waited
                if key in self._values:
                    self.hits += 1
                    return self._values[key]  # type: ignore[no-any-return]
            self.misses += 1
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            with self._lock:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
