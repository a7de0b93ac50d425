"""Alignment: seeds -> clusters -> passages -> refined, filtered matches.

The shape of the best PAN text-alignment systems: candidate unit pairs become *seeds*;
seeds close to each other on both sides *merge* into maximal passages, which must stay
similar as a whole (otherwise they are split with a smaller gap); overlapping and tiny
passages are *filtered*; boundaries are *refined* at token level with rapidfuzz.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from wiretrace.engine.spans import overlaps
from wiretrace.engine.terms import NO_TERM
from wiretrace.engine.work import Work

__all__ = [
    "Passage",
    "build_passages",
    "cluster_seeds",
    "dice",
    "merge_adjacent",
    "refine",
    "resolve_overlaps",
    "set_dice",
]

Seed = tuple[int, int]

#: On the second side, pieces of one passage may lie this many times further apart:
#: summaries and reordered rewrites spread a passage's sentences over more source text.
SECOND_SIDE_GAP_FACTOR = 3


@dataclass(frozen=True, slots=True)
class Passage:
    """Token ranges ``[a0, a1)`` and ``[b0, b1)`` judged to be the same passage.

    ``overlap`` is the Dice coefficient of their content terms (order-free) and
    ``score`` ranks passages that compete for the same text."""

    a0: int
    a1: int
    b0: int
    b1: int
    score: float
    overlap: float = 0.0


def set_dice(sx: set[int], sy: set[int]) -> float:
    """Dice coefficient of two sets of content terms (0 when either is empty)."""
    if not sx or not sy:
        return 0.0
    return 2.0 * len(sx & sy) / (len(sx) + len(sy))


def dice(x: npt.NDArray[np.int64], y: npt.NDArray[np.int64]) -> float:
    """Dice coefficient of the distinct content terms of two term arrays."""
    return set_dice(set(x[x != NO_TERM].tolist()), set(y[y != NO_TERM].tolist()))


def _split(group: list[Seed], axis: int, gap: int) -> list[list[Seed]]:
    group = sorted(group, key=lambda s: s[axis])
    parts: list[list[Seed]] = [[group[0]]]
    for prev, cur in pairwise(group):
        if cur[axis] - prev[axis] > gap + 1:
            parts.append([cur])
        else:
            parts[-1].append(cur)
    return parts


def cluster_seeds(seeds: list[Seed], gap: int) -> list[list[Seed]]:
    """Group seeds ``(unit_a, unit_b)`` so that, inside a group, sorting on either side
    leaves no hole of more than ``gap`` units. Splits alternate between the two sides
    until neither splits any more."""
    if not seeds:
        return []
    done: list[list[Seed]] = []
    stack: list[tuple[list[Seed], int, bool]] = [(seeds, 0, False)]
    while stack:
        group, axis, other_stable = stack.pop()
        parts = _split(group, axis, gap)
        if len(parts) == 1:
            if other_stable:
                done.append(parts[0])
            else:
                stack.append((parts[0], 1 - axis, True))
        else:
            stack.extend((p, 1 - axis, False) for p in parts)
    return done


def build_passages(
    seeds: list[Seed],
    strong: set[Seed],
    gap: int,
    make: Callable[[list[Seed]], tuple[Passage, list[Seed]] | None],
    *,
    fits: Callable[[list[Seed]], bool] = lambda _: True,
    stop: Callable[[], bool] = lambda: False,
    on_passage: Callable[[], None] = lambda: None,
) -> list[Passage]:
    """Cluster ``seeds`` and turn each cluster holding a ``strong`` seed into a passage.

    ``make`` returns the passage and the seeds it left out, which are clustered again
    (a cluster can join two passages that refinement separates). A cluster that
    ``make`` rejects is split again with a smaller gap; below gap 0 its strong seeds
    are tried alone. A cluster that does not ``fit`` (too large to refine in one
    piece) is cut in two halves on the first side, each clustered again, until the
    pieces fit; merging joins the pieces' passages again. Building ends early when
    ``stop`` says so (a bound is reached); ``on_passage`` is told of each passage.
    """
    out: list[Passage] = []
    stack = [(c, gap) for c in cluster_seeds(seeds, gap)]
    while stack and not stop():
        cluster, g = stack.pop()
        if not any(s in strong for s in cluster):
            continue
        if len(cluster) > 1 and not fits(cluster):
            ordered = sorted(cluster)
            half = len(ordered) // 2
            for part in (ordered[:half], ordered[half:]):
                stack.extend((c, g) for c in cluster_seeds(part, max(g, 0)))
            continue
        made = make(cluster)
        if made is not None:
            passage, left_out = made
            out.append(passage)
            on_passage()
            stack.extend((c, g) for c in cluster_seeds(left_out, max(g, 0)))
        elif g > 0 and len(cluster) > 1:
            stack.extend((c, g - 1) for c in cluster_seeds(cluster, g - 1))
        elif g == 0 and len(cluster) > 1:
            stack.extend(([s], -1) for s in cluster if s in strong)
    return out


def _best_run(scores: npt.NDArray[np.float64]) -> tuple[int, int]:
    """Half-open range with the largest sum (Kadane); ``(0, 0)`` if none is positive."""
    best, best_range = 0.0, (0, 0)
    run, run_start = 0.0, 0
    for k, v in enumerate(scores.tolist()):
        if run <= 0.0:
            run, run_start = v, k
        else:
            run += v
        if run > best:
            best, best_range = run, (run_start, k + 1)
    return best_range


def refine(
    p: Passage,
    a: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    b: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    *,
    miss_penalty: float,
    shared_weight: float,
    edge_cut: float,
) -> Passage | None:
    """Trim each side of a passage to its densest aligned stretch.

    ``a`` and ``b`` are ``(word_ids, term_ids)`` of the two whole texts. Tokens are
    aligned with rapidfuzz (Indel opcodes, order-preserving). A content token is worth
    1 when aligned, ``shared_weight`` when its term occurs elsewhere on the other side
    (reordered text) and 0 otherwise; function words do not count. A first pass keeps
    the best-scoring run with ``-miss_penalty`` for a miss, which finds the core; the
    second keeps the best run after subtracting ``edge_cut`` times the core's mean worth
    from every content token. A near-copy therefore sheds loosely related neighbours,
    while a heavily reworded passage keeps its looser sentences.
    """
    aw, bw = a[0][p.a0 : p.a1], b[0][p.b0 : p.b1]
    at, bt = a[1][p.a0 : p.a1], b[1][p.b0 : p.b1]
    hit_a = np.zeros(len(aw), dtype=np.bool_)
    hit_b = np.zeros(len(bw), dtype=np.bool_)
    for op in Indel.opcodes(aw.tolist(), bw.tolist()):
        if op.tag == "equal":
            hit_a[op.src_start : op.src_end] = True
            hit_b[op.dest_start : op.dest_end] = True

    def side(
        hit: npt.NDArray[np.bool_], terms: npt.NDArray[np.int64], other: npt.NDArray[np.int64]
    ) -> tuple[int, int]:
        content = terms != NO_TERM
        worth = np.where(hit, 1.0, np.where(np.isin(terms, other), shared_weight, 0.0))
        core = _best_run(np.where(content, np.where(worth > 0, worth, -miss_penalty), 0.0))
        in_core = content[core[0] : core[1]]
        if not in_core.any():
            return core
        mean = float(worth[core[0] : core[1]][in_core].mean())
        cut = edge_cut * max(miss_penalty, mean)
        return _best_run(np.where(content, worth - cut, 0.0))

    ra = side(hit_a, at, bt)
    rb = side(hit_b, bt, at)
    if ra[1] <= ra[0] or rb[1] <= rb[0]:
        return None
    return Passage(p.a0 + ra[0], p.a0 + ra[1], p.b0 + rb[0], p.b0 + rb[1], score=p.score)


def merge_adjacent(
    passages: list[Passage],
    max_gap: int,
    accept: Callable[[Passage], Passage | None],
) -> list[Passage]:
    """Join passages that follow each other on the first side with at most ``max_gap``
    tokens between them, and lie close in either order on the second side (within
    ``SECOND_SIDE_GAP_FACTOR * max_gap`` tokens), when ``accept`` validates (and
    rescores) the union.

    Refinement and re-clustering can cut one reused passage in pieces at a loosely
    rewritten sentence; a reader wants it once.

    After a merge at ``k`` only the pairs that hold the union can have changed, so the
    scan steps back one place instead of starting over: ``O(n)`` calls to ``accept``,
    with the same result as rescanning from the start.
    """
    merged = sorted(passages, key=lambda q: (q.a0, q.b0))
    k = 0
    while k < len(merged) - 1:
        p, q = merged[k], merged[k + 1]
        # On the second side the pieces may come in either order (reordered text).
        b_gap = max(q.b0 - p.b1, p.b0 - q.b1)
        if q.a0 - p.a1 <= max_gap and b_gap <= max_gap * SECOND_SIDE_GAP_FACTOR:
            union = accept(
                Passage(min(p.a0, q.a0), max(p.a1, q.a1), min(p.b0, q.b0), max(p.b1, q.b1), 0.0)
            )
            if union is not None:
                merged[k : k + 2] = [union]
                k = max(k - 1, 0)
                continue
        k += 1
    return merged


def resolve_overlaps(
    passages: list[Passage], *, same_text: bool, work: Work | None = None
) -> list[Passage]:
    """Keep the best passages so that no two claim the same text.

    Across two texts a region of the first text is explained once. Inside one text a
    region may repeat several times, so two passages clash only when they overlap on
    both sides. Work: up to ``len(passages)**2 / 2`` pair checks (counted in ``work``);
    the callers bound ``len(passages)`` by ``max_passages``.
    """
    kept: list[Passage] = []
    for p in sorted(passages, key=lambda q: -q.score):
        if work is not None:
            work.overlap_checks += len(kept)
            work.check()
        clash = False
        for k in kept:
            on_a = overlaps(p.a0, p.a1, k.a0, k.a1)
            on_b = overlaps(p.b0, p.b1, k.b0, k.b1)
            if on_a and (on_b or not same_text):
                clash = True
                break
        if not clash:
            kept.append(p)
    return sorted(kept, key=lambda q: (q.a0, q.b0))
