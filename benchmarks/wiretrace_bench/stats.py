"""The one percentile convention of every benchmark: nearest rank, on milliseconds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["percentiles"]


def percentiles(values_ms: Sequence[float], qs: Iterable[int] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50_ms": ..., ...}``: for each q, the smallest value with at least q % of the
    values at or below it (0 for no values), rounded to microseconds."""
    ordered = sorted(values_ms)
    out = {}
    for q in qs:
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        out[f"p{q}_ms"] = round(ordered[rank - 1], 3) if ordered else 0.0
    return out
