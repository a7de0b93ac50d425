"""Tokenisation for every script.

Scripts written with spaces (Latin, Cyrillic, Greek, Arabic, Devanagari, ...) give word
tokens; scripts written without them (Han, kana, Thai, Lao, Khmer, Myanmar) give
overlapping character bigrams, so a Chinese passage is matched as finely as an English
one. Sentence ends are recorded so that the unit stage can cut on them. The work runs
in the compiled core (``core/engine/src/text/tokenize.rs``).

Token offsets are half-open ranges of code points of the *original* text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

import wiretrace._core as _core

__all__ = ["Tokens", "tokenize"]


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


def tokenize(text: str) -> Tokens:
    """Tokenise ``text``."""
    return Tokens(text, *_core.tokenize(text))
