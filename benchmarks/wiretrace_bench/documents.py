"""Document-level scores: "was this article derived from that source?"

For a pair (article, source) a detector's *derived share* is the share of the
article's characters inside the union of the spans it found from that source. Over a
corpus from ``bench generate --hard``:

- the ROC AUC of the derived share, derived pairs (those holding reuse cases, an
  article against itself excepted) against ``same_event`` pairs (independent coverage
  of one event), for wiretrace and for the word 5-gram containment baseline, overall
  and per category of the derived pairs;
- the share of the same-event articles' characters flagged (issue 11: at most 2 %);
- character-level recall, as plagdet's, of the short hard kinds (``short_quote``,
  ``verbatim_in_reworded``, ``brief``), and the same counting only matches that are not
  ``reworded`` (a quote reported on its own, not swallowed by a looser match).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

from wiretrace.engine.spans import union_length
from wiretrace_bench.ngrams import containment, shared_spans
from wiretrace_bench.pan import Corpus, Pair
from wiretrace_bench.plagdet import Annotation, Range, score

__all__ = [
    "HARD_KINDS",
    "SAME_EVENT",
    "DocumentReport",
    "SpanDetector",
    "derived_share",
    "detect_spans",
    "document_report",
    "kind_recall",
    "roc_auc",
]

#: A detector seen from the article: ``(article text, source text) -> spans`` in the
#: article, half-open code-point ranges.
SpanDetector = Callable[[str, str], list[Range]]

#: The corpus category of independent articles on one event: the negatives.
SAME_EVENT = "same_event"

#: Case kinds whose recall the issue sets a target for.
HARD_KINDS = ("short_quote", "verbatim_in_reworded", "brief")


def _covered(length: int, spans: Iterable[Range]) -> int:
    return union_length((max(0, s), min(length, e)) for s, e in spans)


def derived_share(length: int, spans: Iterable[Range]) -> float:
    """Share in [0, 1] of ``length`` characters covered by the union of ``spans``
    (clipped to ``[0, length)``); 0 for an empty text."""
    return _covered(length, spans) / length if length > 0 else 0.0


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a positive scores above a negative, ties counting half (the
    Mann-Whitney U over ``len(positives) * len(negatives)``), in [0, 1].

    Raises ``ValueError`` when either side is empty or a score is NaN (no order)."""
    if not positives or not negatives:
        raise ValueError(
            f"ROC AUC needs a positive and a negative score, got {len(positives)} "
            f"positives and {len(negatives)} negatives"
        )
    scored = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    if any(math.isnan(s) for s, _ in scored):
        raise ValueError("ROC AUC scores must be numbers, got NaN")
    wins = 0.0
    below = 0  # negatives scoring strictly lower than the current group
    k = 0
    while k < len(scored):
        group_end = k
        pos = neg = 0
        while group_end < len(scored) and scored[group_end][0] == scored[k][0]:
            pos += scored[group_end][1]
            neg += 1 - scored[group_end][1]
            group_end += 1
        wins += pos * (below + neg / 2)
        below += neg
        k = group_end
    return wins / (len(positives) * len(negatives))


def _texts(root: Path) -> Callable[[Pair], tuple[str, str]]:
    @cache
    def read(folder: str, name: str) -> str:
        return (root / folder / name).read_text(encoding="utf-8")

    return lambda pair: (read("susp", pair[0]), read("src", pair[1]))


def detect_spans(
    corpus: Corpus, pairs: Iterable[Pair], detector: SpanDetector
) -> dict[Pair, list[Range]]:
    """Run ``detector`` on the texts of every pair of ``corpus``."""
    texts = _texts(corpus.root)
    return {pair: detector(*texts(pair)) for pair in pairs}


def kind_recall(
    corpus: Corpus, detections: Sequence[Annotation], kinds: Iterable[str] = HARD_KINDS
) -> dict[str, dict[str, float | int]]:
    """Per case kind: plagdet's character-level recall of its cases, the same counting
    only detections whose kind is not ``reworded``, and the number of cases."""
    out: dict[str, dict[str, float | int]] = {}
    for kind in kinds:
        cases = [c for c in corpus.cases if c.kind == kind]
        if not cases:
            continue
        pairs = {c.pair for c in cases}
        found = [d for d in detections if d.pair in pairs]
        own = [d for d in found if d.kind != "reworded"]
        out[kind] = {
            "recall": round(score(cases, found).recall, 4),
            "recall_not_reworded": round(score(cases, own).recall, 4),
            "cases": len(cases),
        }
    return out


