"""Half-open ranges ``[start, end)``: the one overlap test and the one union measure,
shared by alignment, the service's reused share and the benchmarks' plagdet."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["overlaps", "union_length"]


def overlaps(x0: int, x1: int, y0: int, y1: int) -> bool:
    """Whether ``[x0, x1)`` and ``[y0, y1)`` share a position."""
    return x0 < y1 and y0 < x1


def union_length(ranges: Iterable[tuple[int, int]]) -> int:
    """Positions covered by at least one of ``ranges`` (empty ranges cover none)."""
    total, cur_start, cur_end = 0, 0, 0
    for s, e in sorted(r for r in ranges if r[1] > r[0]):
        if s > cur_end:
            total += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    return total + (cur_end - cur_start)
