"""MinHash signatures of units, computed in bulk with datasketch.

Units arrive as arrays of 32-bit content-term ids that are already stable hashes, so the
MinHash hash function is the identity: no per-token ``update()`` and no re-hashing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

__all__ = ["EMPTY", "signatures"]

#: Value of every slot of the signature of an empty set.
EMPTY = np.uint32(0xFFFFFFFF)


def _identity(value: int) -> int:
    return value


@lru_cache(maxsize=8)
def _template(num_perm: int, seed: int) -> MinHash:
    return MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)


def signatures(
    features: Sequence[npt.NDArray[np.int64]], *, num_perm: int, seed: int
) -> npt.NDArray[np.uint32]:
    """Signatures of many term sets, one row each, shape ``(len(features), num_perm)``."""
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
