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

__all__ = ["BandIndex", "band_join", "band_keys", "lsh_params"]

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


Bucket = int | list[int]


# One random 64-bit salt per band, so that all bands can be joined in a single sort:
# equal salted keys from different bands would need a 2**-64 coincidence.
_SALTS = np.random.default_rng(20231105).integers(0, 2**63, size=1024, dtype=np.uint64) * np.uint64(
    2
) + np.uint64(1)


def band_join(
    keys_a: npt.NDArray[np.uint64], keys_b: npt.NDArray[np.uint64]
) -> list[tuple[int, int]]:
    """Distinct row pairs ``(i, j)`` such that ``keys_a[i]`` and ``keys_b[j]`` agree on
    at least one band: the candidates ``BandIndex`` would give, for two small sets at
    once, with one sort instead of a dict per band (``tests/test_index.py`` compares)."""
    if keys_a.size == 0 or keys_b.size == 0:
        return []
    bands = keys_a.shape[1]
    salts = _SALTS[:bands]
    flat_a = (keys_a ^ salts).ravel()
    flat_b = (keys_b ^ salts).ravel()
    order = np.argsort(flat_b, kind="stable")
    sorted_b = flat_b[order]
    lo = np.searchsorted(sorted_b, flat_a, side="left")
    hi = np.searchsorted(sorted_b, flat_a, side="right")
    counts = hi - lo
    single = np.flatnonzero(counts == 1)
    rows_b = np.int64(keys_b.shape[0])
    codes = [(single // bands) * rows_b + order[lo[single]] // bands]
    for pos in np.flatnonzero(counts > 1).tolist():  # band keys repeated inside b
        js = order[lo[pos] : hi[pos]] // bands
        codes.append((pos // bands) * rows_b + js)
    unique = np.unique(np.concatenate(codes))
    return list(zip((unique // rows_b).tolist(), (unique % rows_b).tolist(), strict=True))


class BandIndex:
    """An in-memory banded LSH index from integer keys to signatures.

    One dict per band maps a band key to the passage key holding it, or to a list of
    them when several do (most band keys are held once, so most values are plain ints).
    Inserts go through dict-level bulk operations; only colliding band keys are touched
    one by one.
    """

    def __init__(self, *, bands: int, rows: int) -> None:
        if bands < 1 or rows < 1:
            raise ValueError(f"bands and rows must be >= 1, got {bands} and {rows}")
        self.bands = bands
        self.rows = rows
        self._tables: list[dict[int, Bucket]] = [{} for _ in range(bands)]
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def insert(self, keys: npt.ArrayLike, sigs: npt.NDArray[np.uint32]) -> None:
        """Index ``sigs[k]`` under ``keys[k]``."""
        self.insert_band_keys(keys, band_keys(sigs, self.bands, self.rows))

    def insert_band_keys(self, keys: npt.ArrayLike, bands: npt.NDArray[np.uint64]) -> None:
        """Index passages ``keys`` by their band keys ``bands`` (``(n, bands)``)."""
        key_list = np.asarray(keys, dtype=np.int64).tolist()
        if not key_list:
            return
        bk = bands.T.tolist()
        for table, column in zip(self._tables, bk, strict=True):
            fresh = dict(zip(column, key_list, strict=True))
            if len(fresh) < len(key_list):  # the batch itself repeats a band key
                todo: list[tuple[int, int]] = list(zip(column, key_list, strict=True))
                fresh = {}
            else:
                todo = [(h, fresh.pop(h)) for h in fresh.keys() & table.keys()]
            table.update(fresh)  # band keys new to the table: one C-level call
            for h, key in todo:
                bucket = table.get(h)
                if bucket is None:
                    table[h] = key
                elif type(bucket) is int:
                    table[h] = [bucket, key]
                else:
                    bucket.append(key)  # type: ignore[union-attr]
        self._count += len(key_list)

    def remove(self, keys: npt.ArrayLike, sigs: npt.NDArray[np.uint32]) -> None:
        """Forget ``keys``, indexed earlier with these same ``sigs``."""
        self.remove_band_keys(keys, band_keys(sigs, self.bands, self.rows))

    def remove_band_keys(self, keys: npt.ArrayLike, bands: npt.NDArray[np.uint64]) -> None:
        key_list = np.asarray(keys, dtype=np.int64).tolist()
        bk = bands.T.tolist()
        for table, column in zip(self._tables, bk, strict=True):
            for h, key in zip(column, key_list, strict=True):
                bucket = table.get(h)
                if bucket is None:
                    continue
                if isinstance(bucket, int):
                    if bucket == key:
                        del table[h]
                elif key in bucket:
                    bucket.remove(key)
                    if len(bucket) == 1:
                        table[h] = bucket[0]
        self._count -= len(key_list)

    def memory_bytes(self) -> int:
        """Approximate bytes held by the tables, their buckets and the keys in them."""
        total = 0
        for table in self._tables:
            total += sys.getsizeof(table) + 32 * len(table)  # the band-key ints
            for bucket in table.values():
                if isinstance(bucket, int):
                    total += 32
                else:
                    total += sys.getsizeof(bucket) + 32 * len(bucket)
        return total

    def query_bands(self, sigs: npt.NDArray[np.uint32]) -> list[dict[int, int]]:
        """For each signature, the keys sharing at least one band with it and how many
        bands they share (about ``bands * J**rows`` for Jaccard similarity J)."""
        return self.query_band_keys(band_keys(sigs, self.bands, self.rows))

    def query_band_keys(self, bands: npt.NDArray[np.uint64]) -> list[dict[int, int]]:
        bk = bands.tolist()
        out: list[dict[int, int]] = []
        tables = self._tables
        for row in bk:
            found: dict[int, int] = {}
            for table, h in zip(tables, row, strict=True):
                bucket = table.get(h)
                if bucket is None:
                    continue
                if type(bucket) is int:
                    found[bucket] = found.get(bucket, 0) + 1
                else:
                    for key in bucket:  # type: ignore[union-attr]
                        found[key] = found.get(key, 0) + 1
            out.append(found)
        return out

    def query(self, sigs: npt.NDArray[np.uint32]) -> list[set[int]]:
        """For each signature, the keys sharing at least one band with it."""
        return [set(found) for found in self.query_bands(sigs)]
