"""Runs: stretches of a text whose units repeat with a fixed period.

A sentence repeated N times, one word repeated into N identical windows, or a whole
article pasted N times are *runs*: unit ``u`` has exactly the words of unit
``u - period`` for every ``u`` after the first copy. Every copy would pair with every
other one (N² seeds), so the pipeline keeps the first copy of a run and hides the
rest; a repeat inside a text is then reported once for the whole run, and a match
that reaches a run is extended through it while both sides stay equal.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

__all__ = ["MIN_RUN_COPIES", "Run", "find_runs", "hidden_units", "unit_fingerprints"]

#: A run needs this many copies. Two adjacent copies cost no more than any other
#: repeat and keep the pipeline's usual result; three or more start the N² growth.
MIN_RUN_COPIES = 3
#: Periods tried, the commonest distances between equal units first; each costs one
#: vectorised pass over the units.
_MAX_PERIODS = 8


@dataclass(frozen=True, slots=True)
class Run:
    """Units ``[start, end)`` with unit ``u`` equal to unit ``u - period`` for every
    ``u`` in ``[start + period, end)``; ``end - start >= MIN_RUN_COPIES * period``."""

    start: int
    end: int
    period: int


def _digest(data: bytes) -> int:
    # Stable across processes (hash() of bytes is salted per process).
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


def unit_fingerprints(
    words: npt.NDArray[np.int64], bounds: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """A hash of each unit's word-id sequence: equal units, equal fingerprints (and,
    with probability ~2**-64 per pair, equal fingerprints only for equal units)."""
    return np.fromiter(
        (_digest(words[b0:b1].tobytes()) for b0, b1 in pairwise(bounds.tolist())),
        dtype=np.int64,
        count=len(bounds) - 1,
    )


def find_runs(fingerprints: npt.NDArray[np.int64]) -> list[Run]:
    """The runs of a text's units, disjoint, in order. Work: ``O(n)`` per period tried."""
    last: dict[int, int] = {}
    distances: Counter[int] = Counter()
    for u, fp in enumerate(fingerprints.tolist()):
        if fp in last:
            distances[u - last[fp]] += 1
        last[fp] = u
    found: list[Run] = []
    for period, count in distances.most_common(_MAX_PERIODS):
        if count < (MIN_RUN_COPIES - 1) * period:
            continue
        same = np.concatenate(([False], fingerprints[period:] == fingerprints[:-period], [False]))
        edges = np.flatnonzero(np.diff(same.astype(np.int8)))
        for s, e in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
            # Units u in [s + period, e + period) equal units u - period.
            if e - s >= (MIN_RUN_COPIES - 1) * period:
                found.append(Run(s, e + period, period))
    # Keep the longest runs that do not overlap each other.
    kept: list[Run] = []
    for r in sorted(found, key=lambda r: (-(r.end - r.start), r.period, r.start)):
        if all(r.end <= k.start or k.end <= r.start for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: r.start)


def hidden_units(runs: list[Run], n: int) -> npt.NDArray[np.bool_]:
    """Mask of the units after the first copy of each run: what seeding skips."""
    hidden = np.zeros(n, dtype=np.bool_)
    for r in runs:
        hidden[r.start + r.period : r.end] = True
    return hidden
