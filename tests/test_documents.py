"""Document-level scores (``wiretrace_bench.documents``), the word 5-gram baseline
(``wiretrace_bench.ngrams``) and the calibration labels (``wiretrace_bench.labels``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiretrace_bench.documents import (
    derived_share,
    detect_spans,
    document_report,
    kind_recall,
    roc_auc,
)
from wiretrace_bench.ngrams import containment, shared_spans
from wiretrace_bench.pan import load_corpus
from wiretrace_bench.plagdet import Annotation
from wiretrace_bench.synthetic import Case, SyntheticArticle, write_corpus


def _brute_auc(positives: list[float], negatives: list[float]) -> float:
    """Every (positive, negative) pair: 1 when the positive is higher, 1/2 on a tie."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


# Few distinct values, so that ties are common.
_scores = st.lists(
    st.sampled_from([0.0, 0.01, 0.2, 0.5, 0.5001, 1.0]) | st.floats(0, 1), min_size=1
)


@given(_scores, _scores)
def test_auc_equals_the_pairwise_count_with_ties_half(
    positives: list[float], negatives: list[float]
) -> None:
    assert roc_auc(positives, negatives) == pytest.approx(_brute_auc(positives, negatives))


def test_auc_on_known_orders_and_its_refusals() -> None:
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert roc_auc([0.1], [0.9]) == 0.0
    assert roc_auc([0.5, 0.5], [0.5]) == 0.5
    assert roc_auc([0.3, 0.7], [0.5]) == 0.5
    with pytest.raises(ValueError, match="0 negatives"):
        roc_auc([0.1], [])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([math.nan], [0.1])


def test_derived_share_is_the_union_of_spans_over_the_length() -> None:
    assert derived_share(100, [(0, 10), (5, 20), (50, 60)]) == 0.3
    assert derived_share(10, [(5, 40)]) == 0.5  # clipped to the text
    assert derived_share(0, [(0, 1)]) == 0.0
    assert derived_share(10, []) == 0.0


def test_five_gram_baseline_on_a_tiny_case() -> None:
    a = "The cat sat on the mat today. Then it left quietly."
    b = "Yesterday the cat sat on the mat, and then it slept."
    # a's 5-grams: 11 words -> 7; shared: "the cat sat on the", "cat sat on the mat".
    assert containment(a, b) == pytest.approx(2 / 7)
    assert shared_spans(a, b) == [(0, len("The cat sat on the mat"))]
    assert containment(b + " Again.", a) == pytest.approx(2 / 8)
    assert containment("too short", b) == 0.0
    assert shared_spans(a, "nothing in common here at all") == []
    # Case and punctuation do not matter; a 4-word overlap is not enough.
    assert containment("ONE, two; three four five", "one two three four five six") == 1.0
    assert containment("one two three four", "one two three four") == 0.0
    with pytest.raises(ValueError, match="n must be at least 1"):
        containment(a, b, n=0)


def _article(k: int, text: str, event: str = "") -> SyntheticArticle:
    return SyntheticArticle(f"t{k}", f"outlet{k}", text, event)


def _tiny_corpus(root: Path) -> None:
    """Three articles on one event: t1 quotes t0 ("…" inside marks), t2 shares only
    names with both. Texts are 100 characters so that shares read as percentages."""
    quote = "alpha beta gamma delta epsilon"
    t0 = f"Kovak said «{quote}» today.".ljust(100, ".")
    t1 = f"Later Kovak told us: “{quote}”.".ljust(100, ".")
    t2 = "Kovak and Pelar met in Zorin on May 4.".ljust(100, ".")
    a0, a1 = t0.index(quote), t1.index(quote)
    cases = [Case("t1", a1, a1 + len(quote), "t0", a0, a0 + len(quote), "short_quote")]
    articles = [_article(0, t0, "e"), _article(1, t1, "e"), _article(2, t2, "e")]
    write_corpus(root, articles, cases)


