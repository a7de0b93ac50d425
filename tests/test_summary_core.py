"""The summary stage in the core (core/engine/src/summary.rs, run inside
``_core.detect``) held to the numpy module it replaced (``summary_reference.py``):
on summary-shaped pairs under every kind of setting, on hypothesis-generated ones,
and on the pairs of ``tests/test_summary.py``, every match (offsets, kind, ``repr``
of similarity and confidence) and every ``Work`` counter and bound reached must be
equal."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiretrace import Detector, EngineConfig, _core
from wiretrace.engine.work import Work

from . import test_summary as shapes
from .conftest import VOCABULARY
from .summary_reference import _dice, summarise
from .test_compare_core import _exact, _reference_compare


def _agree(detector: Detector, article: str, source: str) -> bool:
    """Check the core against the oracle on one pair, from texts and from documents;
    whether the summary stage joined something there (by the oracle)."""
    expected_work, work = Work(), Work()
    expected = _reference_compare(detector, article, source, expected_work)
    assert _exact(detector.compare(article, source, work=work)) == _exact(expected)
    assert work.counters() == expected_work.counters()
    assert work.limited == expected_work.limited
    a, b = detector.prepare(article), detector.prepare(source)
    assert _exact(detector.compare(a, b)) == _exact(expected)
    off = Detector(replace(detector.config, summary_ratio=0.0))
    return _exact(off.compare(article, source)) != _exact(expected)


def _pair(rng: random.Random, shape: str) -> tuple[str, str]:
    """An article and a source of ``shape``: a summary (shortened sentences kept in
    order, from far apart), a scrambled one, a copy, a summary beside a copy, or a
    summary twice; with unrelated sentences around, names and numbers, and quotes."""
    source = [shapes._sentence(rng) for _ in range(rng.randint(12, 45))]
    picks = sorted(rng.sample(range(len(source)), rng.randint(3, min(7, len(source)))))
    if shape == "scrambled":
        rng.shuffle(picks)
    kept = [shapes._shortened(source[k]) for k in picks]
    if shape == "copy":
        start = rng.randrange(len(source) - 5)
        kept = source[start : start + rng.randint(2, 5)]
    elif shape == "lead":
        kept = source[1:4] + kept
    body = shapes._text(kept)
    if shape == "twice":
        body = f"{body}\n\n{shapes._text([shapes._sentence(rng) for _ in range(9)])}\n\n{body}"
    if rng.random() < 0.3:
        body = f'She said "{" ".join(source[picks[0]][:7])}" on Monday.\n\n' + body
    before = shapes._text([shapes._sentence(rng) for _ in range(rng.randint(0, 6))])
    after = shapes._text([shapes._sentence(rng) for _ in range(rng.randint(0, 6))])
    names = " Maria Lopez paid 1200 dollars in March." if rng.random() < 0.5 else ""
    return f"{before}\n\n{body}{names}\n\n{after}".strip(), shapes._text(source) + names


SHAPES = ("summary", "scrambled", "copy", "lead", "twice")

CONFIGS = [
    EngineConfig(),
    EngineConfig(summary_whole_share=0.0),
    EngineConfig(summary_ratio=50.0),
    EngineConfig(summary_join_ratio=0.0),
    EngineConfig(summary_join_ratio=4.0, summary_ratio=2.0),
    EngineConfig(summary_gap_tokens=0),
    EngineConfig(summary_gap_tokens=400),
    EngineConfig(summary_unit_dice=0.6),
    EngineConfig(summary_unit_dice=0.1),
    EngineConfig(summary_whole_share=1.0),
    EngineConfig(max_extend_pairs=300),
]


@pytest.mark.parametrize(("seed", "config"), list(enumerate(CONFIGS)))
def test_summary_shapes_under_each_setting_equal_the_numpy_stage(
    seed: int, config: EngineConfig
) -> None:
    detector = Detector(config)
    rng = random.Random(seed)
    joined = 0
    for k in range(25):
        joined += _agree(detector, *_pair(rng, SHAPES[k % len(SHAPES)]))
    if config.summary_ratio and config.max_extend_pairs > 1000:
        assert joined, "the stage joined some pair: the check means something"


def test_the_unit_pair_bound_is_reached_as_in_numpy() -> None:
    article, source, _ = shapes._summary_pair()
    full, aligned = Work(), Work()
    config = EngineConfig(max_extend_pairs=100_000)
    assert len(_reference_compare(Detector(config), article, source, full)) == 1
    off = Detector(replace(config, summary_ratio=0.0))
    _reference_compare(off, article, source, aligned)
    pairs = full.extend_pairs - aligned.extend_pairs  # the summary stage's unit pairs
    assert aligned.extend_pairs < pairs - 1, "the alignment stays under the bound below"
    # A bound the alignment's extension stays under but the summary stage's pairs pass.
    small = Detector(EngineConfig(max_extend_pairs=pairs - 1))
    expected_work, work = Work(), Work()
    expected = _reference_compare(small, article, source, expected_work)
    assert expected_work.limited == {"max_extend_pairs"}
    assert len(expected) > 1, "stopped at the bound, the pieces stay apart"
    got = small.compare(article, source, work=work)
    assert _exact(got) == _exact(expected)
    assert work.counters() == expected_work.counters()
    assert work.limited == expected_work.limited
    exact = Detector(EngineConfig(max_extend_pairs=pairs))  # at the bound: not reached
    assert len(exact.compare(article, source)) == 1


def test_the_pairs_of_the_summary_tests_equal_the_numpy_stage(detector: Detector) -> None:
    pairs = [shapes._summary_pair(seed)[:2] for seed in (7, 11, 21, 8, 13)]
    joined = sum(_agree(detector, a, b) for a, b in pairs)
    article, source, _ = shapes._summary_pair()
    for config in (EngineConfig(summary_whole_share=0.0), EngineConfig(summary_ratio=50.0)):
        joined += _agree(Detector(config), article, source)
    assert joined >= 3


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(SHAPES),
    st.sampled_from([0.0, 1.5, 3.0, 8.0]),
    st.sampled_from([0.0, 1.0, 1.5, 3.0]),
    st.sampled_from([0, 10, 60, 300]),
    st.sampled_from([0.0, 0.3, 0.9]),
    st.sampled_from([0.0, 0.15, 0.3, 0.5]),
)
def test_generated_pairs_and_settings_equal_the_numpy_stage(
    seed: int,
    shape: str,
    ratio: float,
    join: float,
    gap: int,
    share: float,
    dice: float,
) -> None:
    config = EngineConfig(
        summary_ratio=ratio,
        summary_join_ratio=join,
        summary_gap_tokens=gap,
        summary_whole_share=share,
        summary_unit_dice=dice,
    )
    _agree(Detector(config), *_pair(random.Random(seed), shape))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12))
def test_unit_dice_equals_the_numpy_product(seed: int, sentences: int) -> None:
    detector = Detector()
    rng = random.Random(seed)
    words = VOCABULARY[: rng.randint(20, len(VOCABULARY))]
    source = [rng.sample(words, 12) for _ in range(rng.randint(1, 15))]
    a_text = shapes._text([rng.sample(words, 10) for _ in range(sentences)])
    a_text += " Maria Lopez paid 1200 dollars in March."
    a, b = detector.prepare(a_text), detector.prepare(shapes._text(source))
    units = sorted(rng.sample(range(len(a.units)), rng.randint(1, len(a.units))))
    want_dice, want_shared = _dice(a, b, np.array(units, dtype=np.int64))
    got_dice, got_shared = _core.summary_dice(a.aligned(), b.aligned(), units)
    assert got_shared == want_shared.ravel().tolist()
    assert [repr(x) for x in got_dice] == [repr(float(x)) for x in want_dice.ravel()]


def test_unit_dice_refuses_a_unit_the_article_lacks(detector: Detector) -> None:
    a = detector.prepare("The minister said the schools will reopen on Monday morning.")
    with pytest.raises(ValueError, match="not one of a's"):
        _core.summary_dice(a.aligned(), a.aligned(), [len(a.units)])


def test_the_oracle_is_the_stage_it_was(detector: Detector) -> None:
    # The oracle turned off, or given no match, returns its matches as they are.
    article, source, _ = shapes._summary_pair()
    a, b = detector.prepare(article), detector.prepare(source)
    found = Detector(replace(detector.config, summary_ratio=0.0)).compare(a, b)
    assert summarise(a, b, found, replace(detector.config, summary_ratio=0.0)) is found
    assert summarise(a, b, [], detector.config) == []
    assert len(summarise(a, b, found, detector.config)) == 1
