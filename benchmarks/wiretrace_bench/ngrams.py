"""The document-level baseline: the word 5-grams two texts share.

Issue 11 found that on the question "was this article derived from that one?"
wiretrace ranked pairs no better than counting shared 5-word sequences; this module is
that count, so that every document-level run reports it beside wiretrace.

Words are maximal runs of Unicode word characters (``\\w+``), case-folded; offsets are
half-open ``[start, end)`` in code points of the text.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_N", "containment", "shared_spans", "word_spans", "words"]

#: The sequence length of the baseline, as in the issue ("shared 5-word sequences").
DEFAULT_N = 5

_WORD = re.compile(r"\w+")

Range = tuple[int, int]


def word_spans(text: str) -> list[Range]:
    """Character range of every word of ``text``, in order."""
    return [m.span() for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    """The case-folded words of ``text``, in order."""
    return [m.group().casefold() for m in _WORD.finditer(text)]


def _grams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[k : k + n]) for k in range(len(tokens) - n + 1)]


def containment(a: str, b: str, *, n: int = DEFAULT_N) -> float:
    """Share in [0, 1] of the distinct word ``n``-grams of ``a`` that also occur in
    ``b``; 0 when ``a`` has fewer than ``n`` words."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    mine = set(_grams(words(a), n))
    if not mine:
        return 0.0
    return len(mine & set(_grams(words(b), n))) / len(mine)


def shared_spans(a: str, b: str, *, n: int = DEFAULT_N) -> list[Range]:
    """Character ranges of ``a`` covered by word ``n``-grams that also occur in ``b``,
    merged where they touch or overlap (sorted, disjoint)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    spans = word_spans(a)
    tokens = [a[s:e].casefold() for s, e in spans]
    theirs = set(_grams(words(b), n))
    out: list[Range] = []
    for k, gram in enumerate(_grams(tokens, n)):
        if gram not in theirs:
            continue
        start, end = spans[k][0], spans[k + n - 1][1]
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
