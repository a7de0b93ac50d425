"""The storage interface: articles and the LSH index over their passages, kept together
so that storing an article and indexing it are one atomic step on every backend.

Every backend keeps, per article, its text and metadata and the MinHash signatures of
its units; the index maps the band keys of its indexed units to *passage keys*
``article_key << UNIT_BITS | unit``. Which units are indexed, and under which band
keys, is the engine's business: the caller passes them with each article
(``Passages``), and ``IndexSpec.passages`` derives them again from stored signatures
(to rebuild an index, or to remove an article). Two backends implement it: the
embedded default (SQLite plus an in-process index rebuilt at start) and Redis (a
shared index for many replicas).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "UNIT_BITS",
    "ArticleRecord",
    "ArticleStore",
    "Hits",
    "IndexSpec",
    "Lookup",
    "Passages",
    "Put",
    "Ranked",
    "Row",
    "Settle",
    "StoredMeta",
    "Submit",
    "Writes",
]

#: Passage keys are ``article_key << UNIT_BITS | unit``.
UNIT_BITS = 20


@dataclass(frozen=True, slots=True)
class Passages:
    """The indexed units of one article (row numbers of its signatures) and their band
    keys, shape ``(len(units), bands)``."""

    units: npt.NDArray[np.int64]
    band_keys: npt.NDArray[np.uint64]

    def keys(self, article_key: int) -> npt.NDArray[np.int64]:
        """The passage keys of these units in the article ``article_key``."""
        return self.units.astype(np.int64, copy=False) | (article_key << UNIT_BITS)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the index holds for rows of band keys: ``found[i]`` maps each passage
    key sharing a band with row ``i`` to the bands shared; ``capped[i]`` counts the
    band keys of row ``i`` whose bucket was over the cap and left out. ``agree[i]``,
    from a store that keeps a sketch per passage, maps the same passage keys to the
    signature slots agreeing with row ``i``'s; None from the others."""

    found: list[dict[int, int]]
    capped: list[int]
    agree: list[dict[int, int]] | None = None


@dataclass(frozen=True, slots=True)
class Hits:
    """A ``Lookup`` as flat arrays: row ``i`` of the band keys looked up has the
    next ``counts[i]`` entries of ``passages`` (passage keys), ``bands`` (bands
    shared) and ``agree`` (signature slots agreeing, from a store that keeps
    sketches; None from the others); ``capped`` as in ``Lookup``."""

    counts: npt.NDArray[np.int64]
    passages: npt.NDArray[np.int64]
    bands: npt.NDArray[np.int64]
    agree: npt.NDArray[np.int64] | None
    capped: list[int]

    @classmethod
    def of(cls, lookup: Lookup) -> Hits:
        """The same hits as ``lookup``'s dicts, in their order."""
        found, agree = lookup.found, lookup.agree
        counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
        total = int(counts.sum())
        passages = np.fromiter((p for f in found for p in f), dtype=np.int64, count=total)
        bands = np.fromiter((n for f in found for n in f.values()), dtype=np.int64, count=total)
        slots = None
        if agree is not None:
            slots = np.fromiter(
                (a[p] for f, a in zip(found, agree, strict=True) for p in f),
                dtype=np.int64,
                count=total,
            )
        return cls(counts, passages, bands, slots, list(lookup.capped))


@dataclass(frozen=True, slots=True)
class Ranked:
    """Candidate articles ranked by the store itself (``ArticleStore.ranked``): their
    keys, strongest first, and ``capped`` as in ``Lookup``."""

    keys: list[int]
    capped: list[int]


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """The signature width and LSH banding a store is written with (a store refuses a
    spec other than the one it was created with), and ``passages``, the function that
    picks an article's indexed units and computes their band keys from its signatures.
    """

    num_perm: int
    bands: int
    rows: int
    passages: Callable[[npt.NDArray[np.uint32]], Passages] = field(compare=False, repr=False)
    #: True when ``passages`` picks the rows that are not an empty set's signature,
    #: the first of each distinct one, under ``bands`` of ``rows`` rows: the embedded
    #: store then rebuilds its index in the core, one call per batch of articles
    #: (``PassageIndex.insert_articles``) instead of ``passages`` article by article.
    distinct_rows: bool = field(default=False, compare=False)


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


@dataclass(frozen=True, slots=True)
class Row:
    """One article to store: the record, the SHA-256 of its text (UTF-8), the MinHash
    signatures of all its units, and the passages to index."""

    record: ArticleRecord
    sha256: str
    signatures: npt.NDArray[np.uint32]
    passages: Passages


#: What ``ArticleStore.submit_then`` calls once a write is settled: its ``Put`` and
#: None, or None and the error.
Settle = Callable[[Put | None, BaseException | None], None]


@dataclass(frozen=True, slots=True)
class Submit:
    """A write for ``ArticleStore.submit_then``: ``put(row, replace=replace)``, settled
    through ``then``."""

    row: Row
    then: Settle
    replace: bool = False


