"""Banded LSH over MinHash signatures: the parameters and the band keys.

Two signatures are candidates when all ``r`` rows of at least one of the ``b`` bands
agree, as in datasketch's ``MinHashLSH`` with the same ``(b, r)``. Each band is keyed by
one 64-bit integer, computed for all rows of a batch at once by the compiled core,
instead of hashing a bytes slice per band per key. ``band_join`` finds the candidate pairs of two
small sets in one sort; the stores' indexes (``wiretrace.store.band_index``, Redis)
hold the band keys of many articles. ``tests/test_index.py`` checks that both return
what ``MinHashLSH`` returns.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHashLSH

import wiretrace._core as _core

__all__ = ["band_join", "band_join_bounded", "band_keys", "lsh_params"]


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
    return _core.band_keys(np.ascontiguousarray(sigs, dtype=np.uint32), bands, rows)


# One random 64-bit salt per band, so that all bands can be joined in a single sort:
# equal salted keys from different bands would need a 2**-64 coincidence.
_SALTS = np.random.default_rng(20231105).integers(0, 2**63, size=1024, dtype=np.uint64) * np.uint64(
    2
) + np.uint64(1)


def rarest_within(
    counts: npt.NDArray[np.int64], max_pairs: int | None
) -> tuple[npt.NDArray[np.int64], bool]:
    """``counts`` (pairs each key would yield) with the commonest keys zeroed until the
    total fits ``max_pairs``: the rarest keys are the most telling. Also whether
    nothing was left out."""
    if max_pairs is None or int(counts.sum()) <= max_pairs:
        return counts, True
    rarest = np.argsort(counts, kind="stable")
    fits = rarest[np.cumsum(counts[rarest]) <= max_pairs]
    keep = np.zeros(len(counts), dtype=np.bool_)
    keep[fits] = True
    return np.where(keep, counts, 0), False


def band_join(
    keys_a: npt.NDArray[np.uint64], keys_b: npt.NDArray[np.uint64]
) -> list[tuple[int, int]]:
    """Distinct row pairs ``(i, j)`` such that ``keys_a[i]`` and ``keys_b[j]`` agree on
    at least one band: the candidates an index would give, for two small sets at
    once, with one sort instead of a dict per band (``tests/test_index.py`` compares)."""
    return band_join_bounded(keys_a, keys_b, max_pairs=None)[0]


def band_join_bounded(
    keys_a: npt.NDArray[np.uint64], keys_b: npt.NDArray[np.uint64], *, max_pairs: int | None
) -> tuple[list[tuple[int, int]], int, bool]:
    """``band_join`` that proposes at most ``max_pairs`` (band, row, row) collisions.

    Returns the distinct pairs, the collisions proposed, and whether all were. When
    there are more, the collisions of the rarest band keys are kept: a key shared by
    thousands of rows (repeated boilerplate) says the least about any one pair."""
    if keys_a.size == 0 or keys_b.size == 0:
        return [], 0, True
    bands = keys_a.shape[1]
    salts = _SALTS[:bands]
    flat_a = (keys_a ^ salts).ravel()
    flat_b = (keys_b ^ salts).ravel()
    order = np.argsort(flat_b, kind="stable")
    sorted_b = flat_b[order]
    lo = np.searchsorted(sorted_b, flat_a, side="left")
    hi = np.searchsorted(sorted_b, flat_a, side="right")
    counts, complete = rarest_within(hi - lo, max_pairs)
    total = int(counts.sum())
    single = np.flatnonzero(counts == 1)
    rows_b = np.int64(keys_b.shape[0])
    codes = [(single // bands) * rows_b + order[lo[single]] // bands]
    for pos in np.flatnonzero(counts > 1).tolist():  # band keys repeated inside b
        js = order[lo[pos] : hi[pos]] // bands
        codes.append((pos // bands) * rows_b + js)
    unique = np.unique(np.concatenate(codes))
    pairs = list(zip((unique // rows_b).tolist(), (unique % rows_b).tolist(), strict=True))
    return pairs, total, complete
