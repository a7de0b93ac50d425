"""Candidate selection: which stored articles are worth aligning with a new one.

The new article's passages are looked up in the store's band index. Band collisions of
unrelated sentences on common words are dropped before the costly alignment: a stored
article stays a candidate only when one of its passages and one of the new article's
look alike by the MinHash estimate of their Jaccard similarity. Candidates are ranked
by their strongest evidence: the most bands one passage pair shares (a copied sentence
shares them all), then the bands shared over all pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from wiretrace.engine.config import EngineConfig
from wiretrace.engine.index import band_keys, lsh_params
from wiretrace.engine.signature import indexable_rows
from wiretrace.store import UNIT_BITS, IndexSpec, Passages

__all__ = ["index_spec", "rank_candidates"]

_UNIT_MASK = (1 << UNIT_BITS) - 1

Signatures = npt.NDArray[np.uint32]


def index_spec(engine: EngineConfig) -> IndexSpec:
    """How a server with this engine configuration indexes articles: units with
    content terms, each distinct signature once, under the bands of
    ``index_threshold``."""
    bands, rows = lsh_params(engine.index_threshold, engine.num_perm)

    def passages(sigs: Signatures) -> Passages:
        units = indexable_rows(sigs)
        # One passage per distinct signature: a sentence pasted 2,000 times would
        # otherwise put 2,000 equal entries in the index, and every later article
        # with that sentence would get them all back (hits grow as copies squared).
        if len(units) > 1:
            first = np.unique(sigs[units], axis=0, return_index=True)[1]
            units = units[np.sort(first)]
        return Passages(units=units, band_keys=band_keys(sigs[units], bands, rows))

    return IndexSpec(num_perm=engine.num_perm, bands=bands, rows=rows, passages=passages)


def rank_candidates(
    signatures: Signatures,
    passages: Passages,
    found: list[dict[int, int]],
    lookup: Callable[[list[int]], dict[int, Signatures]],
    *,
    min_jaccard: float,
    exclude_key: int | None = None,
) -> list[int]:
    """The keys of the stored articles to align with a new one, strongest first.

    ``signatures`` are all of the new article's stored signature rows (units, then
    quoted segments: ``Document.stored_signatures``), ``passages`` its
    indexed units, ``found`` what the index returned for each of them (passage key ->
    bands shared), and ``lookup`` gives the stored signatures of articles by key."""
    rows: list[int] = []
    hits: list[int] = []
    bands: list[int] = []
    for row, per_passage in zip(passages.units.tolist(), found, strict=True):
        rows += [row] * len(per_passage)
        hits += per_passage.keys()
        bands += per_passage.values()
    if not hits:
        return []
    passage = np.asarray(hits, dtype=np.int64)
    article = passage >> UNIT_BITS
    keys = np.unique(article)
    if exclude_key is not None:
        keys = keys[keys != exclude_key]
    sigs = lookup(keys.tolist())
    # The candidate unit of every pair side by side: one comparison for all at once.
    picked = [i for i, key in enumerate(article.tolist()) if key in sigs]
    if not picked:
        return []
    units = (passage & _UNIT_MASK).tolist()
    at = np.asarray(picked, dtype=np.int64)
    owners = article[at]
    theirs = np.stack([sigs[k][units[i]] for i, k in zip(picked, owners.tolist(), strict=True)])
    mine = signatures[np.asarray(rows, dtype=np.int64)[at]]
    agree = (mine == theirs).sum(axis=1)
    strong = set(np.unique(owners[agree >= min_jaccard * signatures.shape[1]]).tolist())
    if not strong:
        return []
    best: dict[int, int] = {}
    total: Counter[int] = Counter()
    for key, n in zip(owners.tolist(), np.asarray(bands, dtype=np.int64)[at].tolist(), strict=True):
        if key in strong:
            total[key] += n
            if n > best.get(key, 0):
                best[key] = n
    return sorted(strong, key=lambda k: (-best[k], -total[k], k))
