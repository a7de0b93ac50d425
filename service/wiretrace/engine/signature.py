"""MinHash signatures of units, with datasketch's permutations and hash scheme.

Units arrive as arrays of 32-bit content-term ids that are already stable hashes, so the
MinHash hash function is the identity. All units of a text are signed in one numpy
pass: the same arithmetic as ``MinHash.update_batch`` (MurmurHash3 finaliser, then
``a * h + b`` modulo 2**32, then the minimum per permutation), applied to every term of
every unit at once and reduced per unit. ``tests/test_index.py`` checks the result is
bit-for-bit what datasketch's own ``update`` path computes; ``signatures_datasketch``
keeps datasketch's ``MinHash.bulk`` path for that comparison and for benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash
from datasketch.minhash import _fmix  # the scheme's pre-mix; agreement is tested

__all__ = ["EMPTY", "indexable_rows", "signatures", "signatures_datasketch"]

#: Value of every slot of the signature of an empty set.
EMPTY = np.uint32(0xFFFFFFFF)


def indexable_rows(sigs: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """Rows that are not the signature of an empty set: units with content terms.

    Empty units all share one signature, so they are never indexed or matched."""
    if not len(sigs):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((sigs != EMPTY).any(axis=1)).astype(np.int64)


def _identity(value: int) -> int:
    return value


@lru_cache(maxsize=8)
def _template(num_perm: int, seed: int) -> MinHash:
    return MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)


def signatures(
    features: Sequence[npt.NDArray[np.int64]], *, num_perm: int, seed: int
) -> npt.NDArray[np.uint32]:
    """Signatures of many term sets, one row each, shape ``(len(features), num_perm)``."""
    out = np.full((len(features), num_perm), EMPTY, dtype=np.uint32)
    sizes = np.fromiter((len(f) for f in features), dtype=np.int64, count=len(features))
    filled = np.flatnonzero(sizes)
    if len(filled) == 0:
        return out
    a, b = _template(num_perm, seed).permutations
    values = np.concatenate([features[k] for k in filled.tolist()]).astype(np.uint32)
    mixed = _fmix(values, 32).reshape(-1, 1)
    permuted = mixed * a + b  # uint32 arithmetic wraps: modulo 2**32, as datasketch
    starts = np.concatenate(([0], np.cumsum(sizes[filled])[:-1]))
    out[filled] = np.minimum.reduceat(permuted, starts, axis=0)
    return out


def signatures_datasketch(
    features: Sequence[npt.NDArray[np.int64]], *, num_perm: int, seed: int
) -> npt.NDArray[np.uint32]:
    """The same signatures through datasketch's ``MinHash.bulk`` (slower reference)."""
    template = _template(num_perm, seed)
    out = np.empty((len(features), num_perm), dtype=np.uint32)
    minhashes = MinHash.bulk(
        (f.tolist() for f in features),
        num_perm=num_perm,
        seed=seed,
        hashfunc=_identity,
        permutations=template.permutations,
        scheme=template.scheme,
    )
    for row, m in enumerate(minhashes):
        out[row] = m.hashvalues
    return out
