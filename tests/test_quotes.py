"""Issue 11: exact runs are never swallowed, shared short quotes in every script's
marks are found, and matches from one source never overlap on the article's side."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import wiretrace._core as _core
from wiretrace import Detector, EngineConfig, Kind, Match
from wiretrace.engine.exact import Windows
from wiretrace.engine.quotes import quoted_spans
from wiretrace.engine.spans import overlaps

# One short quote of the same speaker, reported by two outlets in their own words.
QUOTE = "we will rebuild every school before the winter"

# (opening, closing) marks and a line around the quote in that style's language.
STYLES = [
    ('"', '"', "The minister said: {o}{q}{c} Officials gave no date."),
    ("“", "”", "The minister said: {o}{q}{c} Officials gave no date."),
    ("”", "”", "Ministern sade: {o}{q}{c} Inget datum gavs."),
    ("«", "»", "Le ministre a déclaré : {o} {q} {c}, sans donner de date."),
    ("»", "«", "Der Minister sagte: {o}{q}{c} Ein Datum nannte er nicht."),
    ("„", "“", "Der Minister sagte: {o}{q}{c} Ein Datum nannte er nicht."),
    ("„", "”", "Minister powiedział: {o}{q}{c} Nie podał daty."),
    ("‚", "‘", "Der Minister sagte knapp: {o}{q}{c} Mehr nicht."),
    ("‹", "›", "Le ministre a répété : {o}{q}{c} Rien de plus."),
    ("「", "」", "大臣は{o}{q}{c}と述べた。"),
    ("『", "』", "大臣は{o}{q}{c}と語った。"),
    ("'", "'", "The minister said: {o}{q}{c} Officials gave no date."),
    ("‘", "’", "The minister said: {o}{q}{c} Officials gave no date."),
]


@pytest.mark.parametrize(("o", "c", "line"), STYLES)
def test_quoted_spans_find_the_words_inside_each_scripts_marks(o: str, c: str, line: str) -> None:
    text = line.format(o=o, c=c, q=QUOTE)
    assert [text[s:e] for s, e in quoted_spans(text)] == [QUOTE]


def test_apostrophes_do_not_open_or_close_quotes() -> None:
    text = "It's the council's view that the '90s rules don't apply, officials said."
    assert quoted_spans(text) == []
    nested = "He said: “They told us ‘leave now’ and we left,” in the morning."
    assert [nested[s:e] for s, e in quoted_spans(nested)] == [
        "They told us ‘leave now’ and we left,"
    ]


def _article(lead: str, quote_line: str, tail: str) -> str:
    return f"{lead}\n\n{quote_line}\n\n{tail}"


LEAD_A = (
    "Flood waters receded across the northern valley on Monday, leaving roads cut and "
    "dozens of villages without power. Rescue crews worked through the night."
)
TAIL_A = "Insurers expect claims to rise sharply once the damage has been assessed."
LEAD_B = (
    "Residents returned to mud-filled homes in the valley as the river fell back to its "
    "banks. Volunteers handed out water and blankets at the town hall."
)
TAIL_B = "The regional weather office warned that more rain could arrive by Friday."


@pytest.mark.parametrize(("o", "c", "line"), STYLES)
def test_a_short_quote_shared_in_each_scripts_marks_is_reported(
    detector: Detector, o: str, c: str, line: str
) -> None:
    # The article quotes in this style; the source in plain English quotes.
    a = _article(LEAD_A, line.format(o=o, c=c, q=QUOTE), TAIL_A)
    b = _article(LEAD_B, f"“{QUOTE},” the minister told reporters.", TAIL_B)
    matches = detector.compare(detector.prepare(a), detector.prepare(b))
    quotes = [m for m in matches if m.kind is Kind.QUOTE]
    assert len(quotes) == 1, matches
    (m,) = quotes
    assert a[m.a_start : m.a_end] == QUOTE
    assert b[m.b_start : m.b_end] == QUOTE
    assert m.similarity == 1.0


def test_unquoted_shared_words_of_the_same_length_are_no_quote(detector: Detector) -> None:
    # The same five words outside any quotation marks: a phrase, not a quote.
    phrase = "rebuild every school before winter"
    a = _article(LEAD_A, f"The plan is to {phrase} ends, the minister said.", TAIL_A)
    b = _article(LEAD_B, f"Officials hope to {phrase} arrives, the ministry said.", TAIL_B)
    assert detector.compare(detector.prepare(a), detector.prepare(b)) == []


def test_a_quote_of_function_words_is_no_evidence(detector: Detector) -> None:
    a = _article(LEAD_A, "“It is what it is and we are where we are,” he said.", TAIL_A)
    b = _article(LEAD_B, "“It is what it is and we are where we are,” she said.", TAIL_B)
    assert not [
        m
        for m in detector.compare(detector.prepare(a), detector.prepare(b))
        if m.kind is Kind.QUOTE
    ]


# A wire paragraph, and a newspaper's rewrite of it that keeps the quote verbatim.
WIRE = (
    "The regional council voted on Tuesday to close the old harbour bridge to heavy "
    "traffic after engineers found deep cracks in two of its supporting piers. "
    "“{q},” the council leader said after the vote. Repairs are expected to take at "
    "least eighteen months and will cost the region an estimated forty million euros, "
    "according to the council's own figures."
)
REWRITE = (
    "On Tuesday the regional council decided to shut the ageing harbour bridge to heavy "
    "vehicles, after engineers discovered deep cracks in two supporting piers. "
    "“{q},” the leader of the council told reporters. The repair work should last at "
    "least eighteen months and cost about forty million euros, the council's figures "
    "show, leaving the region short of money."
)
LONG_QUOTE = (
    "We cannot take the risk that a loaded lorry brings the whole span down into the "
    "river during the morning rush"
)


def _no_overlap_on_the_article_side(matches: list[Match]) -> None:
    for k, m in enumerate(matches):
        for n in matches[k + 1 :]:
            assert not overlaps(m.a_start, m.a_end, n.a_start, n.a_end), (m, n)


def test_a_verbatim_quote_inside_a_reworded_paragraph_is_reported_on_its_own(
    detector: Detector,
) -> None:
    a, b = REWRITE.format(q=LONG_QUOTE), WIRE.format(q=LONG_QUOTE)
    matches = detector.compare(detector.prepare(a), detector.prepare(b))
    verbatim = [m for m in matches if m.kind is Kind.VERBATIM]
    assert len(verbatim) == 1, matches
    (m,) = verbatim
    assert a[m.a_start : m.a_end].startswith(LONG_QUOTE)
    assert a[m.a_start : m.a_end].rstrip(",”") == LONG_QUOTE
    assert b[m.b_start : m.b_end].rstrip(",”") == LONG_QUOTE
    # The rewording around it is still reported, beside the quote, not over it.
    reworded = [x for x in matches if x.kind is Kind.REWORDED]
    assert reworded
    assert any("harbour bridge" in a[x.a_start : x.a_end] for x in reworded)
    _no_overlap_on_the_article_side(matches)


def test_a_whole_sentence_without_marks_inside_a_reworded_paragraph_is_reported() -> None:
    # Unquoted sentences are cut out from min_split_run_tokens (100 by default, chosen
    # on PAN-13: shorter ones are mostly the untouched words of lightly edited text).
    detector = Detector(EngineConfig(min_split_run_tokens=8))
    plain = "Engineers said the cracks had widened by several centimetres since the spring"
    a = REWRITE.replace("“{q},” the leader of the council told reporters.", plain + ".")
    b = WIRE.replace("“{q},” the council leader said after the vote.", plain + ".")
    matches = detector.compare(detector.prepare(a), detector.prepare(b))
    # The run is maximal: it starts with the shared words before the sentence.
    assert any(
        m.kind is Kind.VERBATIM
        and plain in a[m.a_start : m.a_end]
        and a[m.a_start : m.a_end] == b[m.b_start : m.b_end]
        for m in matches
    ), matches
    _no_overlap_on_the_article_side(matches)


def test_seed_000_004_share_a_large_scale_terrorist_attack(
    detector: Detector, seeds: dict[str, str]
) -> None:
    a, b = seeds["004"], seeds["000"]
    quote = "a large-scale terrorist attack"
    matches = detector.compare(detector.prepare(a), detector.prepare(b))
    found = [m for m in matches if m.kind is Kind.QUOTE and a[m.a_start : m.a_end] == quote]
    assert len(found) == 1, matches
    (m,) = found
    assert m.a_start == a.index(quote)
    assert m.b_start == b.index(quote)
    assert b[m.b_start : m.b_end] == quote
    _no_overlap_on_the_article_side(matches)


Run = tuple[int, int, int]  # (a0, b0, length): a[a0 : a0 + length] == b[b0 : b0 + length]


def shared_runs(
    a: np.ndarray, b: np.ndarray, *, k: int, max_pairs: int
) -> tuple[list[Run], int, bool]:
    """The compiled exact-run join over the two texts' windows, as the detector uses it."""

    def parts(words: np.ndarray) -> tuple[bytes, bytes, bytes]:
        w = Windows.of(np.asarray(words, dtype=np.int64), k)
        return w.hashes.tobytes(), w.rare.tobytes(), w.order.astype("<i8").tobytes()

    return _core.shared_runs(k, parts(a), parts(b), max_pairs=max_pairs)


