"""Prepared source articles kept in memory, least recently used first out.

A source that new articles keep aligning with (a wire story being reprinted) is
prepared once, not once per reprint. Thread-safe.

A cached source is a ``Prepared``: the few arrays the service reads and the core's
copy that ``compare`` aligns, not every stage's ``Document`` (a third of a prepared
3,000-character article was its token strings alone; ``compare`` answers the same).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from wiretrace.engine.detect import Prepared

__all__ = ["SourceCache"]


class SourceCache:
    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._docs: OrderedDict[int, Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, key: int) -> Prepared | None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                self._docs.move_to_end(key)
            return doc

    def put(self, key: int, doc: Prepared) -> None:
        if not self.capacity:
            return
        with self._lock:
            self._docs[key] = doc
            self._docs.move_to_end(key)
            while len(self._docs) > self.capacity:
                self._docs.popitem(last=False)

    def forget(self, key: int) -> None:
        with self._lock:
            self._docs.pop(key, None)

    def signatures(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        """The signatures of the cached articles among ``keys`` (no recency change)."""
        with self._lock:
            return {
                k: doc.stored_signatures for k in keys if (doc := self._docs.get(k)) is not None
            }
