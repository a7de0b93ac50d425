"""MinHash signatures of units, with datasketch's permutations and hash scheme.

Units arrive as arrays of 32-bit content-term ids that are already stable hashes, so the
MinHash hash function is the identity. The compiled core signs all units of a text in
one call with the GIL released: the MurmurHash3 finaliser, then ``a * h + b`` modulo
2**32 per permutation, then the minimum per unit: datasketch's "affine32" scheme,
with the permutations datasketch draws for ``(num_perm, seed)`` (taken from it once).
``tests/test_index.py`` checks the result bit for bit against datasketch's own
``update`` and ``MinHash.bulk`` paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

import wiretrace._core as _core

__all__ = ["EMPTY", "distinct_indexable_rows", "indexable_rows", "permutations", "signatures"]

#: Value of every slot of the signature of an empty set.
EMPTY = np.uint32(0xFFFFFFFF)


def indexable_rows(sigs: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """Rows that are not the signature of an empty set: units with content terms.

    Empty units all share one signature, so they are never indexed or matched."""
    if not len(sigs):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((sigs != EMPTY).any(axis=1)).astype(np.int64)


def distinct_indexable_rows(sigs: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """``indexable_rows`` keeping only the first row of each distinct signature, in
    row order."""
    if not len(sigs):
        return np.zeros(0, dtype=np.int64)
    return _core.distinct_indexable_rows(np.ascontiguousarray(sigs, dtype=np.uint32))


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """datasketch's permutations ``(a, b)`` for ``num_perm`` and ``seed`` (read-only)."""
    template = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
    a, b = (np.ascontiguousarray(p, dtype=np.uint32) for p in template.permutations)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


def signatures(
    features: Sequence[npt.NDArray[np.int64]], *, num_perm: int, seed: int
) -> npt.NDArray[np.uint32]:
    """Signatures of many term sets, one row each, shape ``(len(features), num_perm)``."""
    a, b = permutations(num_perm, seed)
    sizes = np.fromiter((len(f) for f in features), dtype=np.int64, count=len(features))
    offsets = np.zeros(len(features) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    values = (
        np.concatenate(features).astype(np.int64, copy=False)
        if offsets[-1]
        else np.zeros(0, dtype=np.int64)
    )
    return _core.minhash_signatures(values, offsets, a, b)
