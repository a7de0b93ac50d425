"""Runs: stretches of a text whose units repeat with a fixed period.

A sentence repeated N times, one word repeated into N identical windows, or a whole
article pasted N times are *runs*: unit ``u`` has exactly the words of unit
``u - period`` for every ``u`` after the first copy. Every copy would pair with every
other one (N² seeds), so the pipeline keeps the first copy of a run and hides the
rest; a repeat inside a text is then reported once for the whole run, and a match
that reaches a run is extended through it while both sides stay equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

import wiretrace._core as _core

__all__ = ["MIN_RUN_COPIES", "Run", "find_runs", "hidden_units", "unit_fingerprints"]

#: A run needs this many copies. Two adjacent copies cost no more than any other
#: repeat and keep the pipeline's usual result; three or more start the N² growth.
MIN_RUN_COPIES = 3


@dataclass(frozen=True, slots=True)
class Run:
    """Units ``[start, end)`` with unit ``u`` equal to unit ``u - period`` for every
    ``u`` in ``[start + period, end)``; ``end - start >= MIN_RUN_COPIES * period``."""

    start: int
    end: int
    period: int


def unit_fingerprints(
    words: npt.NDArray[np.int64], bounds: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """One fingerprint per unit: equal word-id sequences, equal fingerprints (a dense
    id per distinct sequence, in order of first appearance; exact)."""
    ids: dict[bytes, int] = {}
    return np.fromiter(
        (ids.setdefault(words[b0:b1].tobytes(), len(ids)) for b0, b1 in pairwise(bounds.tolist())),
        dtype=np.int64,
        count=max(0, len(bounds) - 1),
    )


def find_runs(fingerprints: npt.NDArray[np.int64]) -> list[Run]:
    """The runs of a text's units, disjoint, in order: the longest first among
    overlapping ones (``core/engine/src/prepare.rs``). Periods tried: the commonest
    distances between equal units. Work: ``O(n)`` per period tried."""
    found = _core.find_runs(np.ascontiguousarray(fingerprints, dtype=np.int64))
    return [Run(s, e, p) for s, e, p in found]


def hidden_units(runs: list[Run], n: int) -> npt.NDArray[np.bool_]:
    """Mask of the units after the first copy of each run: what seeding skips."""
    hidden = np.zeros(n, dtype=np.bool_)
    for r in runs:
        hidden[r.start + r.period : r.end] = True
    return hidden
