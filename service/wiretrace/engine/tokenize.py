"""Tokenisation for every script.

Scripts written with spaces (Latin, Cyrillic, Greek, Arabic, Devanagari, ...) give word
tokens; scripts written without them (Han, kana, Thai, Lao, Khmer, Myanmar) give
overlapping character bigrams, so a Chinese passage is matched as finely as an English
one. Sentence ends are recorded so that the unit stage can cut on them.

Token offsets are half-open ranges of code points of the *original* text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from wiretrace.engine.normalize import Normalized, normalize

__all__ = ["Tokens", "tokenize"]

# Scripts without spaces between words.
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0002fa1f"  # CJK extensions B-F and supplement
)


@lru_cache(maxsize=1)
def _mark_class() -> str:
    """Character-class body for every combining mark (Unicode category M*).

    ``\\w`` in ``re`` excludes marks, which would cut Devanagari or Arabic words apart.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x20000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


#: Words of an ASCII text: the same tokens as the general pattern, found faster.
_ASCII_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*", re.ASCII | re.IGNORECASE)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Word, unspaced-run and sentence-end patterns."""
    marks = _mark_class()
    letter = rf"[^\W_{_UNSPACED}]"
    # Marks of unspaced scripts (Thai tone marks, ...) belong to their bigrams.
    mark = rf"(?![{_UNSPACED}])[{marks}]"
    word = re.compile(rf"(?:{letter}|{mark})+(?:['.]{letter}+)*")
    unspaced = re.compile(rf"[{_UNSPACED}]+")
    end = re.compile(r"[.!?;。！？]+|\n")
    return word, unspaced, end


@dataclass(frozen=True, slots=True)
class Tokens:
    """The tokens of one text.

    ``words[k]`` is the normalised form of token ``k``; ``starts[k]:ends[k]`` its range in
    the original text. ``sentence_ends`` holds the indices ``k`` such that a sentence ends
    right after token ``k - 1`` (so they are exclusive token bounds, increasing).
    """

    text: str
    words: list[str]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    sentence_ends: list[int]

    def __len__(self) -> int:
        return len(self.words)


def tokenize(text: str, normalized: Normalized | None = None) -> Tokens:
    """Tokenise ``text``; pass ``normalized`` when it was already normalised."""
    norm = normalized if normalized is not None else normalize(text)
    word_re, unspaced_re, end_re = _patterns()
    t = norm.text
    ascii_only = t.isascii()
    if ascii_only:
        word_re = _ASCII_WORD
    spans = [m.span() for m in word_re.finditer(t)]
    words = [t[s:e] for s, e in spans]
    if not ascii_only and unspaced_re.search(t):
        for m in unspaced_re.finditer(t):
            run, base = m.group(), m.start()
            if len(run) == 1:
                words.append(run)
                spans.append((base, base + 1))
            else:
                words.extend(run[i : i + 2] for i in range(len(run) - 1))
                spans.extend((base + i, base + i + 2) for i in range(len(run) - 1))
        order = sorted(range(len(spans)), key=spans.__getitem__)
        words = [words[k] for k in order]
        spans = [spans[k] for k in order]
    n_spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    # A sentence ends after the last token that starts before the end mark.
    marks = np.fromiter((m.start() for m in end_re.finditer(t)), dtype=np.int64)
    counts = np.unique(np.searchsorted(n_spans[:, 0], marks))
    sentence_ends = counts[counts > 0].tolist()
    starts, ends = norm.to_original(n_spans[:, 0], n_spans[:, 1])
    return Tokens(text=text, words=words, starts=starts, ends=ends, sentence_ends=sentence_ends)
