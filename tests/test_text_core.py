"""The text stages of the compiled core (core/engine/src/text), through the binding.

Random Unicode of every script (astral characters, combining marks, right-to-left,
zero-width, CJK) must give spans that slice back, offsets that round-trip and stay in
order, and content-term ids equal to the CRC-32 the stored signatures were built on.
The slow references below (the term ids, the word pattern, the per-character fold) are
the Python definitions the core replaced, kept as oracles.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiretrace import Detector, EngineConfig, _core
from wiretrace.engine.normalize import normalize
from wiretrace.engine.quotes import quoted_spans
from wiretrace.engine.terms import NO_TERM, STOPWORDS
from wiretrace.engine.tokenize import tokenize

#: The troublemakers, beside st.characters' every code point.
_TRICKY = list(
    "\u0301\u0308\u0323\u093c\u094d\u0e48\u200b\u200c\u200d\u200e\u200f\u202e\u2066"
    "\u00a0\u3000\u2028\u2029\u0085\x1c\n\t ﬁﬃßẞİıΣσςǅ\u1100\u1161\u11a8가각"
    "\"'«»„“”‚‘’‹›「」『』.!?;。！？…—–-_0123456789٣४"
    "克里姆林宫ข่าวด่วนالعربيةעבריתहिन्दीКремль𝔘😀𠀀\U000e0100\U0001e900"
)
UNICODE = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(_TRICKY)),
    max_size=200,
)
PYTHON_IS_THE_TABLES_SOURCE = unicodedata.unidata_version == _core.UNICODE_VERSION
same_unicode = pytest.mark.skipif(
    not PYTHON_IS_THE_TABLES_SOURCE,
    reason=f"the core's tables are Unicode {_core.UNICODE_VERSION} (Python 3.11's), "
    f"this Python's unicodedata is {unicodedata.unidata_version}",
)

CONFIG = EngineConfig()


def _terms(text: str, stem_prefix: int) -> tuple[list[str], list[int], list[int]]:
    """Words, term ids and word ids of ``text`` from ``prepare``'s one core call."""
    doc = Detector(EngineConfig(stem_prefix=stem_prefix)).prepare(text)
    return list(doc.tokens.words), doc.terms.tolist(), doc.words.tolist()


@given(UNICODE)
def test_tokens_lie_inside_the_text_in_order(text: str) -> None:
    t = tokenize(text)
    starts, ends = t.starts.tolist(), t.ends.tolist()
    assert len(t.words) == len(starts) == len(ends)
    for word, s, e in zip(t.words, starts, ends, strict=True):
        assert 0 <= s < e <= len(text)
        assert word
    assert starts == sorted(starts)
    assert ends == sorted(ends)
    assert t.sentence_ends == sorted(set(t.sentence_ends))
    assert all(0 < k <= len(t.words) for k in t.sentence_ends)


@given(UNICODE)
def test_offsets_round_trip_and_stay_monotone(text: str) -> None:
    n = normalize(text)
    size = len(n.text)
    if size:
        s, e = n.to_original([0], [size])
        assert (int(s[0]), int(e[0])) == (0, len(text))
    # Every normalised position maps into the text, in order, and a one-to-one
    # segment maps character for character.
    starts = np.arange(size, dtype=np.int64)
    orig_s, orig_e = n.to_original(starts, starts + 1)
    assert np.all(np.diff(orig_s) >= 0)
    assert np.all(np.diff(orig_e) >= 0)
    assert np.all((orig_s >= 0) & (orig_s < orig_e) & (orig_e <= len(text)))
    seg = np.searchsorted(n.norm_starts, starts, side="right") - 1
    one = n.one_to_one[seg]
    assert np.array_equal(
        orig_s[one], n.orig_starts[seg[one]] + (starts[one] - n.norm_starts[seg[one]])
    )
    # Segments start where the previous one ended, on both sides.
    assert n.norm_starts[0] == 0
    assert n.orig_starts[0] == 0
    assert n.norm_starts[-1] == size
    assert n.orig_starts[-1] == len(text)
    assert np.all(np.diff(n.norm_starts) >= 0)
    assert np.all(np.diff(n.orig_starts) >= 0)


@given(UNICODE)
def test_quoted_spans_slice_back_between_marks(text: str) -> None:
    spans = quoted_spans(text)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        inner = text[s:e]
        assert inner == inner.strip()
        assert inner
        last = e
    assert max((e - s for s, e in spans), default=0) <= _core.MAX_QUOTE_CHARS


def _reference_terms(words: list[str], stem_prefix: int) -> tuple[list[int], list[int]]:
    """The Python definition the stored signatures were built on."""
    terms = []
    for w in words:
        if w in STOPWORDS:
            terms.append(NO_TERM)
        elif stem_prefix and w.isalpha():
            terms.append(zlib.crc32(w[:stem_prefix].encode("utf-8")))
        else:
            terms.append(zlib.crc32(w.encode("utf-8")))
    return terms, [zlib.crc32(w.encode("utf-8")) for w in words]