@dataclass(frozen=True, slots=True)
class Writes:
    """What a store's writes have cost since it opened: the transactions that stored
    articles, and the articles they stored (group commit puts many in one)."""

    transactions: int
    articles: int


class ArticleStore(abc.ABC):
    """Articles keyed by the client's id and by an integer ``key`` of the store's,
    which is never reused, and the band index over their passages."""

    spec: IndexSpec

    def _signatures(self, units: int, blob: bytes) -> npt.NDArray[np.uint32]:
        """An article's stored signature rows, from their bytes."""
        return np.frombuffer(blob, dtype=np.uint32).reshape(units, self.spec.num_perm)

    @abc.abstractmethod
    def put(self, row: Row, *, replace: bool = False) -> Put:
        """Store and index ``row`` atomically, unless its id is stored already:
        with the same text nothing changes (``created`` False); with another text it
        raises ``Conflict``, or with ``replace`` the old article goes in the same step.
        Returns only once the write is durable."""

    def submit_then(self, writes: Sequence[Submit]) -> None:
        """``put`` of each of ``writes`` without waiting for it: ``then(put, None)``, or
        ``then(None, error)`` with the error ``put`` would raise, once the write is
        durable, on the thread that settles it. A store that commits in groups (the
        embedded one) puts them all in one group, and returns at once while a group
        commits, the caller's thread free; this default writes them one by one on the
        caller's thread before returning. ``then`` should not raise: what it raises is
        logged by a store that settles writes in groups, so that the group's others are
        settled too."""
        for write in writes:
            try:
                put = self.put(write.row, replace=write.replace)
            except Exception as err:
                write.then(None, err)
                continue
            write.then(put, None)

    @abc.abstractmethod
    def insert_many(self, rows: list[Row]) -> list[int]:
        """Store and index many new articles at once (bulk import); all or none are
        stored."""

    def writes(self) -> Writes | None:
        """The store's write transactions so far; None where they are not counted
        (the Redis stores write each article in a transaction of its own)."""
        return None

    def query_bands(self, band_keys: npt.NDArray[np.uint64]) -> list[dict[int, int]]:
        """For each row of band keys, the passage keys sharing at least one band with
        it and how many bands they share."""
        return self.lookup(band_keys, max_bucket=None).found

    @abc.abstractmethod
    def lookup(self, band_keys: npt.NDArray[np.uint64], *, max_bucket: int | None) -> Lookup:
        """``query_bands``, leaving out every bucket of more than ``max_bucket``
        passages (passim's maximum document frequency: boilerplate), and counting, per
        row, the buckets left out. The cost of a lookup does not grow past the cap."""

    def lookup_sketched(
        self,
        band_keys: npt.NDArray[np.uint64],
        signatures: npt.NDArray[np.uint32],
        *,
        max_bucket: int | None,
    ) -> Lookup:
        """``lookup``, with ``Lookup.agree`` filled by a store that keeps a sketch per
        passage (the embedded one), so that the candidate check reads nothing back;
        ``signatures`` are the rows' signatures. Other stores leave ``agree`` None."""
        return self.lookup(band_keys, max_bucket=max_bucket)

    def ranked(
        self,
        band_keys: list[npt.NDArray[np.uint64]],
        signatures: list[npt.NDArray[np.uint32]],
        *,
        max_bucket: int | None,
        min_jaccard: float,
        exclude_keys: list[int | None],
    ) -> list[Ranked] | None:
        """The candidate articles for each article's passages (``band_keys[i]``,
        ``signatures[i]``, leaving out ``exclude_keys[i]``), ranked from the sketches
        of a store that keeps them (the embedded one, in its index, in one call for
        them all): exactly ``domain.candidates.rank_candidates`` over
        ``lookup_sketched``. None from the other stores: the caller ranks their lookup
        from the stored signatures."""
        return None

    @abc.abstractmethod
    def meta_by_id(self, article_id: str) -> StoredMeta | None: ...

    @abc.abstractmethod
    def meta_by_key(self, key: int) -> StoredMeta | None: ...

    def metas_by_id(self, ids: list[str]) -> dict[str, StoredMeta]:
        """``meta_by_id`` of each of ``ids`` that is stored (the embedded store reads
        them in one statement; this default, one by one)."""
        return _each_found(self.meta_by_id, ids)

    def metas_by_key(self, keys: list[int]) -> dict[int, StoredMeta]:
        """``meta_by_key`` of each of ``keys`` that is stored (the embedded store reads
        them in one statement; this default, one by one)."""
        return _each_found(self.meta_by_key, keys)

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

    def repair(self) -> int:
        """Finish writes a crash left half-done; how many. Only a store whose writes
        are not atomic (the cluster) has any: the others have nothing to do."""
        return 0

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise ``Unavailable`` when the store cannot be reached."""

    @abc.abstractmethod
    def close(self) -> None: ...


K = TypeVar("K")


def _each_found(get: Callable[[K], StoredMeta | None], values: list[K]) -> dict[K, StoredMeta]:
    """``get`` of each of ``values``, those it finds."""
    found = {}
    for value in values:
        meta = get(value)
        if meta is not None:
            found[value] = meta
    return found
