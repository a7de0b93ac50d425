"""Summary mode (core/engine/src/summary.rs): an article paragraph that summarises a long
source is one match over the whole source region; copies, several passages and
same-event articles are left as the alignment found them."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from wiretrace import Detector, EngineConfig, _core
from wiretrace.engine.detect import Document, Kind
from wiretrace.engine.terms import NO_TERM
from wiretrace.errors import InvalidInput

from .conftest import VOCABULARY

SENTENCE_WORDS = 18


def _sentence(rng: random.Random) -> list[str]:
    return rng.sample(VOCABULARY, SENTENCE_WORDS)


def _text(sentences: list[list[str]]) -> str:
    return " ".join(" ".join(s).capitalize() + "." for s in sentences)


def _summary_pair(seed: int = 7) -> tuple[str, str, str]:
    """(article, source, the article's summary paragraph): the source holds 40
    sentences; the summary shortens four of them, far apart, and leads and ends an
    article of unrelated sentences."""
    rng = random.Random(seed)
    source = [_sentence(rng) for _ in range(40)]
    kept = [source[k] for k in (2, 13, 25, 37)]
    # Each shortened: two words dropped inside it, and its last three.
    summary = _text([s[:3] + s[4:8] + s[9:15] for s in kept])
    before = _text([_sentence(rng) for _ in range(6)])
    after = _text([_sentence(rng) for _ in range(6)])
    return f"{before}\n\n{summary}\n\n{after}", _text(source), summary


def test_a_summary_of_a_long_source_is_one_match_over_it(detector: Detector) -> None:
    article, source, summary = _summary_pair()
    start = article.index(summary)
    off = Detector(replace(detector.config, summary_ratio=0.0))
    pieces = off.compare(off.prepare(article), off.prepare(source))
    assert len(pieces) >= 2, "the alignment alone finds the summary's sentences apart"
    [m] = detector.compare(detector.prepare(article), detector.prepare(source))
    assert m.kind is Kind.REWORDED
    assert start <= m.a_start
    assert m.a_end <= start + len(summary) + 1
    assert m.a_end - m.a_start >= 0.9 * len(summary)
    # The four sentences span most of the source: the match takes all of it.
    assert (m.b_start, m.b_end) == (0, len(source))
    assert 0.0 < m.confidence <= 1.0


def test_without_the_whole_source_share_the_match_spans_the_sentences_found() -> None:
    article, source, _ = _summary_pair()
    d = Detector(EngineConfig(summary_whole_share=0.0))
    [m] = d.compare(d.prepare(article), d.prepare(source))
    first = source.index(" ".join(source.split(". ")[2].split()[:3]))
    assert m.b_start <= first < m.b_end < len(source)
    assert m.b_end - m.b_start >= 3 * (m.a_end - m.a_start)


def test_a_copied_passage_is_not_a_summary(detector: Detector) -> None:
    rng = random.Random(3)
    source = [_sentence(rng) for _ in range(40)]
    copied = _text(source[10:16])  # six sentences word for word
    article = _text([_sentence(rng) for _ in range(5)]) + "\n\n" + copied
    off = Detector(replace(detector.config, summary_ratio=0.0))
    a, b = detector.prepare(article), detector.prepare(_text(source))
    found = detector.compare(a, b)
    assert found, "the copy is found"
    assert found == off.compare(off.prepare(article), off.prepare(_text(source)))


def test_passages_in_two_places_of_the_article_are_not_one_summary(detector: Detector) -> None:
    # Two summarised stretches far apart in the article: reuse in two places, left alone.
    _, source, summary = _summary_pair(11)
    rng = random.Random(12)
    middle = _text([_sentence(rng) for _ in range(12)])
    twice = f"{summary}\n\n{middle}\n\n{summary}"
    off = Detector(replace(detector.config, summary_ratio=0.0))
    expected = off.compare(off.prepare(twice), off.prepare(source))
    assert len(expected) >= 4, "both stretches are found, each in pieces"
    assert detector.compare(detector.prepare(twice), detector.prepare(source)) == expected


def test_repeats_inside_one_text_are_untouched(detector: Detector) -> None:
    _, source, _ = _summary_pair()
    off = Detector(replace(detector.config, summary_ratio=0.0))
    assert detector.repeats(source + "\n\n" + source)
    assert detector.repeats(source + "\n\n" + source) == off.repeats(source + "\n\n" + source)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("summary_ratio", -1.0, "summary_ratio must be >= 0"),
        ("summary_join_ratio", -1.0, "summary_join_ratio must be >= 0"),
        ("summary_gap_tokens", -1, "summary_gap_tokens must be >= 0"),
        ("summary_whole_share", 1.5, "summary_whole_share must be in [0.0, 1.0]"),
        ("summary_unit_dice", -0.1, "summary_unit_dice must be in [0.0, 1.0]"),
    ],
)
def test_summary_settings_are_validated(field: str, value: float, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        EngineConfig(**{field: value})  # type: ignore[arg-type]


def test_sentences_copied_word_for_word_stay_separate_matches(detector: Detector) -> None:
    # Sentences copied whole from all over a source are copies, each reported as such.
    rng = random.Random(5)
    source = [_sentence(rng) for _ in range(40)]
    article = _text([source[k] for k in (2, 13, 25, 37)])
    off = Detector(replace(detector.config, summary_ratio=0.0))
    expected = off.compare(off.prepare(article), off.prepare(_text(source)))
    assert len(expected) >= 2
    assert all(m.kind is Kind.VERBATIM for m in expected)
    assert detector.compare(detector.prepare(article), detector.prepare(_text(source))) == expected


def _shortened(s: list[str]) -> list[str]:
    """A sentence as a summary keeps it: two words dropped inside, and its last three."""
    return s[:3] + s[4:8] + s[9:15]


def test_a_summary_that_copies_its_lead_is_still_one_match_over_the_source(
    detector: Detector,
) -> None:
    # Three lead sentences word for word (a long copy), then three later ones
    # shortened: the copy alone does not make the pair a copy and nothing more.
    rng = random.Random(21)
    source = [_sentence(rng) for _ in range(40)]
    summary = _text(source[2:5] + [_shortened(source[k]) for k in (20, 28, 36)])
    before = _text([_sentence(rng) for _ in range(6)])
    after = _text([_sentence(rng) for _ in range(6)])
    article = f"{before}\n\n{summary}\n\n{after}"
    off = Detector(replace(detector.config, summary_ratio=0.0))
    pieces = off.compare(off.prepare(article), off.prepare(_text(source)))
    assert any(m.a_end - m.a_start >= len(_text(source[2:5])) - 2 for m in pieces), "the copy"
    [m] = detector.compare(detector.prepare(article), detector.prepare(_text(source)))
    start = article.index(summary)
    assert start <= m.a_start
    assert m.a_end <= start + len(summary) + 1
    assert m.a_end - m.a_start >= 0.9 * len(summary)
    assert (m.b_start, m.b_end) == (0, len(_text(source)))


def test_sentences_from_all_over_the_source_out_of_order_are_not_a_summary(
    detector: Detector,
) -> None:
    # A summary keeps its source's order; sentences that agree with source sentences
    # in scrambled order (two reports telling one story each their own way) stay apart.
    rng = random.Random(8)
    source = [_sentence(rng) for _ in range(40)]
    article = _text([_shortened(source[k]) for k in (30, 24, 36, 12, 5)])
    off = Detector(replace(detector.config, summary_ratio=0.0))
    expected = off.compare(off.prepare(article), off.prepare(_text(source)))
    assert len(expected) >= 3, "the alignment finds the sentences"
    assert detector.compare(detector.prepare(article), detector.prepare(_text(source))) == expected


def test_a_group_stretched_less_than_a_summary_is_joined_over_its_hulls() -> None:
    # The same summary judged against a summary_ratio it does not reach: its pieces,
    # in order and stretched beyond summary_join_ratio, are still one match, but over
    # the source sentences found, not the whole source.
    article, source, summary = _summary_pair()
    d = Detector(EngineConfig(summary_ratio=50.0))
    off = Detector(EngineConfig(summary_ratio=0.0))
    assert len(off.compare(off.prepare(article), off.prepare(source))) >= 2
    [m] = d.compare(d.prepare(article), d.prepare(source))
    assert m.a_end - m.a_start >= 0.9 * len(summary)
    first = source.index(" ".join(source.split(". ")[2].split()[:3]))
    assert m.b_start <= first < m.b_end < len(source)
    assert m.b_start > 0


def _said_terms(doc: Document, u: int) -> set[int]:
    """Reference: unit ``u``'s content terms that do not name, one token at a time."""
    t0, t1 = int(doc.units.bounds[u]), int(doc.units.bounds[u + 1])
    return {
        int(doc.terms[t]) for t in range(t0, t1) if doc.terms[t] != NO_TERM and not doc.named[t]
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_unit_dice_matches_the_set_reference(detector: Detector, seed: int) -> None:
    # The core's sparse product (the summary stage's Dice) against Dice on Python
    # sets, unit by unit, on texts with names and numbers (left out) and shared
    # sentences.
    rng = random.Random(seed)
    source = [_sentence(rng) for _ in range(12)]
    a_text = _text([_shortened(source[k]) for k in (1, 5, 9)] + [_sentence(rng)])
    a_text += " Maria Lopez paid 1200 dollars in March."
    b_text = _text(source) + " Lopez said the 1200 dollars were paid."
    a, b = detector.prepare(a_text), detector.prepare(b_text)
    units = list(range(len(a.units)))
    flat_dice, flat_shared = _core.summary_dice(a.aligned(), b.aligned(), units)
    dice = np.array(flat_dice).reshape(len(units), len(b.units))
    shared = np.array(flat_shared).reshape(len(units), len(b.units))
    for u in range(len(a.units)):
        x = _said_terms(a, u)
        for j in range(len(b.units)):
            y = _said_terms(b, j)
            assert shared[u, j] == len(x & y)
            want = 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0
            assert dice[u, j] == pytest.approx(want)
    assert dice.max() > 0.5, "the shortened sentences agree with their source"


def test_a_near_copy_is_not_stretched_by_a_sentence_its_source_repeats(
    detector: Detector,
) -> None:
    # The source states its lead again later on (sentence 30 repeats sentence 3); an
    # article copies sentences 30-34 with a word changed in each. Judged anywhere in
    # the source, the repeated sentence would place the copy's first sentence at the
    # lead and stretch the copy into a loose summary of the whole source; judged
    # inside its match's source span, it is the copy it is.
    rng = random.Random(13)
    source = [_sentence(rng) for _ in range(40)]
    source[30] = list(source[3])
    edited = [[*s[:9], VOCABULARY[k], *s[10:]] for k, s in enumerate(source[30:35])]
    article = _text(edited)
    off = Detector(replace(detector.config, summary_ratio=0.0))
    expected = off.compare(off.prepare(article), off.prepare(_text(source)))
    assert expected, "the copy is found"
    assert any(m.kind is not Kind.VERBATIM for m in expected)
    assert detector.compare(detector.prepare(article), detector.prepare(_text(source))) == expected
