"""The embedded store's in-memory passage index, over band keys computed by the engine.

The index lives in the compiled core (``core/engine/src/passage_index.rs``): per band,
the band keys sorted beside the passage holding each (12 bytes per band per passage),
plus a delta for new passages merged in bulk; and per passage a sketch of its
signature, the low 16 bits of each slot (2 bytes per permutation), so that the
candidate check estimates Jaccard similarity without reading signatures back from
SQLite. Every call releases the GIL; readers run concurrently, a writer alone.
``ranked`` also ranks the candidate articles in the same call, as
``domain.candidates.rank_candidates`` does.

Its candidates are exactly datasketch ``MinHashLSH``'s (``tests/test_index.py``).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

import wiretrace._core as _core
from wiretrace.store.base import UNIT_BITS, Lookup, Ranked

__all__ = ["DEFAULT_DELTA_LIMIT", "PassageIndex"]

#: New passages held in the delta before it is merged into the sorted arrays (or a
#: sixteenth of the index, when that is more).
DEFAULT_DELTA_LIMIT = 50_000

T = TypeVar("T", bound=np.generic)
BandKeys = npt.NDArray[np.uint64]
Signatures = npt.NDArray[np.uint32]


class PassageIndex:
    """Passage keys indexed by their band keys, with a sketch of their signatures."""

    def __init__(
        self,
        *,
        bands: int,
        num_perm: int,
        delta_limit: int = DEFAULT_DELTA_LIMIT,
        merge_inline: bool = True,
    ):
        """``delta_limit``: an insert of this many passages or more is a bulk load,
        sorted once by the next merge; with ``merge_inline``, an insert also merges the
        delta once it holds that many (or a sixteenth of the index). Without it, the
        owner merges with ``compact`` (the SQLite store, on a thread of its own)."""
        if bands < 1:
            raise ValueError(f"bands must be >= 1, got {bands}")
        if delta_limit < 1:
            raise ValueError(f"delta_limit must be >= 1, got {delta_limit}")
        self._core = _core.PassageIndex(
            bands=bands, num_perm=num_perm, delta_limit=delta_limit, merge_inline=merge_inline
        )
        self.bands = bands
        self.num_perm = num_perm

    def __len__(self) -> int:
        return len(self._core)

    @property
    def pending(self) -> int:
        """Passages inserted since the last merge."""
        return self._core.pending

    def insert(self, keys: npt.ArrayLike, bands: BandKeys, signatures: Signatures) -> None:
        """Index passages ``keys`` by their band keys ``bands`` (``(n, bands)``), with
        their signature rows ``signatures`` (``(n, num_perm)``)."""
        self._core.insert(
            np.ascontiguousarray(keys, dtype=np.int64),
            _rows(bands, np.uint64, self.bands),
            _rows(signatures, np.uint32, self.num_perm),
        )

    def insert_articles(
        self,
        article_keys: npt.ArrayLike,
        offsets: npt.ArrayLike,
        signatures: Signatures,
        *,
        rows: int,
        unit_bits: int,
    ) -> int:
        """Index stored articles from all their signature rows in one call: article
        ``i``'s rows are ``signatures[offsets[i]:offsets[i + 1]]``, and its passages
        the rows that are not an empty set's signature, the first of each distinct
        one (``distinct_indexable_rows``), keyed ``key << unit_bits | row``, under
        band keys of ``rows`` rows (``band_keys``). Returns the passages indexed."""
        return self._core.insert_articles(
            np.ascontiguousarray(article_keys, dtype=np.int64),
            np.ascontiguousarray(offsets, dtype=np.int64),
            _rows(signatures, np.uint32, self.num_perm),
            rows=rows,
            unit_bits=unit_bits,
        )

    def remove(self, keys: npt.ArrayLike, bands: BandKeys) -> int:
        """Forget ``keys``, indexed earlier with these same band keys; how many were."""
        return self._core.remove(
            np.ascontiguousarray(keys, dtype=np.int64), _rows(bands, np.uint64, self.bands)
        )

    def compact(self) -> None:
        """Merge the delta now (after a bulk load, or to free removed passages). The
        index's write lock is held only to freeze the delta and to swap the merged
        arrays in; lookups, inserts and removals go on while they are built."""
        self._core.compact()

    # The three steps of ``compact``, for tests that interleave writes with them.

    def begin_merge(self) -> bool:
        """Freeze the delta (new passages go to a fresh one); False: nothing to merge."""
        return self._core.begin_merge()

    def run_merge(self) -> None:
        """Build the merged arrays from the frozen delta, holding no lock of the index."""
        self._core.run_merge()

    def finish_merge(self) -> None:
        """Swap the merged arrays in."""
        self._core.finish_merge()

    def memory_bytes(self) -> int:
        """Bytes the index holds: arrays, sketches and delta, by capacity."""
        return self._core.memory_bytes()

    def lookup(
        self,
        bands: BandKeys,
        signatures: Signatures | None = None,
        *,
        max_bucket: int | None = None,
    ) -> Lookup:
        """For each row of band keys, the passages sharing at least one band with it
        and how many bands they share (about ``bands * J**rows`` for Jaccard J).

        A bucket of more than ``max_bucket`` passages is left out without being read
        (boilerplate), and counted in ``capped``. With the rows' ``signatures``,
        ``agree`` counts the signature slots each passage's sketch agrees with."""
        found, capped, agree = self._core.query(
            _rows(bands, np.uint64, self.bands),
            None if signatures is None else _rows(signatures, np.uint32, self.num_perm),
            max_bucket=max_bucket,
        )
        return Lookup(found, capped, agree)

    def ranked(
        self,
        bands: list[BandKeys],
        signatures: list[Signatures],
        *,
        max_bucket: int | None,
        min_jaccard: float,
        exclude_keys: list[int | None],
    ) -> list[Ranked]:
        """``lookup``'s hits of each article's rows (``bands[i]``, ``signatures[i]``)
        ranked as candidate articles in the same call, in the core: the articles
        (passage key ``>> UNIT_BITS``) other than ``exclude_keys[i]`` with a passage
        whose sketch agrees with the row's signature on ``min_jaccard * num_perm``
        slots or more, by the most bands one hit shares, then the bands of all their
        hits, then key (``domain.candidates.rank_candidates``). One call for them all."""
        found = self._core.query_ranked(
            [_rows(b, np.uint64, self.bands) for b in bands],
            [_rows(s, np.uint32, self.num_perm) for s in signatures],
            max_bucket=max_bucket,
            min_jaccard=min_jaccard,
            exclude_keys=exclude_keys,
            unit_bits=UNIT_BITS,
        )
        return [Ranked(articles.tolist(), capped) for articles, capped in found]

    def query(self, bands: BandKeys) -> list[set[int]]:
        """For each row of band keys, the passages sharing at least one band with it."""
        return [set(found) for found in self.lookup(bands).found]


def _rows(array: npt.ArrayLike, dtype: type[T], width: int) -> npt.NDArray[T]:
    out = np.ascontiguousarray(array, dtype=dtype)
    if out.ndim != 2 or out.shape[1] != width:
        raise ValueError(f"expected shape (n, {width}), got {out.shape}")
    return out
