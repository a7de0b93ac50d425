"""The engine on the seed articles, on our own sample articles, and its invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiretrace import Detector, EngineConfig, Kind, Match

from .conftest import VOCABULARY

MAX_SENTENCE_SPAN = 420  # characters: a sentence or two, never a paragraph run


def _find(matches: list[Match], a: str, b: str, a_phrase: str, b_phrase: str) -> Match:
    """The match whose A span holds ``a_phrase`` and whose B span holds ``b_phrase``."""
    for m in matches:
        if a_phrase in a[m.a_start : m.a_end] and b_phrase in b[m.b_start : m.b_end]:
            return m
    shown = [(a[m.a_start : m.a_end][:80], b[m.b_start : m.b_end][:80]) for m in matches]
    raise AssertionError(f"no match holds {a_phrase!r} ~ {b_phrase!r}; got {shown}")


def _tight(m: Match) -> None:
    assert m.a_end - m.a_start <= MAX_SENTENCE_SPAN
    assert m.b_end - m.b_start <= MAX_SENTENCE_SPAN


def test_seed_000_003_retaliatory_quote_and_nikiforov(
    detector: Detector, seeds: dict[str, str]
) -> None:
    a, b = seeds["000"], seeds["003"]
    matches = detector.compare(a, b)
    quote = "reserves the right to take retaliatory measures where and when it sees fit"
    m = _find(matches, a, b, quote, quote)
    assert m.kind is Kind.VERBATIM
    _tight(m)
    m = _find(matches, a, b, "liberate its own territories", "liberate its own territories")
    assert "so-called" in a[m.a_start : m.a_end]
    assert "so-called" in b[m.b_start : m.b_end]
    assert m.kind is Kind.REWORDED
    _tight(m)


def test_seed_004_repeats_the_sheremet_paragraph(detector: Detector, seeds: dict[str, str]) -> None:
    text = seeds["004"]
    matches = detector.repeats(text)
    m = _find(matches, text, text, "Sheremet", "missile attack on Zelenskyy")
    assert m.a_end <= m.b_start, "the earlier occurrence comes first and they do not overlap"
    assert "revenge" in text[m.b_start : m.b_end]
    _tight(m)


def test_seed_kremlin_statement_in_all_three_pairs(
    detector: Detector, seeds: dict[str, str]
) -> None:
    for x, y in [("000", "003"), ("000", "004"), ("003", "004")]:
        a, b = seeds[x], seeds[y]
        m = _find(detector.compare(a, b), a, b, "planned terrorist", "planned terrorist")
        assert "Victory Day" in a[m.a_start : m.a_end], (x, y)
        assert "Victory Day" in b[m.b_start : m.b_end], (x, y)
        _tight(m)


def test_sample_articles_wire_copy_quote_and_repeat(detector: Detector) -> None:
    from importlib import resources

    root = resources.files("wiretrace_client") / "samples"
    wire, daily, weekly = (
        (root / name).read_text(encoding="utf-8")
        for name in ("01-wire.txt", "02-daily.txt", "03-weekly.txt")
    )
    m = _find(detector.compare(wire, daily), wire, daily, "Flood barriers", "Flood barriers")
    assert m.kind is Kind.NEAR_VERBATIM
    m = _find(detector.compare(wire, weekly), wire, weekly, "street by street", "street at a time")
    assert m.kind is Kind.REWORDED
    m = _find(detector.repeats(weekly), weekly, weekly, "postponed the repair", "put off repairing")
    assert m.a_end <= m.b_start


# One death, three reports. The second shares with the first only the victim's name,
# age, street, town, hospital and date, in the same order, with other words between:
# a short stretch whose similarity those names alone carry. The third rewords the
# first's two sentences.
VICTIM = (
    "Police named the victim as Oskar Lind, 71, of Birch Avenue, Marlow, who died at "
    "Wexham Park Hospital on 2 February after the crash.\n\n"
    "His family described him as a kind man who loved his garden."
)
VICTIM_OTHER_REPORT = (
    "Officers said Oskar Lind, 71, from Birch Avenue, Marlow, was taken to Wexham Park "
    "Hospital on 2 February and died there two days after his car left the road.\n\n"
    "An inquest will open next month."
)
VICTIM_REWORDED = (
    "An inquest will open next month into the death of a pensioner.\n\n"
    "Police have identified the dead man as Oskar Lind, 71, of Birch Avenue, Marlow, who "
    "passed away at Wexham Park Hospital on 2 February following the crash.\n\n"
    "Relatives said he was a kind man who loved gardening."
)


def test_short_match_needs_its_unnamed_words_in_order(detector: Detector) -> None:
    """A short reworded match must reach ``min_evidence_dice`` in order once the
    tokens that name are left out: names, age, places and a date shared in one order
    are no reuse, while a reworded sentence around the same names still is."""
    victim = detector.prepare(VICTIM)
    assert detector.compare(victim, detector.prepare(VICTIM_OTHER_REPORT)) == []
    m = _find(
        detector.compare(victim, detector.prepare(VICTIM_REWORDED)),
        VICTIM,
        VICTIM_REWORDED,
        "who died at Wexham Park Hospital",
        "who passed away at Wexham Park Hospital",
    )
    assert m.kind is Kind.REWORDED
    assert "loved his garden" in VICTIM[m.a_start : m.a_end]
    assert "loved gardening" in VICTIM_REWORDED[m.b_start : m.b_end]


def test_common_short_phrases_never_match(detector: Detector) -> None:
    a = "The Kremlin said on Monday. Crowds gathered near the river bank to watch boats."
    b = "The Kremlin said on Monday. Farmers reported a poor harvest after the long drought."
    assert detector.compare(a, b) == []


def test_min_match_tokens_is_configurable() -> None:
    quote = "reserves the right to take retaliatory measures where and when it sees fit"
    a = f"Officials in the capital said the country {quote}, adding little else."
    b = f"A spokesperson insisted that Moscow {quote}. Markets barely moved."
    assert Detector(EngineConfig(min_match_tokens=8)).compare(a, b)
    longer = EngineConfig(min_match_tokens=20, min_reworded_tokens=20, short_text_share=0.0)
    assert Detector(longer).compare(a, b) == []
    # Between texts this short, by default the minimum scales down to half the shorter
    # one: the quote is most of both, as a reprinted brief is.
    scaled = EngineConfig(min_match_tokens=20, min_reworded_tokens=20)
    assert Detector(scaled).compare(a, b)


def test_a_region_is_never_matched_with_itself(detector: Detector) -> None:
    para = "Officials confirmed that the northern bridge will stay closed for repairs until spring."
    text = f"{para}\nTraffic was diverted through the old town overnight.\n{para}"
    for m in detector.repeats(text):
        assert m.a_end <= m.b_start or m.b_end <= m.a_start


# Property tests ---------------------------------------------------------------------


def _paragraph_from(vocabulary: list[str]) -> st.SearchStrategy[str]:
    """Two to four sentences of 10-18 distinct words of ``vocabulary``."""

    def build(words: list[str]) -> str:
        cut = [words[k : k + 14] for k in range(0, len(words), 14)]
        return " ".join(" ".join(c).capitalize() + "." for c in cut if len(c) >= 10)

    return st.lists(st.sampled_from(vocabulary), min_size=24, max_size=56, unique=True).map(build)


_third = len(VOCABULARY) // 3
_paragraph = _paragraph_from(VOCABULARY[:_third])
_other_paragraph = _paragraph_from(VOCABULARY[_third : 2 * _third])
_unrelated_paragraph = _paragraph_from(VOCABULARY[2 * _third :])


def _check_spans(m: Match, a: str, b: str) -> None:
    assert 0 <= m.a_start < m.a_end <= len(a)
    assert 0 <= m.b_start < m.b_end <= len(b)
    assert 0.0 <= m.similarity <= 1.0
    assert a[m.a_start : m.a_end].strip() == a[m.a_start : m.a_end]
    assert b[m.b_start : m.b_end].strip() == b[m.b_start : m.b_end]


_settings = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(before=_paragraph, after=_other_paragraph, inserted=_unrelated_paragraph)
def test_copy_with_inserted_paragraph_finds_both_sides(
    before: str, after: str, inserted: str
) -> None:
    detector = Detector()
    a = f"{before}\n{after}"
    b = f"{before}\n{inserted}\n{after}"
    matches = detector.compare(a, b)
    for m in matches:
        _check_spans(m, a, b)
        assert a[m.a_start : m.a_end] == b[m.b_start : m.b_end] or m.kind is not Kind.VERBATIM
    offset = len(before) + 1 + len(inserted) + 1
    covered_a = [m for m in matches if m.a_start < len(before) and m.b_start < len(before)]
    covered_b = [m for m in matches if m.a_end > len(before) + 1 and m.b_end > offset]
    assert covered_a, "the part before the insertion is found"
    assert covered_b, "the part after the insertion is found"
    for m in matches:  # the inserted paragraph is never claimed as reused
        assert not (m.b_start >= len(before) + 1 and m.b_end <= offset - 1)


@_settings
@given(a=_paragraph, b=_other_paragraph)
def test_unrelated_texts_give_no_match(a: str, b: str) -> None:
    assert Detector().compare(a, b) == []


@_settings
@given(text=st.text(max_size=400), other=st.text(max_size=400))
def test_any_text_gives_in_bound_spans(text: str, other: str) -> None:
    for m in Detector().compare(text, text + other):
        _check_spans(m, text, text + other)
