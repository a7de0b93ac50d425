"""Prepared source articles kept in memory, least recently used first out.

A source that new articles keep aligning with (a wire story being reprinted) is
prepared once, not once per reprint. Thread-safe.

A cached source is kept as ``compact`` makes it: without the normalised token strings
(``Tokens.words``), which only ``prepare`` reads (it turns them into the term and word
ids that compare uses). They were a third of a prepared 3,000-character article
(~25 of ~70 KB: one Python string per token); ``compare`` answers the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from wiretrace.engine.detect import Document

__all__ = ["SourceCache", "compact"]


def compact(doc: Document) -> Document:
    """``doc`` as a source for ``compare``: its token strings dropped (``prepare``
    alone reads them). Not a document to prepare from again."""
    if not doc.tokens.words:
        return doc
    return doc.without_words()


class SourceCache:
    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._docs: OrderedDict[int, Document] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, key: int) -> Document | None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                self._docs.move_to_end(key)
            return doc

    def put(self, key: int, doc: Document) -> None:
        if not self.capacity:
            return
        doc = compact(doc)
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