@given(UNICODE, st.integers(0, 8))
def test_term_ids_are_the_crc32_of_the_stored_signatures(text: str, stem_prefix: int) -> None:
    words, terms, word_ids = _terms(text, stem_prefix)
    assert (terms, word_ids) == _reference_terms(words, stem_prefix)


def test_term_ids_of_news_words() -> None:
    text = "The Kremlin attacked; Кремль атаковал. Straße 2024"
    words, terms, _ = _terms(text, CONFIG.stem_prefix)
    assert words == ["the", "kremlin", "attacked", "кремль", "атаковал", "strasse", "2024"]
    assert terms == _reference_terms(words, CONFIG.stem_prefix)[0]
    assert terms[0] == NO_TERM


@given(UNICODE, st.integers(1, 5), st.integers(1, 12))
def test_units_cover_the_tokens_and_hold_their_distinct_terms(
    text: str, least: int, most: int
) -> None:
    config = EngineConfig(min_unit_tokens=least, max_unit_tokens=max(most, 2 * least))
    doc = Detector(config).prepare(text)
    bounds = doc.units.bounds.tolist()
    assert bounds[0] == 0
    assert bounds[-1] == len(doc.words)
    assert all(a < b for a, b in itertools.pairwise(bounds))
    assert len(doc.units) == len(bounds) - 1
    for u in range(len(doc.units)):
        span = doc.terms[bounds[u] : bounds[u + 1]]
        assert doc.units.features[u].tolist() == sorted(set(span[span != NO_TERM].tolist()))
    assert len(doc.quoted) == len(doc.named) == len(doc.words) == len(doc.tokens)


#: The word pattern of the Python stage, kept as the tokeniser's oracle.
_UNSPACED = (
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
)


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    marks = "".join(
        re.escape(chr(cp))
        for cp in range(0x300, 0x20000)
        if unicodedata.category(chr(cp)).startswith("M")
    )
    letter = rf"[^\W_{_UNSPACED}]"
    return re.compile(rf"(?:{letter}|(?![{_UNSPACED}])[{marks}])+(?:['.]{letter}+)*")


@same_unicode
@settings(max_examples=300)
@given(UNICODE)
def test_words_are_the_python_patterns_words(text: str) -> None:
    norm = normalize(text).text
    want = [m.group() for m in _word_pattern().finditer(norm)]
    got = [w for w in tokenize(text).words if not re.fullmatch(f"[{_UNSPACED}]+", w)]
    assert got == want


#: The one-for-one stand-ins of the normalisation (module docstring of normalize.py).
_STAND_INS = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060\u2039\u203a", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad", "-"),
        "\u2026": ".",
        **dict.fromkeys("\u00a0\u2007\u202f\u205f\u3000", " "),
        **{chr(c): " " for c in range(0x2000, 0x200B)},
    }
)


@same_unicode
def test_every_code_point_folds_as_python_folds_it() -> None:
    # Each non-space code point alone between spaces is a chunk of its own, folded
    # as NFKC, casefold and the stand-ins: all 1.1M of them in one call.
    chars = [
        chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and not chr(cp).isspace()
    ]
    nfkc = unicodedata.normalize
    want = " ".join(
        c.lower() if c.isascii() else nfkc("NFKC", c).casefold().translate(_STAND_INS)
        for c in chars
    )
    assert normalize(" ".join(chars)).text == want


def test_a_panic_in_the_core_is_a_runtime_error_with_a_clear_message() -> None:
    with pytest.raises(_core.EnginePanic, match="wiretrace core bug in _panic_for_tests: boom"):
        _core._panic_for_tests("boom")
    assert issubclass(_core.EnginePanic, RuntimeError)
    # A plain `except Exception` (the service's last resort) catches it.
    with pytest.raises(Exception, match="again"):
        _core._panic_for_tests("again")


def test_a_lone_surrogate_is_one_code_point_like_any_other_symbol() -> None:
    text = "Kremlin \ud800said “so” 2024"
    with_replacement = text.replace("\ud800", "\ufffd")
    a, b = tokenize(text), tokenize(with_replacement)
    assert a.words == b.words
    assert a.starts.tolist() == b.starts.tolist()
    assert a.ends.tolist() == b.ends.tolist()
    assert quoted_spans(text) == quoted_spans(with_replacement)


def test_bad_offset_maps_are_rejected() -> None:
    empty = np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match="equally long"):
        _core.to_original(empty, empty, np.zeros(0, dtype=np.bool_), empty, empty)
    n = normalize("abc")
    with pytest.raises(ValueError, match="differ in shape"):
        n.to_original([0, 1], [1])


def test_the_tables_are_python_311s() -> None:
    assert _core.UNICODE_VERSION == "14.0.0"
    if sys.version_info[:2] == (3, 11):
        assert PYTHON_IS_THE_TABLES_SOURCE
