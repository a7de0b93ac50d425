"""The PAN measures on hand-made cases, checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from wiretrace_bench.plagdet import Annotation, score

CASE = Annotation("p", (100, 200), (0, 100))


def test_perfect_detection() -> None:
    s = score([CASE], [Annotation("p", (100, 200), (0, 100))])
    assert (s.precision, s.recall, s.granularity, s.plagdet) == (1.0, 1.0, 1.0, 1.0)


def test_split_detection_has_granularity_two() -> None:
    halves = [Annotation("p", (100, 150), (0, 50)), Annotation("p", (150, 200), (50, 100))]
    s = score([CASE], halves)
    assert s.precision == 1.0
    assert s.recall == 1.0
    assert s.granularity == 2.0
    assert s.plagdet == pytest.approx(1 / math.log2(3))


def test_false_positive_halves_precision() -> None:
    dets = [Annotation("p", (100, 200), (0, 100)), Annotation("p", (300, 400), (500, 600))]
    s = score([CASE], dets)
    assert s.precision == 0.5
    assert s.recall == 1.0
    assert s.plagdet == pytest.approx(2 * 0.5 / 1.5)


def test_detection_in_another_pair_detects_nothing() -> None:
    s = score([CASE], [Annotation("q", (100, 200), (0, 100))])
    assert (s.precision, s.recall, s.plagdet) == (0.0, 0.0, 0.0)


def test_nothing_found() -> None:
    s = score([CASE], [])
    assert (s.precision, s.recall, s.granularity, s.plagdet) == (0.0, 0.0, 1.0, 0.0)


def test_partial_overlap_counts_characters_on_both_sides() -> None:
    # Detection covers the second half of the case on both sides and as much outside.
    s = score([CASE], [Annotation("p", (150, 250), (50, 150))])
    assert s.recall == pytest.approx(0.5)
    assert s.precision == pytest.approx(0.5)


def test_overlap_on_one_side_only_is_no_detection() -> None:
    s = score([CASE], [Annotation("p", (100, 200), (500, 600))])
    assert s.recall == 0.0
    assert s.precision == 0.0


def test_overlapping_detections_are_not_counted_twice() -> None:
    dets = [Annotation("p", (100, 180), (0, 80)), Annotation("p", (120, 200), (20, 100))]
    s = score([CASE], dets)
    assert s.recall == 1.0
    assert s.granularity == 2.0
