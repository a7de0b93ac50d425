"""Units: the small pieces (a sentence or two) that are signed and matched.

A reused quote inside a longer paragraph must still be found, so units are sentences,
never paragraphs. Sentences with too few content terms are joined to the next one;
run-on text with no sentence ends is cut into windows. The cutting runs in the
compiled core (``core/engine/src/text/units.rs``) as part of ``Detector.prepare``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import numpy.typing as npt

__all__ = ["Units"]


@dataclass(frozen=True, slots=True)
class Units:
    """Unit ``u`` spans tokens ``bounds[u]:bounds[u+1]``; its distinct content-term
    ids (sorted) are ``flat[feature_bounds[u]:feature_bounds[u+1]]``, the core's flat
    layout (``features`` splits it on first use, and keeps the split)."""

    bounds: npt.NDArray[np.int64]
    flat: npt.NDArray[np.int64]
    feature_bounds: npt.NDArray[np.int64]
    _features: list[npt.NDArray[np.int64]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return max(0, len(self.feature_bounds) - 1)

    def terms(self, u: int) -> npt.NDArray[np.int64]:
        """Unit ``u``'s distinct content terms, sorted."""
        return self.flat[self.feature_bounds[u] : self.feature_bounds[u + 1]]

    @property
    def features(self) -> list[npt.NDArray[np.int64]]:
        """Each unit's distinct content terms: views of ``flat``, made on the first call
        and kept (splitting again on every call cost ~0.1 ms a 5,000-character text).
        Do not modify the list."""
        if self._features is None:
            b = self.feature_bounds.tolist()
            object.__setattr__(self, "_features", [self.flat[s:e] for s, e in pairwise(b)])
        assert self._features is not None
        return self._features
