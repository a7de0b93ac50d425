"""Cached sources are kept compact, and compare answers the same with them."""

from __future__ import annotations

import pytest

from wiretrace.domain.cache import SourceCache, compact
from wiretrace.engine.detect import Detector
from wiretrace_bench.service_bench import compare_pairs
from wiretrace_bench.synthetic import generate


@pytest.mark.parametrize("seed", [0, 1])
def test_compare_with_a_compact_source_answers_as_with_the_whole_one(
    detector: Detector, seed: int
) -> None:
    pairs = compare_pairs(12, 3000, seed=seed)
    articles, cases = generate(60, seed=seed)
    by_id = {a.id: a.text for a in articles}
    pairs += [(by_id[c.article], by_id[c.source]) for c in cases[:30]]
    found = 0
    for text_a, text_b in pairs:
        a, b = detector.prepare(text_a), detector.prepare(text_b)
        small = compact(b)
        assert not small.tokens.words
        assert len(b.tokens.words) > 0
        whole = detector.compare(a, b)
        assert detector.compare(a, small) == whole
        found += bool(whole)
    assert found > len(pairs) // 2  # most pairs share passages: the check means something


def test_the_cache_holds_compact_sources(detector: Detector) -> None:
    cache = SourceCache(2)
    texts = [a.text for a in generate(3, seed=4)[0]]
    for key, text in enumerate(texts):
        cache.put(key, detector.prepare(text))
    assert cache.get(0) is None  # least recently used, out
    for key in (1, 2):
        doc = cache.get(key)
        assert doc is not None
        assert doc.text == texts[key]
        assert not doc.tokens.words
    assert set(cache.signatures([0, 1, 2])) == {1, 2}
