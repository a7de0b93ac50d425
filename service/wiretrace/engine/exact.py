"""Exact runs: the windows that find the stretches of words two texts share word for
word.

The unit pipeline finds passages by their content terms, which is what reworded text
needs; it can then report a verbatim quote as part of a looser passage. The exact-run
join finds the word-for-word runs directly, so that the detector can report a quote on
its own: every ``k``-word window of each text is hashed here, once per text, and the
compiled core (``core/engine/src/align/exact.rs``) joins the equal windows of two
texts and chains those that follow each other on one diagonal into a run.

A window that occurs more than ``MAX_WINDOW_COPIES`` times in either text (a chant, a
repeated table row, a hostile text) is left out: it would pair with every copy, and it
tells nothing about which copy was reused. The pairs proposed are counted and bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_WINDOW_COPIES", "Windows", "window_hashes"]

#: Windows with more copies than this in either text are not joined.
MAX_WINDOW_COPIES = 8

_MIX = np.uint64(0x9E3779B97F4A7C15)
_SALT = np.uint64(0xD6E8FEB86659FD93)


def window_hashes(words: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of every window of ``k`` consecutive word ids (``len - k + 1`` of
    them; none when the text is shorter). Equal windows, equal hashes; a false
    collision has probability about 2**-64 per pair, and runs are checked anyway."""
    n = len(words) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    w = words.astype(np.uint64)
    h = np.full(n, _SALT, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for t in range(k):
            h = (h * _MIX) ^ (h >> np.uint64(31)) ^ w[t : t + n]
    return h


@dataclass(frozen=True, slots=True)
class Windows:
    """The ``k``-word windows of one text, prepared once: their hashes, which of them
    are rare enough to join (``MAX_WINDOW_COPIES``), and their sort order."""

    k: int
    hashes: npt.NDArray[np.uint64]
    rare: npt.NDArray[np.bool_]
    order: npt.NDArray[np.int64]

    @classmethod
    def of(cls, words: npt.NDArray[np.int64], k: int) -> Windows:
        hashes = window_hashes(words, k)
        order = np.argsort(hashes, kind="stable").astype(np.int64)
        # Copies counted on the sorted hashes: one sort for both.
        ordered = hashes[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        counts = np.diff(np.concatenate((starts, [len(hashes)])))
        rare = np.empty(len(hashes), dtype=np.bool_)
        rare[order] = np.repeat(counts <= MAX_WINDOW_COPIES, counts)
        return cls(k, hashes, rare, order)