@dataclass(frozen=True, slots=True)
class DocumentReport:
    """Document-level figures of one detector run beside the 5-gram baseline."""

    derived_pairs: int
    same_event_pairs: int
    auc: float
    auc_baseline: float
    auc_by_category: dict[str, float]
    auc_baseline_by_category: dict[str, float]
    #: Characters of same-event articles inside a detection, over all their characters.
    same_event_flagged: float
    same_event_flagged_baseline: float
    #: Same-event pairs with any character flagged, over all same-event pairs.
    same_event_pairs_flagged: float
    recall: dict[str, dict[str, float | int]]

    def as_dict(self) -> dict[str, object]:
        return {
            "derived_pairs": self.derived_pairs,
            "same_event_pairs": self.same_event_pairs,
            "auc": round(self.auc, 4),
            "auc_baseline_5gram": round(self.auc_baseline, 4),
            "auc_by_category": {k: round(v, 4) for k, v in self.auc_by_category.items()},
            "auc_baseline_5gram_by_category": {
                k: round(v, 4) for k, v in self.auc_baseline_by_category.items()
            },
            "same_event_flagged_share": round(self.same_event_flagged, 4),
            "same_event_flagged_share_baseline_5gram": round(self.same_event_flagged_baseline, 4),
            "same_event_pairs_flagged": round(self.same_event_pairs_flagged, 4),
            "recall": self.recall,
        }


def _category_of(corpus: Corpus) -> dict[Pair, str]:
    return {pair: name for name, members in corpus.categories.items() for pair in members}


def document_report(corpus: Corpus, detections: Sequence[Annotation]) -> DocumentReport | None:
    """The document-level figures of ``detections`` on ``corpus`` (pairs are
    ``(susp name, src name)``), or None without same-event and derived pairs."""
    negatives = sorted(corpus.categories.get(SAME_EVENT, set()))
    if not negatives:
        return None
    held = {cast(Pair, c.pair) for c in corpus.cases}
    positives = sorted(p for p in held if p[0] != p[1])
    if not positives:
        return None
    category = _category_of(corpus)
    spans: dict[Pair, list[Range]] = {p: [] for p in [*positives, *negatives]}
    for d in detections:
        if d.pair in spans:
            spans[d.pair].append(d.susp)
    texts = _texts(corpus.root)
    share = {p: derived_share(len(texts(p)[0]), s) for p, s in spans.items()}
    baseline = {p: containment(*texts(p)) for p in spans}
    by_category: dict[str, list[Pair]] = {}
    for p in positives:
        by_category.setdefault(category.get(p, ""), []).append(p)

    def auc(scores: Mapping[Pair, float], members: Sequence[Pair]) -> float:
        return roc_auc([scores[p] for p in members], [scores[p] for p in negatives])

    lengths = {p: len(texts(p)[0]) for p in negatives}
    chars = sum(lengths.values())
    flagged = sum(_covered(lengths[p], spans[p]) for p in negatives)
    baseline_spans = detect_spans(corpus, negatives, shared_spans)
    flagged_baseline = sum(_covered(lengths[p], s) for p, s in baseline_spans.items())
    return DocumentReport(
        derived_pairs=len(positives),
        same_event_pairs=len(negatives),
        auc=auc(share, positives),
        auc_baseline=auc(baseline, positives),
        auc_by_category={k: auc(share, v) for k, v in sorted(by_category.items())},
        auc_baseline_by_category={k: auc(baseline, v) for k, v in sorted(by_category.items())},
        same_event_flagged=flagged / chars if chars else 0.0,
        same_event_flagged_baseline=flagged_baseline / chars if chars else 0.0,
        same_event_pairs_flagged=sum(share[p] > 0 for p in negatives) / len(negatives),
        recall=kind_recall(corpus, detections),
    )
