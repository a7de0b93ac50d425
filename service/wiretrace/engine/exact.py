"""Exact runs: the maximal stretches of words two texts share word for word.

The unit pipeline finds passages by their content terms, which is what reworded text
needs; it can then report a verbatim quote as part of a looser passage. This stage
finds the word-for-word runs directly, so that the detector can report a quote on its
own (``detect``): every ``k``-word window of each text is hashed, equal windows are
joined in one sort, and windows that follow each other on one diagonal chain into a
run.

A window that occurs more than ``MAX_WINDOW_COPIES`` times in either text (a chant, a
repeated table row, a hostile text) is left out: it would pair with every copy, and it
tells nothing about which copy was reused. The pairs proposed are counted and bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wiretrace.engine.index import rarest_within

__all__ = ["MAX_WINDOW_COPIES", "ExactRun", "Windows", "shared_runs", "window_hashes"]

#: Windows with more copies than this in either text are not joined.
MAX_WINDOW_COPIES = 8

_MIX = np.uint64(0x9E3779B97F4A7C15)
_SALT = np.uint64(0xD6E8FEB86659FD93)


@dataclass(frozen=True, slots=True)
class ExactRun:
    """Tokens ``[a0, a0 + length)`` of the first text equal, word for word, tokens
    ``[b0, b0 + length)`` of the second."""

    a0: int
    b0: int
    length: int

    @property
    def a1(self) -> int:
        return self.a0 + self.length

    @property
    def b1(self) -> int:
        return self.b0 + self.length


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


def shared_runs(
    a: npt.NDArray[np.int64] | Windows,
    b: npt.NDArray[np.int64] | Windows,
    *,
    k: int,
    max_pairs: int,
) -> tuple[list[ExactRun], int, bool]:
    """The maximal runs of at least ``k`` words that ``a`` and ``b`` (word ids, or
    their prepared ``Windows`` of ``k`` words) share, in order of ``a``; the window
    pairs proposed; whether all were (at most ``max_pairs`` are, the windows of
    fewest copies first).

    Work: two sorts of the windows (none when prepared), plus ``O(pairs log
    pairs)``; pairs are at most ``MAX_WINDOW_COPIES`` per window of ``a``."""
    wa = a if isinstance(a, Windows) else Windows.of(a, k)
    wb = b if isinstance(b, Windows) else Windows.of(b, k)
    if wa.k != k or wb.k != k:
        raise ValueError(f"windows of {wa.k} and {wb.k} words, not {k}")
    ha, hb = wa.hashes, wb.hashes
    if not ha.size or not hb.size:
        return [], 0, True
    order = wb.order
    sorted_b = hb[order]
    lo = np.searchsorted(sorted_b, ha, side="left")
    hi = np.searchsorted(sorted_b, ha, side="right")
    counts = hi - lo
    counts[~wa.rare] = 0
    counts[counts > MAX_WINDOW_COPIES] = 0
    counts, complete = rarest_within(counts, max_pairs)
    total = int(counts.sum())
    if not total:
        return [], 0, complete
    i = np.repeat(np.arange(len(ha), dtype=np.int64), counts)
    # Position of each pair inside its window's block of equal hashes in ``sorted_b``.
    first = np.repeat(np.cumsum(counts) - counts, counts)
    j = order[np.repeat(lo, counts) + np.arange(total, dtype=np.int64) - first].astype(np.int64)
    diagonal = i - j
    by = np.lexsort((i, diagonal))
    i, diagonal = i[by], diagonal[by]
    starts = np.flatnonzero(np.concatenate(([True], (np.diff(diagonal) != 0) | (np.diff(i) != 1))))
    ends = np.concatenate((starts[1:], [len(i)])) - 1
    runs = [
        ExactRun(a0, a0 - d, last - a0 + k)
        for a0, last, d in zip(
            i[starts].tolist(), i[ends].tolist(), diagonal[starts].tolist(), strict=True
        )
    ]
    runs.sort(key=lambda r: (r.a0, r.b0))
    return runs, total, complete
