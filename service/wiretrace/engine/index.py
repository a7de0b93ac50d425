"""Banded LSH over MinHash signatures: the parameters and the band keys.

Two signatures are candidates when all ``r`` rows of at least one of the ``b`` bands
agree, as in datasketch's ``MinHashLSH`` with the same ``(b, r)``. Each band is keyed by
one 64-bit integer computed for all rows of a batch at once in numpy, instead of
hashing a bytes slice per band per key. The compiled core's band join
(``core/engine/src/align/seeds.rs``) finds the candidate unit pairs of two texts; the
stores' indexes (``wiretrace.store.band_index``, Redis) hold the band keys of many
articles. ``tests/test_index.py`` checks that both return what ``MinHashLSH`` returns.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHashLSH

__all__ = ["band_keys", "lsh_params"]

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
