"""Quoted segments: the text inside quotation marks, in every script's style.

News quotes people, and outlets repeat the same short quote in their own marks:
"…" “…” ”…” «…» »…« „…“ „…” ‚…‘ ‹…› 「…」 『…』, and single quotes ('…', ‘…’) where
they pair. Quotes are found on the original text (normalisation folds some marks
together, and „…“ pairs marks that open other styles). An opening mark starts a word
(no letter or digit before it, none of the spaces after it); its closer is the first
mark of its style that ends a word (no space before it, no letter or digit after it).
A single quote between two letters is an apostrophe and never pairs. Quotes do not
nest (a quote inside a quote belongs to the outer one) and do not cross a blank line
or run longer than ``MAX_QUOTE_CHARS``; an opener without a closer is ignored.

Work: ``O(n log n)`` for a text of ``n`` code points (each opener looks at most
``_MAX_CLOSERS_TRIED`` candidate closers, found by bisection).
"""

from __future__ import annotations

import re
from bisect import bisect_right

import numpy as np
import numpy.typing as npt

__all__ = ["CLOSERS", "MAX_QUOTE_CHARS", "quoted_spans", "quoted_tokens"]

#: Each opening mark and the marks that may close it.
CLOSERS: dict[str, str] = {
    '"': '"',
    "\u201c": "\u201d\u201c",  # “…” (and “…“ typed carelessly)
    "\u201d": "\u201d",  # ”…” (Swedish, Finnish)
    "\u201e": "\u201c\u201d",  # „…“ (German, Czech) and „…” (Polish, Hungarian)
    "\u00ab": "\u00bb",  # «…»
    "\u00bb": "\u00ab",  # »…« (German, Danish)
    "\u201a": "\u2018\u2019",  # ‚…‘ and ‚…’
    "\u2039": "\u203a",  # ‹…›
    "\u203a": "\u2039",  # ›…‹
    "\u300c": "\u300d",  # 「…」
    "\u300e": "\u300f",  # 『…』
    "'": "'",
    "\u2018": "\u2019",  # ‘…’
}
_SINGLE = frozenset("'\u2018\u2019\u201a")
#: Corner brackets are never anything but quotation marks, and CJK text has no
#: spaces around them: they pair without the word-boundary tests.
_BRACKETS = frozenset("\u300c\u300d\u300e\u300f")
#: Guillemets may have spaces inside them (French typesetting: « oui »).
_SPACED = frozenset("\u00ab\u00bb\u2039\u203a")

_MARK = re.compile(
    "[" + re.escape("".join(sorted(set(CLOSERS) | set("".join(CLOSERS.values()))))) + "]"
)
_BLANK_LINE = re.compile(r"\n(?=\n)")

#: The longest quote, in code points; past it an opener is taken to be unpaired.
MAX_QUOTE_CHARS = 3000
_MAX_CLOSERS_TRIED = 16


def _wordish(c: str) -> bool:
    return c.isalnum()


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Half-open code-point ranges of ``text`` inside quotation marks (marks
    excluded), in order, disjoint."""
    positions: dict[str, list[int]] = {}
    for found in _MARK.finditer(text):
        positions.setdefault(found.group(), []).append(found.start())
    if not positions:
        return []
    breaks = [found.start() for found in _BLANK_LINE.finditer(text)]
    openers = sorted(k for c, ks in positions.items() if c in CLOSERS for k in ks)
    out: list[tuple[int, int]] = []
    n = len(text)
    done = 0
    for k in openers:
        if k < done:
            continue
        c = text[k]
        if k + 1 >= n or (text[k + 1].isspace() and c not in _SPACED):
            continue
        if c not in _BRACKETS and k > 0 and _wordish(text[k - 1]):
            continue  # inside a word: an apostrophe, or a closer
        nxt = bisect_right(breaks, k)
        limit = min(n, k + 1 + MAX_QUOTE_CHARS, breaks[nxt] if nxt < len(breaks) else n)
        end = _closer(text, k, CLOSERS[c], positions, limit, single=c in _SINGLE)
        if end is None:
            continue
        s, e = k + 1, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
        done = end + 1
    return out


def _closer(
    text: str, k: int, marks: str, positions: dict[str, list[int]], limit: int, *, single: bool
) -> int | None:
    """The position of the mark that closes the quote opened at ``k``, if any."""
    best: int | None = None
    for mark in marks:
        ks = positions.get(mark, [])
        at = bisect_right(ks, k)
        for e in ks[at : at + _MAX_CLOSERS_TRIED]:
            if e >= limit or (best is not None and e >= best):
                break
            before, after = text[e - 1], text[e + 1] if e + 1 < len(text) else " "
            if mark in _BRACKETS:
                best = e
                break
            if (before.isspace() and mark not in _SPACED) or _wordish(after):
                continue  # opens another quote, or an apostrophe (don't, '90s)
            if single and _wordish(before) and _wordish(after):
                continue
            best = e
            break
    return best


def quoted_tokens(
    spans: list[tuple[int, int]], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Mask of the tokens (``starts``/``ends``, code points) lying inside a quoted span."""
    inside = np.zeros(len(starts), dtype=np.bool_)
    for s, e in spans:
        t0 = int(np.searchsorted(starts, s, side="left"))
        t1 = int(np.searchsorted(ends, e, side="right"))
        if t1 > t0:
            inside[t0:t1] = True
    return inside
