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

Work: ``O(n log n)`` for a text of ``n`` code points (each opener looks at a bounded
number of candidate closers, found by bisection). The search runs in the compiled core
(``core/engine/src/text/quotes.rs``); ``Detector.prepare`` receives the quoted tokens.
"""

from __future__ import annotations

import wiretrace._core as _core

__all__ = ["MAX_QUOTE_CHARS", "quoted_spans"]

#: The longest quote, in code points; past it an opener is taken to be unpaired.
MAX_QUOTE_CHARS: int = _core.MAX_QUOTE_CHARS


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Half-open code-point ranges of ``text`` inside quotation marks (marks
    excluded), in order, disjoint."""
    return _core.quoted_spans(text)
