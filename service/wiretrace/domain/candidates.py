"""Candidate selection: which stored articles are worth aligning with a new one.

The new article's passages are looked up in the store's band index. Band collisions of
unrelated sentences on common words are dropped before the costly alignment: a stored
article stays a candidate only when one of its passages and one of the new article's
look alike by the MinHash estimate of their Jaccard similarity (the embedded store
answers from a sketch it keeps per passage; other stores give back the signatures).
Candidates are ranked by their strongest evidence: the most bands one passage pair
shares (a copied sentence shares them all), then the bands shared over all pairs.

The embedded store ranks in its index, in the compiled core, in the lookup's own call
(``ArticleStore.ranked``): exactly ``rank_candidates`` over its sketched hits
(``tests/test_ranked.py``). ``rank_candidates`` ranks the other stores' hits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from wiretrace.engine.config import EngineConfig
from wiretrace.engine.index import index_passages, lsh_params
from wiretrace.store import UNIT_BITS, Hits, IndexSpec, Lookup, Passages

__all__ = ["index_spec", "rank_candidates"]

_UNIT_MASK = (1 << UNIT_BITS) - 1

Signatures = npt.NDArray[np.uint32]


def index_spec(engine: EngineConfig) -> IndexSpec:
    """How a server with this engine configuration indexes articles: units with
    content terms, each distinct signature once, under the bands of
    ``index_threshold``."""
    bands, rows = lsh_params(engine.index_threshold, engine.num_perm)

    def passages(sigs: Signatures) -> Passages:
        # One passage per distinct signature: a sentence pasted 2,000 times would
        # otherwise put 2,000 equal entries in the index, and every later article
        # with that sentence would get them all back (hits grow as copies squared).
        units, keys = index_passages(sigs, bands, rows)
        return Passages(units=units, band_keys=keys)

    # ``passages`` is the core's distinct indexable rows: a store may rebuild its index
    # from stored signatures in the core, batch by batch (``distinct_rows``).
    return IndexSpec(
        num_perm=engine.num_perm, bands=bands, rows=rows, passages=passages, distinct_rows=True
    )


def rank_candidates(
    signatures: Signatures,
    passages: Passages,
    lookup: Lookup | Hits,
    stored: Callable[[list[int]], dict[int, Signatures]],
    *,
    min_jaccard: float,
    exclude_key: int | None = None,
) -> list[int]:
    """The keys of the stored articles to align with a new one, strongest first.

    ``signatures`` are all of the new article's stored signature rows (units, then
    quoted segments: ``Document.stored_signatures``), ``passages`` its indexed units,
    ``lookup`` what the index returned for them (passage key -> bands shared, and
    with a store that keeps sketches, passage key -> signature slots agreeing; or the
    same as flat ``Hits``), and ``stored`` gives the stored signatures of articles by
    key, read only when the store keeps no sketches."""
    hits = lookup if isinstance(lookup, Hits) else Hits.of(lookup)
    if not len(hits.passages):
        return []
    rows = np.repeat(passages.units.astype(np.int64, copy=False), hits.counts)
    passage = hits.passages
    article = passage >> UNIT_BITS
    if hits.agree is not None:
        at = np.flatnonzero(article != exclude_key) if exclude_key is not None else None
        counts = hits.agree if at is None else hits.agree[at]
    else:  # only the hits still stored, counted from their signatures
        at, counts = _agreement(signatures, rows, passage, article, stored, exclude_key)
    if at is not None:
        article = article[at]
    bands = hits.bands if at is None else hits.bands[at]
    alike = counts >= min_jaccard * signatures.shape[1]
    if not alike.any():
        return []
    # Per article: whether one pair looks alike (strong), the most bands one pair
    # shares, then the bands of all pairs.
    keys, slot = np.unique(article, return_inverse=True)
    strong = np.zeros(len(keys), dtype=np.bool_)
    strong[slot[alike]] = True
    best = np.zeros(len(keys), dtype=np.int64)
    np.maximum.at(best, slot, bands)
    total = np.bincount(slot, weights=bands, minlength=len(keys)).astype(np.int64)
    keys, best, total = keys[strong], best[strong], total[strong]
    return [int(k) for k in keys[np.lexsort((keys, -total, -best))]]


def _agreement(
    signatures: Signatures,
    rows: npt.NDArray[np.int64],
    passage: npt.NDArray[np.int64],
    article: npt.NDArray[np.int64],
    stored: Callable[[list[int]], dict[int, Signatures]],
    exclude_key: int | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For a store without sketches: the hits whose article is still stored (and not
    ``exclude_key``), and the signature slots each agrees on, from stored signatures."""
    keys = np.unique(article)
    if exclude_key is not None:
        keys = keys[keys != exclude_key]
    sigs = stored(keys.tolist())
    at = np.asarray([i for i, key in enumerate(article.tolist()) if key in sigs], dtype=np.int64)
    if not len(at):
        return at, np.zeros(0, dtype=np.int64)
    units = (passage[at] & _UNIT_MASK).tolist()
    theirs = np.stack([sigs[k][u] for k, u in zip(article[at].tolist(), units, strict=True)])
    mine = signatures[rows[at]]
    return at, (mine == theirs).sum(axis=1)
