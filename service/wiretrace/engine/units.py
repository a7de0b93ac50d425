"""Units: the small pieces (a sentence or two) that are signed and matched.

A reused quote inside a longer paragraph must still be found, so units are sentences,
never paragraphs. Sentences with too few content terms are joined to the next one;
run-on text with no sentence ends is cut into windows. The cutting runs in the
compiled core (``core/engine/src/text/units.rs``) as part of ``Detector.prepare``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Units"]


@dataclass(frozen=True, slots=True)
class Units:
    """Unit ``u`` spans tokens ``bounds[u]:bounds[u+1]``; ``features[u]`` are its
    distinct content-term ids (sorted)."""

    bounds: npt.NDArray[np.int64]
    features: list[npt.NDArray[np.int64]]

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def of(
        cls,
        bounds: npt.NDArray[np.int64],
        features: npt.NDArray[np.int64],
        feature_bounds: npt.NDArray[np.int64],
    ) -> Units:
        """Units from the core's flat layout: unit ``u``'s features are
        ``features[feature_bounds[u]:feature_bounds[u+1]]``."""
        if len(feature_bounds) < 2:
            return cls(bounds=bounds, features=[])
        return cls(bounds=bounds, features=np.split(features, feature_bounds[1:-1]))
