"""The PAN text-alignment measures (Potthast et al., 2010): precision, recall,
granularity and plagdet, computed over character ranges.

A case or detection is a pair of half-open character ranges, one in the suspicious
document and one in the source document, tagged with the document pair. A detection
*detects* a case when both belong to the same pair and overlap on both sides.
Conventions follow PAN's reference ``perfmeasures.py``: a mean over an empty set is 0,
granularity with nothing detected is 1, plagdet is 0 when precision and recall are.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from wiretrace.engine.spans import overlaps, union_length

__all__ = ["Annotation", "Scores", "score"]

Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Annotation:
    """A case or a detection: ``susp`` and ``src`` ranges within document ``pair``;
    ``kind`` is a case's type in the ground truth or a detection's match kind ("" when
    unknown). Scores ignore it; it lets a caller score one kind of case alone."""

    pair: Hashable
    susp: Range
    src: Range
    kind: str = ""

    def __len__(self) -> int:
        return (self.susp[1] - self.susp[0]) + (self.src[1] - self.src[0])


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    granularity: float
    plagdet: float
    cases: int
    detections: int


def _overlaps(x: Range, y: Range) -> bool:
    return overlaps(x[0], x[1], y[0], y[1])


def _covered(target: Range, ranges: Iterable[Range]) -> int:
    """Number of positions of ``target`` inside the union of ``ranges``."""
    return union_length((max(r[0], target[0]), min(r[1], target[1])) for r in ranges)


def _detects(r: Annotation, s: Annotation) -> bool:
    return _overlaps(r.susp, s.susp) and _overlaps(r.src, s.src)


def _macro_coverage(
    targets: Sequence[Annotation], by_pair: dict[Hashable, list[Annotation]]
) -> tuple[float, list[int]]:
    """Mean over ``targets`` of the share of each covered by the others that detect it,
    and, per target, how many others detect it."""
    if not targets:
        return 0.0, []
    shares: list[float] = []
    counts: list[int] = []
    for t in targets:
        hits = [o for o in by_pair.get(t.pair, []) if _detects(o, t)]
        counts.append(len(hits))
        if not hits or len(t) == 0:
            shares.append(0.0)
            continue
        inside = _covered(t.susp, (h.susp for h in hits)) + _covered(t.src, (h.src for h in hits))
        shares.append(inside / len(t))
    return sum(shares) / len(shares), counts


def score(cases: Sequence[Annotation], detections: Sequence[Annotation]) -> Scores:
    """PAN scores of ``detections`` against the ground-truth ``cases``."""
    cases_by_pair: dict[Hashable, list[Annotation]] = defaultdict(list)
    for s in cases:
        cases_by_pair[s.pair].append(s)
    dets_by_pair: dict[Hashable, list[Annotation]] = defaultdict(list)
    for r in detections:
        dets_by_pair[r.pair].append(r)
    recall, per_case = _macro_coverage(cases, dets_by_pair)
    precision, _ = _macro_coverage(detections, cases_by_pair)
    detected = [c for c in per_case if c > 0]
    granularity = sum(detected) / len(detected) if detected else 1.0
    if precision + recall == 0:
        plagdet = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
        plagdet = f1 / math.log2(1 + granularity)
    return Scores(precision, recall, granularity, plagdet, len(cases), len(detections))
