"""The storage interface: articles and the LSH index over their passages, kept together
so that storing an article and indexing it are one atomic step on every backend.

Every backend keeps, per article, its text and metadata and the MinHash signatures of
its units; the index maps band keys of the indexable units to *passage keys*
``article_key << UNIT_BITS | unit``. Two backends implement it: the embedded default
(SQLite plus an in-process index rebuilt from the stored signatures at start) and
Redis (a shared index for many replicas).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wiretrace.engine.config import EngineConfig
from wiretrace.engine.index import lsh_params
from wiretrace.engine.signature import indexable_rows
from wiretrace.errors import Conflict, InvalidInput

__all__ = [
    "UNIT_BITS",
    "ArticleRecord",
    "ArticleStore",
    "IndexSpec",
    "Put",
    "StoredMeta",
    "open_store",
    "passage_rows",
    "text_conflict",
]

#: URL prefixes of the stores ``open_store`` knows.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
STORE_SCHEMES = ("sqlite:///", *REDIS_SCHEMES)

#: Passage keys are ``article_key << UNIT_BITS | unit``.
UNIT_BITS = 20
UNIT_MASK = (1 << UNIT_BITS) - 1


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """The signature width and LSH banding a store was created with."""

    num_perm: int
    bands: int
    rows: int

    @classmethod
    def of(cls, engine: EngineConfig) -> IndexSpec:
        """The spec a server with this engine configuration indexes with."""
        bands, rows = lsh_params(engine.index_threshold, engine.num_perm)
        return cls(num_perm=engine.num_perm, bands=bands, rows=rows)


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


@dataclass(frozen=True, slots=True)
class Put:
    """The outcome of ``ArticleStore.put``: the article's key, and whether this call
    stored it (False: the same id was stored already with the same text)."""

    key: int
    created: bool


def text_conflict(article_id: str) -> Conflict:
    """The error for an id that is stored already with another text."""
    return Conflict(
        f"article {article_id!r} is stored with a different text: "
        "set replace to overwrite it, or use a new id"
    )


def passage_rows(
    key: int, sigs: npt.NDArray[np.uint32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
    """The passage keys and signature rows under which an article is indexed."""
    units = indexable_rows(sigs)
    return (np.int64(key) << UNIT_BITS) | units.astype(np.int64), sigs[units]


class ArticleStore(abc.ABC):
    """Articles keyed by the client's id and by an integer ``key`` of the store's,
    which is never reused, and the band index over their passages."""

    spec: IndexSpec

    def _signatures(self, units: int, blob: bytes) -> npt.NDArray[np.uint32]:
        """An article's stored signature rows, from their bytes."""
        return np.frombuffer(blob, dtype=np.uint32).reshape(units, self.spec.num_perm)

    @abc.abstractmethod
    def put(
        self,
        record: ArticleRecord,
        sha256: str,
        signatures: npt.NDArray[np.uint32],
        *,
        replace: bool = False,
    ) -> Put:
        """Store and index ``record`` atomically, unless its id is stored already:
        with the same text nothing changes (``created`` False); with another text it
        raises ``Conflict``, or with ``replace`` the old article goes in the same step.
        Returns only once the write is durable."""

    @abc.abstractmethod
    def insert_many(
        self, rows: list[tuple[ArticleRecord, str, npt.NDArray[np.uint32]]]
    ) -> list[int]:
        """Store and index many new articles ``(record, sha256, signatures)`` at once
        (bulk import); all or none are stored."""

    @abc.abstractmethod
    def query_bands(self, sigs: npt.NDArray[np.uint32]) -> list[dict[int, int]]:
        """For each signature row, the passage keys sharing at least one band with it
        and how many bands they share."""

    @abc.abstractmethod
    def meta_by_id(self, article_id: str) -> StoredMeta | None: ...

    @abc.abstractmethod
    def meta_by_key(self, key: int) -> StoredMeta | None: ...

    @abc.abstractmethod
    def record(self, article_id: str) -> ArticleRecord | None: ...

    @abc.abstractmethod
    def text(self, key: int) -> str | None: ...

    @abc.abstractmethod
    def signatures_many(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        """Signatures of the stored articles among ``keys``, in one round trip."""

    @abc.abstractmethod
    def delete(self, article_id: str) -> bool:
        """Remove the article and its passages; False when there was none."""

    @abc.abstractmethod
    def expire(self, before_ns: int) -> int:
        """Remove every article published before ``before_ns``; returns how many."""

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def passages(self) -> int:
        """Passages in the index."""

    @abc.abstractmethod
    def index_bytes(self) -> int:
        """Memory the index takes (for Redis: all of the server's memory)."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise ``Unavailable`` when the store cannot be reached."""

    @abc.abstractmethod
    def close(self) -> None: ...


def open_store(url: str, spec: IndexSpec) -> ArticleStore:
    """A store from a URL: ``sqlite:///path/to/file.db`` or a bare path (embedded),
    or ``redis://host:port/db`` (shared)."""
    if url.startswith(REDIS_SCHEMES):
        from wiretrace.store.redis import RedisStore

        return RedisStore(url, spec)
    from wiretrace.store.sqlite import SqliteStore

    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///") :]), spec)
    if "://" in url:
        raise InvalidInput(
            f"unknown store URL {url!r}: use sqlite:///PATH, a file path or redis://HOST:PORT/DB"
        )
    return SqliteStore(Path(url), spec)