def test_document_report_on_a_tiny_corpus(tmp_path: Path) -> None:
    _tiny_corpus(tmp_path)
    corpus = load_corpus(tmp_path)
    assert corpus.categories["same_event"] == {("t2.txt", "t0.txt"), ("t2.txt", "t1.txt")}
    case = corpus.cases[0]
    good = Annotation(case.pair, case.susp, case.src, "verbatim")
    # A detector that also flags 20 characters of an independent article.
    noise = Annotation(("t2.txt", "t0.txt"), (0, 20), (0, 20), "reworded")
    report = document_report(corpus, [good, noise])
    assert report is not None
    assert report.derived_pairs == 1
    assert report.same_event_pairs == 2
    assert report.auc == 1.0  # 0.30 derived against 0.20 and 0.0
    assert report.same_event_flagged == pytest.approx(20 / 200)
    assert report.same_event_pairs_flagged == 0.5
    assert report.auc_baseline == 1.0  # the quote's one 5-gram; names alone share none
    assert report.same_event_flagged_baseline == 0.0
    assert report.recall["short_quote"] == {
        "recall": 1.0,
        "recall_not_reworded": 1.0,
        "cases": 1,
    }
    # A looser match covering the quote still counts for recall, not on its own.
    loose = Annotation(case.pair, (0, 60), (0, 60), "reworded")
    recall = kind_recall(corpus, [loose])["short_quote"]
    assert recall["recall"] == 1.0
    assert recall["recall_not_reworded"] == 0.0
    worse = document_report(corpus, [Annotation(("t2.txt", "t1.txt"), (0, 50), (0, 50))])
    assert worse is not None
    assert worse.auc == 0.25  # 0 derived: below 0.5, tied with 0.0


def test_a_corpus_without_same_event_pairs_has_no_document_report(tmp_path: Path) -> None:
    write_corpus(tmp_path, [_article(0, "one two"), _article(1, "one two")], [])
    assert document_report(load_corpus(tmp_path), []) is None


def test_detect_spans_runs_any_detector_on_the_pairs_texts(tmp_path: Path) -> None:
    _tiny_corpus(tmp_path)
    corpus = load_corpus(tmp_path)
    found = detect_spans(corpus, sorted(corpus.pairs), shared_spans)
    t1 = (tmp_path / "susp" / "t1.txt").read_text()
    (start, end) = found[("t1.txt", "t0.txt")][0]
    assert t1[start:end] == "alpha beta gamma delta epsilon"
    assert found[("t2.txt", "t0.txt")] == []


def test_quoted_regions_in_every_style() -> None:
    from wiretrace_bench.events import QUOTE_MARKS
    from wiretrace_bench.labels import quoted_regions

    for o, c in QUOTE_MARKS:
        text = f"He said {o}we stay here{c} and {o}no more{c}, then {o}left"
        inner = [text[s:e] for s, e in quoted_regions(text)]
        assert inner == ["we stay here", "no more"], (o, c)
    # „…“ closes with the mark that opens “…”.
    assert quoted_regions("„ab“ “cd”") == [(1, 3), (6, 8)]


def test_labels_mark_matches_that_overlap_a_true_case_on_both_sides(tmp_path: Path) -> None:
    import json

    from wiretrace.engine.detect import Kind, Match
    from wiretrace_bench.labels import write_labels

    _tiny_corpus(tmp_path)
    corpus = load_corpus(tmp_path)
    case = corpus.cases[0]
    (a0, a1), (b0, b1) = case.susp, case.src
    matches = {
        ("t1.txt", "t0.txt"): [
            Match(a0 + 6, a1, b0 + 6, b1, 1.0, Kind.VERBATIM),  # inside the case
            Match(0, a0, b0 + 2, b1, 0.4, Kind.REWORDED),  # article side outside it
            Match(a1 + 3, a1 + 30, b0, b1, 0.3, Kind.REWORDED),  # as above, after it
        ],
        ("t2.txt", "t0.txt"): [Match(0, 20, 0, 20, 0.3, Kind.REWORDED)],  # same event
    }
    summary = write_labels(tmp_path / "out" / "labels.jsonl", corpus, matches)
    lines = (tmp_path / "out" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    # In the corpus's pair order: its same-event pair is listed first.
    same, *rows = [json.loads(line) for line in lines]
    assert (same["category"], same["label"], same["a_share"]) == ("same_event", 0, 0.2)
    assert [r["label"] for r in rows] == [1, 0, 0]
    assert [r["case_kind"] for r in rows] == ["short_quote", "", ""]
    assert [r["category"] for r in rows] == ["short_quote"] * 3
    first = rows[0]
    assert first["a_tokens"] == first["b_tokens"] == 4  # "beta gamma delta epsilon"
    assert first["shared_5gram_share"] == 0.0  # four words: no 5-gram
    assert first["longest_run"] == 4
    assert first["in_quotes"] is True
    assert first["a_quoted_share"] == first["b_quoted_share"] == 1.0
    assert rows[1]["in_quotes"] is False
    assert summary["rows"] == 4
    assert summary["positives"] == 1
    assert summary["by_kind"] == {
        "verbatim": {"rows": 1, "positives": 1},
        "reworded": {"rows": 3, "positives": 0},
    }
