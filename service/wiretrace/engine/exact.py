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

import wiretrace._core as _core

__all__ = ["MAX_WINDOW_COPIES", "Windows", "window_hashes"]

#: Windows with more copies than this in either text are not joined.
MAX_WINDOW_COPIES = 8


def window_hashes(words: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of every window of ``k`` consecutive word ids (``len - k + 1`` of
    them; none when the text is shorter). Equal windows, equal hashes; a false
    collision has probability about 2**-64 per pair, and runs are checked anyway."""
    return Windows.of(words, k).hashes


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
        """The windows of ``words``, computed by the core (``Detector.prepare`` gets
        them in its one call)."""
        hashes, rare, order = _core.windows(np.ascontiguousarray(words, dtype=np.int64), k)
        return cls(k, hashes, rare, order)
