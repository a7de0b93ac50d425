"""``Detector.compare`` as one core call (``_core.detect``: the sides given as text
prepared, two on two threads, then aligned; spans and confidences in
core/engine/src/matches.rs), held to the Python it replaced: ``_reference_compare``
below is the pipeline as it ran before (``align.align``'s token ranges,
``_reference_match``, which was ``detect._match``, with ``_close``, the summary stage
as the numpy module it was (``summary_reference.py``), ``confidence(features(...))``
in numpy), kept as the oracle. Every match, float for
float, and every ``Work`` counter must agree."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiretrace import Detector, _core
from wiretrace.engine import align
from wiretrace.engine.confidence import COEFFICIENTS, confidence, features
from wiretrace.engine.detect import Document, Kind, Match, _close, _prepare_config
from wiretrace.engine.units import Units
from wiretrace.engine.work import CancelToken, Work
from wiretrace.errors import Expired
from wiretrace_bench.service_bench import compare_pairs
from wiretrace_bench.synthetic import generate

from .summary_reference import summarise
from .test_text_core import UNICODE


def _reference_match(a: Document, b: Document, x: align.Aligned) -> Match:
    """``detect._match`` as it was: token ranges ``x`` in character offsets, from the
    first token's start to the last token's end moved over closing punctuation
    (``_close``), except for a quote."""
    kind = Kind(x.kind)
    ta, tb = a.tokens, b.tokens
    a_end, b_end = int(ta.ends[x.a1 - 1]), int(tb.ends[x.b1 - 1])
    if kind is not Kind.QUOTE:
        a_end, b_end = _close(ta.text, a_end), _close(tb.text, b_end)
    return Match(int(ta.starts[x.a0]), a_end, int(tb.starts[x.b0]), b_end, x.similarity, kind)


def _reference_compare(
    detector: Detector, a: Document | str, b: Document | str, work: Work
) -> list[Match]:
    """``Detector.compare`` as it was before the core took its tail."""
    same = a is b or (isinstance(a, str) and a == b)
    da = detector.prepare(a) if isinstance(a, str) else a
    db = da if same else (detector.prepare(b) if isinstance(b, str) else b)
    work.comparisons += 1
    for d in (da,) if same else (da, db):
        work.units += len(d.units)
        work.collapsed_units += int(d.hidden.sum())
    found = align.align(da, db, same_text=same, config=detector.config, work=work)
    matches = [_reference_match(da, db, x) for x in found]
    if not same:
        matches = summarise(da, db, matches, detector.config, work)
    return [replace(m, confidence=confidence(features(da, db, m))) for m in matches]


def _exact(matches: list[Match]) -> list[tuple[object, ...]]:
    """Matches with their floats as ``repr`` (bit for bit)."""
    return [
        (m.a_start, m.a_end, m.b_start, m.b_end, m.kind, repr(m.similarity), repr(m.confidence))
        for m in matches
    ]


def _pairs() -> list[tuple[str, str]]:
    pairs = compare_pairs(16, 5000, seed=3) + compare_pairs(8, 1500, seed=4)
    articles, cases = generate(120, seed=6)
    by_id = {x.id: x.text for x in articles}
    pairs += [(by_id[c.article], by_id[c.source]) for c in cases[:40]]
    # Two equal strings are one text (its repeats); two documents, two articles.
    return [(a, b) for a, b in pairs if a != b]


PAIRS = _pairs()


def test_compare_of_texts_and_of_documents_equals_the_python_pipeline(
    detector: Detector,
) -> None:
    found = 0
    for text_a, text_b in PAIRS:
        expected_work = Work()
        expected = _reference_compare(detector, text_a, text_b, expected_work)
        work = Work()
        assert _exact(detector.compare(text_a, text_b, work=work)) == _exact(expected)
        assert work.counters() == expected_work.counters()
        assert work.limited == expected_work.limited
        da, db = detector.prepare(text_a), detector.prepare(text_b)
        assert _exact(detector.compare(da, db)) == _exact(expected)
        assert _exact(detector.compare(da, text_b)) == _exact(expected)  # one of each
        assert _exact(detector.compare(text_a, db)) == _exact(expected)
        found += len(expected)
    assert found > len(PAIRS)  # the pairs share passages: the check means something


def test_repeats_equal_the_python_pipeline(detector: Detector) -> None:
    shown = 0
    for text, _ in PAIRS[:20]:
        text = text + "\n" + text[: len(text) // 2]  # a repeated stretch
        expected_work, work = Work(), Work()
        expected = _reference_compare(detector, text, text, expected_work)
        assert _exact(detector.compare(text, text, work=work)) == _exact(expected)
        assert work.counters() == expected_work.counters()
        doc = detector.prepare(text)
        assert _exact(detector.repeats(doc)) == _exact(expected)
        shown += len(expected)
    assert shown


# Shared stretches cut from random Unicode, so that the tail sees matches whose ends
# sit before every kind of closing mark, quote and script.
_VOCABULARY = [
    "minister",
    "council",
    "harbour",
    "railway",
    "budget",
    "station",
    "teachers",
    "hospital",
    "bridge",
    "river",
    "election",
    "parliament",
    "museum",
    "festival",
    "airport",
    "village",
    "factory",
    "orchestra",
    "library",
    "farmers",
    "vaccine",
    "tunnel",
    "forest",
    "market",
    "stadium",
    "ferry",
    "prison",
    "glacier",
    "pension",
    "court",
]
_WORDS = st.lists(st.sampled_from(_VOCABULARY), min_size=8, max_size=30, unique=True)


@settings(max_examples=120)
@given(UNICODE, UNICODE, UNICODE, _WORDS, st.sampled_from(".!?…\"')]»”’。！？ ,;"))
def test_random_unicode_compares_as_the_python_pipeline(
    head: str, middle: str, tail: str, words: list[str], mark: str
) -> None:
    detector = Detector()
    shared = " ".join(words) + mark
    a = head + " " + shared + middle
    b = tail + shared + mark + head
    expected = _reference_compare(detector, a, b, Work())
    got = detector.compare(a, b)
    assert _exact(got) == _exact(expected)
    for m in got:  # spans slice back into the texts as sent
        assert 0 <= m.a_start <= m.a_end <= len(a)
        assert 0 <= m.b_start <= m.b_end <= len(b)


@settings(max_examples=200)
@given(UNICODE)
def test_closed_ends_are_the_python_rule_on_every_token(text: str) -> None:
    doc = Detector().prepare(text)
    spans = doc.aligned().spans()
    assert spans is not None
    starts, ends, closed = spans
    assert starts == doc.tokens.starts.tolist()
    assert ends == doc.tokens.ends.tolist()
    assert closed == [_close(text, e) for e in ends]
    # A PreparedDoc built from the document's arrays carries the same spans.
    assert align.prepared_doc(doc).spans() == spans


def test_confidences_are_the_numpy_formula_bit_for_bit(detector: Detector) -> None:
    """Every match of the pairs, with its confidence from the core and from
    ``confidence(features(...))``: equal floats, not close ones."""
    checked = 0
    for text_a, text_b in PAIRS:
        da, db = detector.prepare(text_a), detector.prepare(text_b)
        for m in detector.compare(da, db):
            assert m.confidence == confidence(features(da, db, m))
            checked += 1
    assert checked > 50


def test_a_prepared_doc_without_spans_is_refused_with_a_reason(detector: Detector) -> None:
    doc = detector.prepare("The minister said the schools will reopen on Monday.")
    fields = align.prepared_fields(doc)
    bare = _core.PreparedDoc(
        **{k: v for k, v in fields.items() if k not in {"starts", "ends", "closed", "chars"}}
    )
    assert not bare.has_spans
    assert bare.spans() is None
    assert bare.chars is None
    assert align.prepared_doc(doc).chars == len(doc.text) == doc.aligned().chars
    with pytest.raises(ValueError, match="without its tokens' spans"):
        _core.detect(
            bare,
            None,
            prepare=_prepare_config(detector.config),
            config=align.align_config(detector.config),
            coefficients=COEFFICIENTS,
            counters=[0] * len(align.COUNTERS),
            limited=[],
        )
    with pytest.raises(ValueError, match="come together"):
        _core.PreparedDoc(**{**fields, "closed": None})
    falling = np.array(doc.tokens.ends[::-1], dtype="<i8").tobytes()
    with pytest.raises(ValueError, match="must not fall"):
        _core.PreparedDoc(**{**fields, "ends": falling})
    far = np.array([*doc.tokens.ends[:-1], 2**32], dtype="<i8").tobytes()
    with pytest.raises(ValueError, match="past 2"):
        _core.PreparedDoc(**{**fields, "closed": far})
    with pytest.raises(ValueError, match="past the text's"):
        _core.PreparedDoc(**{**fields, "chars": len(doc.text) - 1})
    with pytest.raises(ValueError, match="come together"):
        _core.PreparedDoc(**{**fields, "chars": None})


def test_a_cancelled_call_stops_before_any_work(detector: Detector) -> None:
    text_a, text_b = PAIRS[0]
    token = CancelToken()
    token.cancel()
    with pytest.raises(Expired):
        detector.compare(text_a, text_b, work=Work(cancelled=token))

    def gone() -> bool:
        return True

    with pytest.raises(Expired):
        detector.compare(text_a, text_b, work=Work(cancelled=gone))


@pytest.mark.parametrize("parallel", [True, False])
def test_two_texts_on_two_threads_or_one_give_the_same(detector: Detector, parallel: bool) -> None:
    for text_a, text_b in PAIRS[:12]:
        expected = _reference_compare(detector, text_a, text_b, Work())
        found = align.detect(
            text_a,
            text_b,
            prepare=_prepare_config(detector.config),
            config=align.align_config(detector.config),
            coefficients=COEFFICIENTS,
            work=Work(),
            parallel=parallel,
        )
        assert [(m.a_start, m.a_end, m.b_start, m.b_end) for m in expected] == [
            tuple(m[:4]) for m in found
        ]


def test_threads_comparing_at_once_get_what_one_gets(detector: Detector) -> None:
    """Pairs prepared on the helper thread or taken back by their caller, from several
    threads at once: the same matches as one after the other."""
    pairs = PAIRS[:16]
    expected = [_exact(detector.compare(a, b)) for a, b in pairs]
    got: dict[int, list[tuple[object, ...]]] = {}

    def run(k: int) -> None:
        for i in range(k, len(pairs), 4):
            got[i] = _exact(detector.compare(*pairs[i]))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(pairs))] == expected


def test_unit_features_are_split_once_and_as_numpy_splits(detector: Detector) -> None:
    units = detector.prepare(PAIRS[0][0]).units
    first = units.features
    assert first is units.features  # kept
    expected = np.split(units.flat, units.feature_bounds[1:-1])
    assert [f.tolist() for f in first] == [f.tolist() for f in expected]
    empty = Units(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(1, np.int64))
    assert empty.features == []


def test_a_document_prepared_without_words_compares_the_same(detector: Detector) -> None:
    text_a, text_b = PAIRS[1]
    lean = detector.prepare(text_a, words=False)
    full = detector.prepare(text_a)
    assert lean.tokens.words == []
    assert len(full.tokens.words) == len(full.tokens.starts) > 0
    b = detector.prepare(text_b)
    assert _exact(detector.compare(lean, b)) == _exact(detector.compare(full, b))
    assert lean.tokens.starts.tolist() == full.tokens.starts.tolist()


def test_many_articles_in_one_call_match_one_compare_each(detector: Detector) -> None:
    docs = detector.prepare_sources([t for pair in PAIRS[:8] for t in pair])
    jobs = [(docs[i], [docs[i + 1], docs[(i + 3) % len(docs)]], Work()) for i in range(0, 16, 2)]
    cancelled = CancelToken()
    cancelled.cancel()
    jobs.insert(3, (docs[0], [docs[1]], Work(cancelled=cancelled)))
    alone = [Work() for _ in jobs]
    found = detector.compare_many(jobs)
    for (doc, sources, work), one, solo in zip(jobs, found, alone, strict=True):
        if work.cancelled is cancelled:
            assert isinstance(one, Expired)  # this job alone
            continue
        assert not isinstance(one, Expired)
        crossed, repeated = one
        assert crossed == [detector.compare(doc, s, work=solo) for s in sources]
        assert repeated == detector.repeats(doc, work=solo)
        # Each job counts its own work, as the calls one by one count it.
        assert work.counters() == solo.counters()
    assert sum(bool(c) for one in found if not isinstance(one, Expired) for c in one[0]) > 4
