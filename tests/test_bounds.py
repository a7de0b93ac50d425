"""Bounded work per comparison: runs of repeated units collapse, every stage stops at
its bound in EngineConfig, and a cancelled comparison stops. The tests read the work
counters, never the wall clock."""

from __future__ import annotations

import numpy as np
import pytest

from wiretrace import Detector, EngineConfig, Kind
from wiretrace.engine.runs import Run, find_runs
from wiretrace.engine.work import Work
from wiretrace.errors import Expired
from wiretrace_bench.shapes import SENTENCE, SHAPES, shape_text

LIMIT = 200_000


def test_find_runs_needs_three_copies_of_a_period() -> None:
    fps = np.array([5, 1, 1, 1, 1, 2, 3, 4, 2, 3, 4, 2, 3, 4, 2, 3, 9, 9, 7])
    assert find_runs(fps) == [Run(1, 5, 1), Run(5, 16, 3)]
    assert find_runs(np.array([1, 2, 1, 2, 1])) == []  # two and a half copies
    assert find_runs(np.array([4, 4, 8])) == []


def test_a_sentence_repeated_inside_a_text_is_one_repeat_of_the_run(detector: Detector) -> None:
    prefix = "Officials in the northern province gave no reason for the sudden closure. "
    text = prefix + SENTENCE * 2000
    work = Work()
    matches = detector.repeats(text, work=work)
    assert len(matches) == 1
    (m,) = matches
    start, period = len(prefix), len(SENTENCE)
    # Copies 2..N (the later side) repeat copies 1..N-1.
    assert (m.b_start, m.b_end) == (start + period, len(text) - 1)
    assert (m.a_start, m.a_end) == (start, len(text) - period - 1)
    assert text[m.a_start : m.a_end] == text[m.b_start : m.b_end]
    assert m.kind is Kind.VERBATIM
    assert work.collapsed_units == 1999
    assert work.seed_pairs < 100
    assert work.passages <= 1


def test_a_run_on_both_sides_aligns_end_to_end(detector: Detector) -> None:
    text = shape_text("article", LIMIT)
    a, b = detector.prepare(text), detector.prepare(text)
    work = Work()
    (m,) = detector.compare(a, b, work=work)
    assert (m.a_start, m.b_start) == (0, 0)
    assert m.a_end == m.b_end >= len(text.rstrip()) - 1
    assert m.kind is Kind.VERBATIM
    assert work.collapsed_units > 0.9 * work.units


def _within_bounds(work: Work, config: EngineConfig, comparisons: int) -> None:
    gap_cells = (2 * config.max_gap_units + 1) ** 2  # one seed's neighbourhood
    assert work.seed_pairs <= comparisons * config.max_seed_pairs
    assert work.extend_pairs <= comparisons * (config.max_extend_pairs + gap_cells)
    assert work.align_cells <= comparisons * config.max_align_cells
    assert work.passages <= comparisons * config.max_passages
    assert work.exact_pairs <= comparisons * config.max_exact_pairs
    # Overlap resolution runs twice over at most max_passages (and the runs) each.
    most = config.max_passages + work.units
    assert work.overlap_checks <= comparisons * most * most


@pytest.mark.parametrize("shape", SHAPES)
def test_every_worst_shape_at_the_limit_stays_within_the_bounds(
    detector: Detector, shape: str
) -> None:
    text = shape_text(shape, LIMIT)
    assert len(text) == LIMIT
    same, cross = Work(), Work()
    detector.compare(text, text, work=same)  # its repeats
    detector.compare(detector.prepare(text), detector.prepare(text), work=cross)  # two copies
    for work in (same, cross):
        _within_bounds(work, detector.config, comparisons=1)
    if shape in ("sentence", "article"):  # exact runs: collapsed, nearly no work left
        assert not same.limited
        assert not cross.limited
        assert cross.seed_pairs < 2_000
        assert cross.passages < 10
    if shape == "salad":  # nothing repeats exactly, everything looks alike: the bounds act
        assert {"max_seed_pairs", "max_extend_pairs"} <= cross.limited


def test_tighter_bounds_are_obeyed(detector: Detector) -> None:
    config = EngineConfig(max_seed_pairs=500, max_extend_pairs=2_000, max_passages=20)
    text = shape_text("salad", 40_000)
    work = Work()
    bounded = Detector(config)
    bounded.compare(bounded.prepare(text), bounded.prepare(text), work=work)
    _within_bounds(work, config, comparisons=1)
    assert {"max_seed_pairs", "max_extend_pairs"} <= work.limited
    few = EngineConfig(max_passages=20)
    work = Work()
    Detector(few).compare(text, text, work=work)  # its repeats: many small passages
    _within_bounds(work, few, comparisons=1)
    assert work.passages == 20
    assert "max_passages" in work.limited


def test_a_small_refine_bound_cuts_a_long_copy_and_merges_it_back() -> None:
    text = shape_text("mixed", 20_000)
    whole = Detector().compare(Detector().prepare(text), Detector().prepare(text))
    work = Work()
    detector = Detector(EngineConfig(max_refine_cells=100_000))
    cut = detector.compare(detector.prepare(text), detector.prepare(text), work=work)
    assert "max_refine_cells" in work.limited
    assert [(m.a_start, m.a_end, m.b_start, m.b_end) for m in cut] == [
        (m.a_start, m.a_end, m.b_start, m.b_end) for m in whole
    ]


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_passages must be >= 1"):
        EngineConfig(max_passages=0)


def test_a_cancelled_comparison_raises_expired_between_chunks(detector: Detector) -> None:
    text = shape_text("salad", LIMIT)
    doc = detector.prepare(text)
    asked = 0

    def cancelled() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3  # the caller gives up after the first few checks

    work = Work(cancelled=cancelled)
    with pytest.raises(Expired):
        detector.compare(doc, detector.prepare(text), work=work)
    assert asked == 4  # stopped at the first check after the cancellation
    with pytest.raises(Expired):
        detector.compare(doc, doc, work=Work(cancelled=lambda: True))
