"""Units: the small pieces (a sentence or two) that are signed and matched.

A reused quote inside a longer paragraph must still be found, so units are sentences,
never paragraphs. Sentences with too few content terms are joined to the next one;
run-on text with no sentence ends is cut into windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wiretrace.engine.terms import NO_TERM

__all__ = ["Units", "split_units"]


@dataclass(frozen=True, slots=True)
class Units:
    """Unit ``u`` spans tokens ``bounds[u]:bounds[u+1]``; ``features[u]`` are its
    distinct content-term ids (sorted)."""

    bounds: npt.NDArray[np.int64]
    features: list[npt.NDArray[np.int64]]

    def __len__(self) -> int:
        return len(self.features)


def split_units(
    terms: npt.NDArray[np.int64],
    sentence_ends: list[int],
    *,
    min_unit_tokens: int,
    max_unit_tokens: int,
) -> Units:
    """Cut a token stream into units; see the module docstring."""
    n = len(terms)
    content = np.concatenate(([0], np.cumsum(terms != NO_TERM)))
    cuts = [0]
    for end in [*sentence_ends, n]:
        if end <= cuts[-1]:
            continue
        start = cuts[-1]
        if content[end] - content[start] < min_unit_tokens and end != n:
            continue  # too short: the unit runs on into the next sentence
        length = end - start
        if length > max_unit_tokens:
            pieces = -(-length // max_unit_tokens)
            step = length / pieces
            cuts.extend(start + round(step * p) for p in range(1, pieces))
        cuts.append(end)
    if len(cuts) > 2 and content[cuts[-1]] - content[cuts[-2]] < min_unit_tokens:
        del cuts[-2]  # a short tail joins the unit before it
    if not n:
        return Units(bounds=np.zeros(1, dtype=np.int64), features=[])
    bounds = np.asarray(cuts, dtype=np.int64)
    # All units' distinct terms with one sort: key = unit << 32 | term (terms are 32-bit).
    unit_of = np.repeat(np.arange(len(bounds) - 1, dtype=np.int64), np.diff(bounds))
    keep = terms != NO_TERM
    pairs = np.unique((unit_of[keep] << 32) | terms[keep])
    cut_at = np.searchsorted(pairs >> 32, np.arange(1, len(bounds) - 1))
    features = np.split(pairs & 0xFFFFFFFF, cut_at)
    return Units(bounds=bounds, features=features)