def _slow_runs(a: list[int], b: list[int], k: int) -> set[Run]:
    """Every maximal common run of at least ``k`` words, by brute force."""
    out = set()
    for i in range(len(a)):
        for j in range(len(b)):
            if i and j and a[i - 1] == b[j - 1]:
                continue  # not maximal on the left
            n = 0
            while i + n < len(a) and j + n < len(b) and a[i + n] == b[j + n]:
                n += 1
            if n >= k:
                out.add((i, j, n))
    return out


@given(
    st.lists(st.integers(0, 5), max_size=40),
    st.lists(st.integers(0, 5), max_size=40),
    st.integers(2, 5),
)
def test_shared_runs_agree_with_brute_force(a: list[int], b: list[int], k: int) -> None:
    runs, _, complete = shared_runs(
        np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), k=k, max_pairs=10**6
    )
    if complete:
        # Windows with many copies are skipped: only check the texts where none has.
        windows = [tuple(x[i : i + k]) for x in (a, b) for i in range(len(x) - k + 1)]
        if all(windows.count(w) <= 8 for w in set(windows)):
            assert set(runs) == _slow_runs(a, b, k)
    for a0, b0, length in runs:
        assert a[a0 : a0 + length] == b[b0 : b0 + length]
        assert length >= k


def test_shared_runs_stop_at_their_bound() -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 1000, size=5000)
    runs, proposed, complete = shared_runs(a, a.copy(), k=5, max_pairs=100)
    assert not complete
    assert proposed <= 100
    assert all(length >= 5 for _, _, length in runs)


