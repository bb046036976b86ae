"""Results kept per warehouse snapshot: a district's overview costs seconds to compute (every
test of the document) and a dashboard asks for it again and again.

Keys include the snapshot token, so an ingest makes every older entry unreachable (they age
out of the LRU). Concurrent requests for the same key compute it once: the others wait for the
first (single flight), so twenty clients opening the same page cost one computation. A
computation that raises is not kept (a bad or unknown request is never cached).

`peek` answers from memory without computing (the API's fast path, on the event loop);
`stats()` counts hits and misses, so a test (or an operator) can tell what was served warm.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

MISSING: Any = object()      # what `peek` returns for a key not held


class ResultCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def peek(self, key: Hashable) -> Any:
        """The value held for `key` (counted as a hit), else MISSING (not counted: the `get`
        that follows counts it)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key]
        return MISSING

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

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
            except BaseException:
                with self._lock:
                    self._computing.pop(key, None)
                raise
            with self._lock:   # kept before the flight ends: no second computation slips in
                self._values[key] = value
                self._computing.pop(key, None)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
            return value

    def stats(self) -> dict[str, int]:
        """hits, misses, entries held and the size limit."""
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "entries": len(self._values),
                    "size": self.size}

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
