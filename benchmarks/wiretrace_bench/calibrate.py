"""Fit the engine's match confidence and choose the verdict thresholds (issue 11).

Input: a corpus with ground truth (``bench generate --hard``) and the labelled match
rows ``bench labels`` wrote for it. Every row's features are computed again by the
engine (``wiretrace.engine.confidence.features``), so the fit and the service use the
same numbers; the logistic regression is fitted with numpy (``confidence.fit``).

Thresholds, on the pairs of the same corpus, with each pair's derived share =
characters of the article inside the pair's matches, weighted by their confidence,
over the article's characters:

- ``partial_share``: the share that best separates derived pairs (holding cases)
  from same-event pairs (independent coverage), by Youden's J;
- ``whole_share``: among derived pairs, the share that best separates those whose
  cases cover at least half of the article from the others, by Youden's J.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np

from wiretrace.engine.confidence import (
    COEFFICIENTS,
    FEATURES,
    PARTIAL_SHARE,
    WHOLE_SHARE,
    confidence,
    features,
    fit,
)
from wiretrace.engine.detect import Detector, Document, Kind, Match
from wiretrace.engine.spans import union_length
from wiretrace_bench.documents import roc_auc
from wiretrace_bench.pan import Corpus, Pair

__all__ = ["calibrate", "youden_threshold"]


def youden_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The threshold ``t`` (scores ``>= t`` positive) that maximises TPR - FPR."""
    best, best_t = -1.0, 1.0
    for t in sorted(set(positives) | set(negatives)):
        if t <= 0.0:
            continue
        tpr = sum(p >= t for p in positives) / max(1, len(positives))
        fpr = sum(n >= t for n in negatives) / max(1, len(negatives))
        if tpr - fpr > best:
            best, best_t = tpr - fpr, t
    return best_t


def calibrate(corpus: Corpus, labels: Path, *, evaluate: bool = False) -> dict[str, object]:
    """Fit the coefficients on ``labels`` and choose the thresholds on ``corpus``; with
    ``evaluate``, score the engine's own coefficients and thresholds there instead
    (on a corpus of another seed than the fit's)."""
    detector = Detector()
    docs: dict[tuple[str, str], Document] = {}

    def doc(folder: str, name: str) -> Document:
        key = (folder, name)
        if key not in docs:
            text = (corpus.root / folder / name).read_text(encoding="utf-8")
            docs[key] = detector.prepare(text)
        return docs[key]

    rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line]
    if not rows:
        raise ValueError(f"{labels} holds no rows: run wiretrace bench labels first")
    x = np.stack(
        [
            features(
                doc("susp", r["article"]),
                doc("src", r["source"]),
                Match(
                    r["a_start"],
                    r["a_end"],
                    r["b_start"],
                    r["b_end"],
                    float(r["similarity"]),
                    Kind(r["kind"]),
                ),
            )
            for r in rows
        ]
    )
    y = np.asarray([float(r["label"]) for r in rows])
    w = np.asarray(COEFFICIENTS) if evaluate else fit(x, y)
    conf = [confidence(row, tuple(w.tolist())) for row in x]

    weighted: dict[Pair, float] = defaultdict(float)
    for r, c in zip(rows, conf, strict=True):
        weighted[(r["article"], r["source"])] += (r["a_end"] - r["a_start"]) * c
    length = {p: len(doc("susp", p[0]).text) or 1 for p in corpus.pairs}
    share = {p: min(1.0, weighted.get(p, 0.0) / length[p]) for p in corpus.pairs}
    case_spans: dict[Pair, list[tuple[int, int]]] = defaultdict(list)
    for case in corpus.cases:
        case_spans[cast(Pair, case.pair)].append(case.susp)
    derived = [p for p in case_spans if p[0] != p[1]]
    independent = sorted(corpus.categories.get("same_event", set()))
    positives = [share[p] for p in derived]
    negatives = [share[p] for p in independent]
    whole_truth = {p: union_length(case_spans[p]) / length[p] >= 0.5 for p in derived}
    if evaluate:
        partial, whole = PARTIAL_SHARE, WHOLE_SHARE
    else:
        partial = youden_threshold(positives, negatives)
        whole = youden_threshold(
            [share[p] for p in derived if whole_truth[p]],
            [share[p] for p in derived if not whole_truth[p]],
        )
    brier = float(np.mean((np.asarray(conf) - y) ** 2))
    judged = {
        "derived_pairs_partially_or_wholly": round(
            sum(share[p] >= partial for p in derived) / max(1, len(derived)), 4
        ),
        "same_event_pairs_not_derived": round(
            sum(share[p] < partial for p in independent) / max(1, len(independent)), 4
        ),
        "wholly_derived_pairs_wholly": round(
            sum(share[p] >= whole for p in derived if whole_truth[p])
            / max(1, sum(whole_truth.values())),
            4,
        ),
        "partly_derived_pairs_not_wholly": round(
            sum(share[p] < whole for p in derived if not whole_truth[p])
            / max(1, len(derived) - sum(whole_truth.values())),
            4,
        ),
    }
    return {
        "mode": "evaluate" if evaluate else "fit",
        "brier_rows": round(brier, 4),
        "verdicts": judged,
        "rows": len(rows),
        "positives": int(y.sum()),
        "features": list(FEATURES),
        "coefficients": [round(v, 4) for v in w.tolist()],
        "auc_rows": round(
            roc_auc(
                [c for c, t in zip(conf, y, strict=True) if t],
                [c for c, t in zip(conf, y, strict=True) if not t],
            ),
            4,
        ),
        "auc_pairs_weighted_share": round(roc_auc(positives, negatives), 4),
        "partial_share": round(partial, 4),
        "whole_share": round(whole, 4),
        "derived_pairs": len(derived),
        "wholly_derived_pairs": sum(whole_truth.values()),
        "same_event_pairs": len(independent),
    }
