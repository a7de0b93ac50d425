"""Candidate search over MinHash signatures: banded LSH.

``BandIndex`` has the semantics of datasketch's ``MinHashLSH`` with the same ``(b, r)``:
two signatures are candidates when all ``r`` rows of at least one of the ``b`` bands
agree. It keys each band by one 64-bit integer computed for all rows of a batch at once
in numpy, instead of hashing a bytes slice per band per key. ``tests/test_index.py``
checks that both return the same candidates.
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHashLSH

__all__ = ["BandIndex", "band_keys", "lsh_params"]

_MIX = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """The ``(bands, rows)`` datasketch picks for ``threshold`` and ``num_perm``."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def band_keys(sigs: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per band per signature, shape ``(n, bands)``.

    With ``rows <= 2`` the key is the rows packed side by side, so equal keys mean
    equal bands exactly; with more rows it is a multiplicative mix of them, where a
    false collision has probability about 2**-64 per pair.
    """
    n = sigs.shape[0]
    banded = sigs[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    if rows == 1:
        return banded[:, :, 0]
    if rows == 2:
        return (banded[:, :, 0] << np.uint64(32)) | banded[:, :, 1]
    key = banded[:, :, 0].copy()
    with np.errstate(over="ignore"):
        for r in range(1, rows):
            key = (key * _MIX) ^ (key >> np.uint64(29)) ^ banded[:, :, r]
    return key


class BandIndex:
    """An in-memory banded LSH index from integer keys to signatures."""

    def __init__(self, *, bands: int, rows: int) -> None:
        if bands < 1 or rows < 1:
            raise ValueError(f"bands and rows must be >= 1, got {bands} and {rows}")
        self.bands = bands
        self.rows = rows
        self._tables: list[dict[int, list[int]]] = [{} for _ in range(bands)]
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def insert(self, keys: npt.ArrayLike, sigs: npt.NDArray[np.uint32]) -> None:
        """Index ``sigs[k]`` under ``keys[k]``."""
        key_list = np.asarray(keys, dtype=np.int64).tolist()
        bk = band_keys(sigs, self.bands, self.rows).T.tolist()
        for table, column in zip(self._tables, bk, strict=True):
            for h, key in zip(column, key_list, strict=True):
                bucket = table.get(h)
                if bucket is None:
                    table[h] = [key]
                else:
                    bucket.append(key)
        self._count += len(key_list)

    def remove(self, keys: npt.ArrayLike, sigs: npt.NDArray[np.uint32]) -> None:
        """Forget ``keys``, indexed earlier with these same ``sigs``."""
        key_list = np.asarray(keys, dtype=np.int64).tolist()
        bk = band_keys(sigs, self.bands, self.rows).T.tolist()
        removed = 0
        for table, column in zip(self._tables, bk, strict=True):
            for h, key in zip(column, key_list, strict=True):
                bucket = table.get(h)
                if bucket is not None and key in bucket:
                    bucket.remove(key)
                    if not bucket:
                        del table[h]
        if bk:
            removed = len(key_list)
        self._count -= removed

    def memory_bytes(self) -> int:
        """Approximate bytes held by the tables, their buckets and the keys in them."""
        total = 0
        for table in self._tables:
            total += sys.getsizeof(table)
            for bucket in table.values():
                total += sys.getsizeof(bucket) + 32 + 32 * len(bucket)  # bucket, band key, keys
        return total

    def query(self, sigs: npt.NDArray[np.uint32]) -> list[set[int]]:
        """For each signature, the keys sharing at least one band with it."""
        bk = band_keys(sigs, self.bands, self.rows).tolist()
        out: list[set[int]] = []
        tables = self._tables
        for row in bk:
            found: set[int] = set()
            for table, h in zip(tables, row, strict=True):
                bucket = table.get(h)
                if bucket is not None:
                    found.update(bucket)
            out.append(found)
        return out
