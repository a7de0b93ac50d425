"""The storage interface. Every backend keeps, per article, its text and metadata and
the MinHash signatures of its units, so that the index can be rebuilt at start without
re-reading the texts through the engine."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wiretrace.errors import InvalidInput

__all__ = ["ArticleRecord", "ArticleStore", "StoredMeta", "open_store"]


@dataclass(frozen=True, slots=True)
class StoredMeta:
    """What detection needs to know about a source without reading its text."""

    key: int
    id: str
    outlet: str
    published_at_ns: int | None
    sha256: str


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """A whole stored article. ``published_at_ns`` is nanoseconds since the epoch."""

    id: str
    outlet: str
    url: str
    published_at_ns: int | None
    language: str
    text: str


class ArticleStore(abc.ABC):
    """Articles keyed by the client's id and by a dense integer ``key`` of the store's."""

    @abc.abstractmethod
    def insert(
        self,
        record: ArticleRecord,
        sha256: str,
        signatures: npt.NDArray[np.uint32],
        *,
        replace_key: int | None = None,
    ) -> int:
        """Commit ``record`` (deleting ``replace_key`` in the same transaction) and
        return its new key. Returns only once the write is durable."""

    @abc.abstractmethod
    def insert_many(
        self, rows: list[tuple[ArticleRecord, str, npt.NDArray[np.uint32]]]
    ) -> list[int]:
        """Commit many new articles ``(record, sha256, signatures)`` in one transaction
        (bulk import); all or none are stored."""

    @abc.abstractmethod
    def meta_by_id(self, article_id: str) -> StoredMeta | None: ...

    @abc.abstractmethod
    def meta_by_key(self, key: int) -> StoredMeta | None: ...

    @abc.abstractmethod
    def record(self, article_id: str) -> ArticleRecord | None: ...

    @abc.abstractmethod
    def text(self, key: int) -> str | None: ...

    @abc.abstractmethod
    def signatures(self, key: int) -> npt.NDArray[np.uint32] | None: ...

    @abc.abstractmethod
    def signatures_many(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        """Signatures of the stored articles among ``keys``, in one round trip."""

    @abc.abstractmethod
    def delete(self, key: int) -> None: ...

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def scan_signatures(self) -> Iterator[tuple[int, npt.NDArray[np.uint32]]]:
        """Every ``(key, signatures)``, for rebuilding the index."""

    @abc.abstractmethod
    def close(self) -> None: ...


def open_store(url: str, *, num_perm: int) -> ArticleStore:
    """A store from a URL: ``sqlite:///path/to/file.db`` or a bare path (SQLite)."""
    from wiretrace.store.sqlite import SqliteStore

    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///") :]), num_perm=num_perm)
    if "://" in url:
        raise InvalidInput(f"unknown store URL {url!r}: use sqlite:///PATH or a file path")
    return SqliteStore(Path(url), num_perm=num_perm)
