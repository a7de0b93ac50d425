"""Issue 11 on hand-made news: independent coverage of one event is no reuse, a
reprinted brief is wholly derived, a shared quote partly; confidence is calibrated
by a logistic fit that recovers known weights."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from wiretrace import Detector, EngineConfig
from wiretrace.engine.confidence import Verdict, confidence, derived_share, fit, verdict
from wiretrace_client import article, pb

from .conftest import VOCABULARY
from .helpers import Running

# Two reporters at the same hearing: the same names, ages, places, numbers and dates,
# every sentence their own.
COURT_A = (
    "Daniel Okafor, 34, of Marsh Lane, Leeds, appeared at Leeds Crown Court on 12 March "
    "charged with the theft of £48,000 from the Riverside Community Trust.\n\n"
    "Prosecutor Helen Marsh told the jury that Okafor had moved the money into three "
    "personal accounts over eighteen months while serving as the charity's treasurer.\n\n"
    "The defendant denies the charge. His barrister said the transfers had been "
    "approved by the trust's board and were repayments of expenses.\n\n"
    "Judge Peter Alden adjourned the trial until 19 March, when two trustees are due to "
    "give evidence."
)
COURT_B = (
    "A former treasurer of the Riverside Community Trust has gone on trial in Leeds "
    "accused of stealing £48,000 from the charity.\n\n"
    "Daniel Okafor, 34, from Marsh Lane, sat silently in the dock at Leeds Crown Court "
    "as the case opened on 12 March.\n\n"
    "Helen Marsh, prosecuting, said the payments went to accounts in his own name and "
    "that nobody at the trust had noticed for a year and a half.\n\n"
    "Okafor pleads not guilty. Judge Peter Alden said the hearing would resume on "
    "19 March with evidence from trustees."
)

BRIEF = (
    "Firefighters rescued two hikers stranded on the north face of Ben Lomond on "
    "Saturday evening after a sudden snowstorm. Both were taken to hospital in Stirling "
    "with mild hypothermia, police said."
)


def test_same_event_without_reuse_gives_no_match(detector: Detector) -> None:
    a, b = detector.prepare(COURT_B), detector.prepare(COURT_A)
    assert detector.compare(a, b) == []


def test_verdicts_through_the_service(running: Running) -> None:
    c = running.client
    c.ingest(article("court-a", COURT_A, outlet="Courier"))
    c.ingest(article("wire-brief", BRIEF, outlet="Wire"))
    independent = c.ingest(article("court-b", COURT_B, outlet="Gazette"))
    assert not independent.matches
    assert not [v for v in independent.sources if v.verdict != pb.NOT_DERIVED]

    reprint = c.ingest(article("reprint", f"Mountain rescue\n{BRIEF}", outlet="Daily"))
    (source,) = reprint.sources
    assert source.source_id == "wire-brief"
    assert source.verdict == pb.WHOLLY
    assert all(0.5 < m.confidence <= 1.0 for m in reprint.matches)

    quoting = (
        "Rescue teams have answered more calls than ever this winter. The station "
        "chief said that his crews had “never seen so many walkers caught out by the "
        "weather”, and urged hikers to check forecasts before setting out."
    )
    source_text = (
        "Mountain rescue volunteers met ministers on Tuesday to ask for new funding. "
        "“We have never seen so many walkers caught out by the weather,” said the "
        "head of the volunteers' association, who wants a national warning service."
    )
    c.ingest(article("association", source_text, outlet="Wire"))
    result = c.query(quoting, outlet="Weekly")
    verdicts = {v.source_id: v for v in result.sources}
    assert verdicts["association"].verdict == pb.PARTIALLY
    assert 0.0 < verdicts["association"].derived_share < 0.6


def test_fit_recovers_the_weights_that_generated_the_labels() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 3))
    truth = np.array([-0.5, 2.0, -1.0, 0.5])
    p = 1.0 / (1.0 + np.exp(-(truth[0] + x @ truth[1:])))
    y = (rng.random(4000) < p).astype(np.float64)
    w = fit(x, y, ridge=0.0)
    assert np.allclose(w, truth, atol=0.15)
    assert abs(confidence(x[0], tuple(w.tolist())) - p[0]) < 0.05


def test_verdict_thresholds_and_weighted_share() -> None:
    detector = Detector()
    a, b = detector.prepare(f"Mountain rescue\n{BRIEF}"), detector.prepare(BRIEF)
    matches = detector.compare(a, b)
    share = derived_share(len(a.text), matches)
    expected = sum((m.a_end - m.a_start) * m.confidence for m in matches) / len(a.text)
    assert share == expected
    assert verdict(share) is Verdict.WHOLLY
    assert verdict(0.0) is Verdict.NOT_DERIVED


SIGN_OFF = (
    "Subscribe to our morning newsletter for the day's top stories, delivered to your "
    "inbox before seven. Reporting by the regional desk; editing by the night team."
)


def _story(rng: random.Random, words: list[str]) -> str:
    return " ".join(
        " ".join(rng.choice(words) for _ in range(14)).capitalize() + "." for _ in range(6)
    )


def test_boilerplate_is_suppressed_unless_asked(tmp_path: Path, store_url: str) -> None:
    # A cap of 5 articles: the sign-off, in 8 stored articles, is boilerplate.
    r = Running(tmp_path / "data", store=store_url, engine=EngineConfig(boilerplate_articles=5))
    try:
        rng = random.Random(11)
        words = VOCABULARY[:3000]
        stories = [_story(rng, words) for _ in range(8)]
        for k, story in enumerate(stories):
            r.client.ingest(article(f"s{k}", f"{story}\n\n{SIGN_OFF}", outlet="Daily"))
        # Story 0 reprinted, a paragraph of its own, then the sign-off: a match on the
        # sign-off stands apart from the story's (a copy that runs on through the
        # sign-off is a copy of both, and stays whole).
        text = f"{stories[0]}\n\n{_story(rng, words)}\n\n{SIGN_OFF}"
        default = r.client.query(text, outlet="Weekly")
        sign_off = text.index(SIGN_OFF)
        assert default.matches
        assert all(m.span.end <= sign_off + 1 for m in default.matches), default.matches
        assert default.boilerplate_suppressed >= 1
        everything = r.client.query(
            text, outlet="Weekly", options=pb.DetectOptions(include_boilerplate=True)
        )
        marked = [m for m in everything.matches if m.boilerplate]
        assert marked
        assert all(m.span.start >= sign_off - 2 for m in marked)
        assert everything.boilerplate_suppressed == 0
    finally:
        r.stop()


@given(
    st.lists(
        st.sampled_from(["Okafor", "said", "34", "on", "12th", "Leeds", "the", "Émile", "été"]),
        max_size=30,
    ),
    st.sampled_from([". ", "! ", ", "]),
)
def test_named_tokens_are_capitalised_inside_a_sentence_or_hold_a_digit(
    words: list[str], joint: str
) -> None:
    """``Document.named`` (from the core) against its definition, computed here."""
    half = len(words) // 2
    text = " ".join(words[:half]) + joint + " ".join(words[half:]) + ". Done."
    doc = Detector().prepare(text)
    t = doc.tokens
    first = {0, *t.sentence_ends}
    expected = [
        (text[s].isupper() and k not in first) or any(c.isdecimal() for c in text[s:e])
        for k, (s, e) in enumerate(zip(t.starts.tolist(), t.ends.tolist(), strict=True))
    ]
    assert doc.named.tolist() == expected
