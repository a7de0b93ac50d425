"""Cached sources are ``Prepared`` (a few arrays), and compare answers the same with
them as with whole documents."""

from __future__ import annotations

import numpy as np
import pytest

from wiretrace.domain.cache import SourceCache
from wiretrace.engine.detect import Detector
from wiretrace_bench.service_bench import compare_pairs
from wiretrace_bench.synthetic import generate


@pytest.mark.parametrize("seed", [0, 1])
def test_compare_with_prepared_sources_answers_as_with_whole_documents(
    detector: Detector, seed: int
) -> None:
    pairs = compare_pairs(12, 3000, seed=seed)
    articles, cases = generate(60, seed=seed)
    by_id = {a.id: a.text for a in articles}
    pairs += [(by_id[c.article], by_id[c.source]) for c in cases[:30]]
    found = 0
    for text_a, text_b in pairs:
        a, b = detector.prepare(text_a), detector.prepare(text_b)
        lean_a, lean_b = detector.prepare_sources([text_a, text_b])
        whole = detector.compare(a, b)
        assert detector.compare(lean_a, lean_b) == whole
        assert detector.compare(a, lean_b) == whole
        assert detector.repeats(lean_a) == detector.repeats(a)
        # The arrays the service reads are the document's.
        assert np.array_equal(lean_b.stored_signatures, b.stored_signatures)
        assert np.array_equal(lean_b.starts, b.tokens.starts)
        assert np.array_equal(lean_b.ends, b.tokens.ends)
        assert np.array_equal(lean_b.unit_bounds, b.units.bounds)
        assert lean_b.units == len(b.units)
        assert lean_b.text == text_b
        found += bool(whole)
    assert found > len(pairs) // 2  # most pairs share passages: the check means something


def test_the_cache_keeps_the_most_recent_sources(detector: Detector) -> None:
    cache = SourceCache(2)
    texts = [a.text for a in generate(3, seed=4)[0]]
    for key, prepared in enumerate(detector.prepare_sources(texts)):
        cache.put(key, prepared)
    assert cache.get(0) is None  # least recently used, out
    for key in (1, 2):
        doc = cache.get(key)
        assert doc is not None
        assert doc.text == texts[key]
    assert set(cache.signatures([0, 1, 2])) == {1, 2}