# Shorter than min_exact_run_tokens too, so that only the scaled minimum finds it.
BRIEF = "Rockfall closes the coastal road at Dunmore."


def test_a_reprinted_brief_shorter_than_the_minimum_is_matched(detector: Detector) -> None:
    assert len(BRIEF.split()) < detector.config.min_exact_run_tokens
    reprint = f"Traffic news.\n{BRIEF}"
    matches = detector.compare(detector.prepare(reprint), detector.prepare(BRIEF))
    assert len(matches) == 1, matches
    (m,) = matches
    assert m.kind is Kind.VERBATIM
    assert reprint[m.a_start : m.a_end] == BRIEF
    assert (m.b_start, m.b_end) == (0, len(BRIEF))


def test_the_same_words_in_two_long_articles_need_the_full_minimum(detector: Detector) -> None:
    # The brief's words inside two long articles are no reprint of either: between
    # long texts the minimum is not scaled down. (They are no whole sentence of 8
    # words either: the phrase is cut short on both sides.)
    phrase = "closed the coastal road at Dunmore after"
    a = _article(LEAD_A, f"On Monday officers {phrase} the storm, residents said.", TAIL_A)
    b = _article(LEAD_B, f"Yesterday the council {phrase} midnight, a spokesman said.", TAIL_B)
    assert detector.compare(detector.prepare(a), detector.prepare(b)) == []
