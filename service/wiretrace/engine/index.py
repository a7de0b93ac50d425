"""Banded LSH over MinHash signatures: the parameters and the band keys.

Two signatures are candidates when all ``r`` rows of at least one of the ``b`` bands
agree, as in datasketch's ``MinHashLSH`` with the same ``(b, r)``. Each band is keyed by
one 64-bit integer, computed for all rows of a batch at once by the compiled core,
instead of hashing a bytes slice per band per key. The core's band join
(``core/engine/src/align/seeds.rs``) finds the candidate unit pairs of two texts; the
embedded store's passage index (``core/engine/src/passage_index.rs``) and Redis hold the
band keys of many articles. ``tests/test_index.py`` checks that both return what
``MinHashLSH`` returns.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHashLSH

import wiretrace._core as _core

__all__ = ["band_keys", "index_passages", "lsh_params"]


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


def index_passages(
    sigs: npt.NDArray[np.uint32], bands: int, rows: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """The rows of ``sigs`` an article is indexed under and their band keys:
    ``signature.distinct_indexable_rows(sigs)`` and ``band_keys`` of those rows, in one
    core call (one release of the GIL, no copy of the rows in Python)."""
    return _core.index_passages(np.ascontiguousarray(sigs, dtype=np.uint32), bands, rows)
