"""Normalisation for matching, with a map back to the original text.

The matching text is NFKC-normalised, case-folded, has curly quotes and dashes unified
and whitespace runs collapsed to one space. ``Normalized.to_original`` turns half-open
``[start, end)`` ranges of the normalised text into half-open ranges of code points of
the original text. Both run in the compiled core (``core/engine/src/text/normalize.rs``,
the only place where that mapping lives); the character data are Python 3.11's
(Unicode 14.0, ``_core.UNICODE_VERSION``) whatever the interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

import wiretrace._core as _core

__all__ = ["Normalized", "normalize"]


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text and the segments that map it back to the original.

    Segment ``k`` covers ``text[norm_starts[k]:norm_starts[k+1]]`` and came from
    ``original[orig_starts[k]:orig_starts[k+1]]``. A segment is either one-to-one
    (same length on both sides) or atomic (one normalised unit for several original
    code points, or the reverse); atomic segments never split.
    """

    original: str
    text: str
    norm_starts: npt.NDArray[np.int64]
    orig_starts: npt.NDArray[np.int64]
    one_to_one: npt.NDArray[np.bool_]

    def to_original(
        self, starts: npt.ArrayLike, ends: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Map half-open normalised ranges to half-open original ranges (element-wise)."""
        s = np.asarray(starts, dtype=np.int64)
        e = np.asarray(ends, dtype=np.int64)
        if s.shape != e.shape:
            raise ValueError(f"starts and ends differ in shape: {s.shape} and {e.shape}")
        orig_s, orig_e = _core.to_original(
            self.norm_starts,
            self.orig_starts,
            self.one_to_one,
            np.ascontiguousarray(s.reshape(-1)),
            np.ascontiguousarray(e.reshape(-1)),
        )
        return orig_s.reshape(s.shape), orig_e.reshape(e.shape)


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching; see the module docstring for what changes."""
    return Normalized(text, *_core.normalize(text))


def _normalize_by_chunk(text: str) -> Normalized:
    """The general path alone (chunk by chunk, cluster by cluster where folding changes
    lengths), which ``normalize`` skips when every character folds one-to-one: the
    reference its fast path is tested against."""
    return Normalized(text, *_core.normalize(text, by_chunk=True))
