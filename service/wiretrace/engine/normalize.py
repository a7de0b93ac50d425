"""Normalisation for matching, with a map back to the original text.

The matching text is NFKC-normalised, case-folded, has curly quotes and dashes unified
and whitespace runs collapsed to one space. ``Normalized.to_original`` turns half-open
``[start, end)`` ranges of the normalised text into half-open ranges of code points of
the original text; it is the only place where that mapping lives.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Normalized", "normalize"]

_QUOTES_AND_DASHES = str.maketrans(
    {
        "\u2018": "'",  # left single quote
        "\u2019": "'",  # right single quote / apostrophe
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "\u0060": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2039": "'",
        "\u203a": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00ad": "-",
        # One-for-one stand-ins for characters NFKC would expand or that break the fast
        # path: the ellipsis is punctuation either way, no-break and other spaces are
        # whitespace either way.
        "\u2026": ".",
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u205f": " ",
        "\u3000": " ",
        **{chr(c): " " for c in range(0x2000, 0x200B)},
    }
)
_LONG_WHITESPACE_RUN = re.compile(r"\s{2,}")
_SINGLE_WHITESPACE = re.compile(r"\s")
_NON_WHITESPACE_RUN = re.compile(r"\S+")


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
        """Map half-open normalised ranges to half-open original ranges (vectorised)."""
        s = np.asarray(starts, dtype=np.int64)
        e = np.asarray(ends, dtype=np.int64)
        seg_s = np.searchsorted(self.norm_starts, s, side="right") - 1
        offset_s = s - self.norm_starts[seg_s]
        orig_s = np.where(
            self.one_to_one[seg_s], self.orig_starts[seg_s] + offset_s, self.orig_starts[seg_s]
        )
        # The last normalised character of the range is e - 1.
        last = np.maximum(e - 1, 0)
        seg_e = np.searchsorted(self.norm_starts, last, side="right") - 1
        offset_e = e - self.norm_starts[seg_e]
        orig_e = np.where(
            self.one_to_one[seg_e], self.orig_starts[seg_e] + offset_e, self.orig_starts[seg_e + 1]
        )
        orig_e = np.where(e > s, orig_e, orig_s)
        return orig_s, orig_e


def _fold(chunk: str) -> str:
    if chunk.isascii():
        return chunk.lower()
    return unicodedata.normalize("NFKC", chunk).casefold().translate(_QUOTES_AND_DASHES)


def _clusters(chunk: str) -> list[str]:
    """Split into a base character followed by its combining marks."""
    out: list[str] = []
    for ch in chunk:
        if out and unicodedata.combining(ch):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _one_to_one_fold(text: str) -> str | None:
    """The folded text when every character folds to exactly one character, else None.

    ``casefold`` never shrinks a character, so equal total length means one-to-one;
    a text already in NFKC is left alone by NFKC.
    """
    if text.isascii():
        return text.lower()
    text = text.translate(_QUOTES_AND_DASHES)
    if not unicodedata.is_normalized("NFKC", text):
        return None
    folded = text.casefold()
    if len(folded) != len(text):
        return None
    return folded


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching; see the module docstring for what changes."""
    folded = _one_to_one_fold(text)
    if folded is not None:
        return _collapse_whitespace(text, folded)
    return _normalize_by_chunk(text)


def _collapse_whitespace(text: str, folded: str) -> Normalized:
    """Fast path: ``folded`` is ``text`` folded one character for one character; only
    whitespace runs of two or more characters become atomic segments."""
    norm_starts = [0]
    orig_starts = [0]
    one_to_one = [True]
    pieces: list[str] = []
    shift = 0  # original position minus normalised position
    pos = 0
    for m in _LONG_WHITESPACE_RUN.finditer(folded):
        start, end = m.span()
        pieces.append(folded[pos:start])
        pieces.append(" ")
        norm_starts.append(start - shift)
        orig_starts.append(start)
        one_to_one.append(False)
        shift += end - start - 1
        norm_starts.append(end - shift)
        orig_starts.append(end)
        one_to_one.append(True)
        pos = end
    pieces.append(folded[pos:])
    normalized = _SINGLE_WHITESPACE.sub(" ", "".join(pieces))
    norm_starts.append(len(normalized))
    orig_starts.append(len(text))
    one_to_one.append(True)
    return Normalized(
        original=text,
        text=normalized,
        norm_starts=np.asarray(norm_starts, dtype=np.int64),
        orig_starts=np.asarray(orig_starts, dtype=np.int64),
        one_to_one=np.asarray(one_to_one, dtype=np.bool_),
    )


def _normalize_by_chunk(text: str) -> Normalized:
    """General path: chunk by chunk, character cluster by cluster where folding
    changes lengths (ß -> ss, ligatures, combining marks)."""
    pieces: list[str] = []
    norm_starts: list[int] = []
    orig_starts: list[int] = []
    one_to_one: list[bool] = []
    norm_pos = 0

    def emit(piece: str, orig_start: int, orig_len: int) -> None:
        nonlocal norm_pos
        pieces.append(piece)
        norm_starts.append(norm_pos)
        orig_starts.append(orig_start)
        one_to_one.append(len(piece) == orig_len)
        norm_pos += len(piece)

    pos = 0
    for m in _NON_WHITESPACE_RUN.finditer(text):
        if m.start() > pos:
            emit(" ", pos, m.start() - pos)
        chunk = m.group()
        folded = _fold(chunk)
        if chunk.isascii() or (len(folded) == len(chunk) and not _changes_length_locally(chunk)):
            emit(folded, m.start(), len(chunk))
        else:
            at = m.start()
            for cluster in _clusters(chunk):
                emit(_fold(cluster), at, len(cluster))
                at += len(cluster)
        pos = m.end()
    if pos < len(text):
        emit(" ", pos, len(text) - pos)
    norm_starts.append(norm_pos)
    orig_starts.append(len(text))
    one_to_one.append(True)
    return Normalized(
        original=text,
        text="".join(pieces),
        norm_starts=np.asarray(norm_starts, dtype=np.int64),
        orig_starts=np.asarray(orig_starts, dtype=np.int64),
        one_to_one=np.asarray(one_to_one, dtype=np.bool_),
    )


def _changes_length_locally(chunk: str) -> bool:
    """True when some character folds to a different length (ß -> ss, ﬁ -> fi, ...).

    Equal total length does not prove a one-to-one mapping if one character grows
    and another shrinks (NFKC composition), so every character is checked.
    """
    return any(len(_fold(c)) != 1 for c in chunk) or any(unicodedata.combining(c) for c in chunk)
