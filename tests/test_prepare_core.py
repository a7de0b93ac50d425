"""``Detector.prepare`` in one core call (core/engine/src/prepare.rs), held to the
definitions it replaced: the slow references below are the Python stages that ran
after the text stages (blake2b unit fingerprints and the period search of the runs,
the windows' hashes in numpy, the quoted segments, the seeding rows), kept as oracles;
and a match's span counts against numpy's ``isin`` over the window hashes."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiretrace import Detector, _core
from wiretrace.engine.index import band_keys
from wiretrace.engine.runs import Run, find_runs, hidden_units
from wiretrace.engine.signature import EMPTY, signatures
from wiretrace.engine.terms import NO_TERM
from wiretrace_bench.service_bench import compare_pairs

_MIX = np.uint64(0x9E3779B97F4A7C15)
_SALT = np.uint64(0xD6E8FEB86659FD93)


def _slow_fingerprints(words: npt.NDArray[np.int64], bounds: npt.NDArray[np.int64]) -> list[int]:
    return [
        int.from_bytes(hashlib.blake2b(words[b0:b1].tobytes(), digest_size=8).digest(), "little")
        for b0, b1 in pairwise(bounds.tolist())
    ]


def _slow_runs(fps: list[int]) -> list[Run]:
    last: dict[int, int] = {}
    distances: Counter[int] = Counter()
    for u, fp in enumerate(fps):
        if fp in last:
            distances[u - last[fp]] += 1
        last[fp] = u
    arr = np.array(fps, dtype=np.uint64)
    found = []
    for period, count in distances.most_common(8):
        if count < 2 * period:
            continue
        same = np.concatenate(([False], arr[period:] == arr[:-period], [False]))
        edges = np.flatnonzero(np.diff(same.astype(np.int8)))
        for s, e in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
            if e - s >= 2 * period:
                found.append(Run(s, e + period, period))
    kept: list[Run] = []
    for r in sorted(found, key=lambda r: (-(r.end - r.start), r.period, r.start)):
        if all(r.end <= k.start or k.end <= r.start for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: r.start)


def _slow_window_hashes(words: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.uint64]:
    n = len(words) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    w = words.astype(np.uint64)
    h = np.full(n, _SALT, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for t in range(k):
            h = (h * _MIX) ^ (h >> np.uint64(31)) ^ w[t : t + n]
    return h


def _texts() -> list[str]:
    rng = random.Random(5)
    pairs = compare_pairs(6, 3000, seed=2)
    texts = [t for p in pairs for t in p]
    sentence = 'The minister said "we will not raise the tax on fuel this year" on Monday. '
    texts.append(sentence * 12)  # a run of period 1 or more
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    texts.append(" ".join(rng.choice(words) for _ in range(400)))  # word salad
    texts.append("Short.")
    texts.append("")
    return texts


@pytest.mark.parametrize("text", _texts())
def test_prepare_equals_the_stages_it_replaced(text: str) -> None:
    d = Detector()
    cfg = d.config
    doc = d.prepare(text)
    units = doc.units
    assert np.array_equal(
        doc.signatures, signatures(units.features, num_perm=cfg.num_perm, seed=cfg.seed)
    )
    runs = _slow_runs(_slow_fingerprints(doc.words, units.bounds))
    assert list(doc.runs) == runs
    assert np.array_equal(doc.hidden, hidden_units(runs, len(units)))
    rows = np.flatnonzero((doc.signatures != EMPTY).any(axis=1)).tolist()
    indexable = np.array([r for r in rows if not doc.hidden[r]], dtype=np.int64)
    assert doc.indexable.tolist() == indexable.tolist()
    assert np.array_equal(
        doc.band_keys, band_keys(doc.signatures[indexable], d.bands, d.rows).reshape(-1, d.bands)
    )
    k = cfg.min_quote_tokens
    assert np.array_equal(doc.windows.hashes, _slow_window_hashes(doc.words, k))
    order = np.argsort(doc.windows.hashes, kind="stable")
    assert doc.windows.order.tolist() == order.tolist()
    copies = Counter(doc.windows.hashes.tolist())
    assert doc.windows.rare.tolist() == [copies[h] <= 8 for h in doc.windows.hashes.tolist()]
    quoted = doc.quoted.astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quoted, [0]))))
    segments = [
        np.unique(doc.terms[s:e][doc.terms[s:e] != NO_TERM])
        for s, e in zip(edges[0::2], edges[1::2], strict=True)
        if e - s >= k
    ]
    segments = [f for f in segments if len(f) >= 2]
    expected = (
        signatures(segments, num_perm=cfg.num_perm, seed=cfg.seed)
        if segments
        else np.zeros((0, cfg.num_perm), np.uint32)
    )
    assert np.array_equal(doc.quote_signatures, expected)
    assert len(doc.aligned()) == len(doc.tokens)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=60))
def test_find_runs_equals_the_period_search(fps: list[int]) -> None:
    assert find_runs(np.array(fps, dtype=np.int64)) == _slow_runs(fps)


def test_span_counts_equal_isin_over_the_windows() -> None:
    d = Detector()
    rng = random.Random(1)
    for a_text, b_text in compare_pairs(4, 3000, seed=4):
        a, b = d.prepare(a_text), d.prepare(b_text)
        k = a.windows.k
        for _ in range(30):
            a0 = rng.randrange(len(a.tokens))
            a1 = rng.randrange(a0, len(a.tokens) + 1)
            b0 = rng.randrange(len(b.tokens))
            b1 = rng.randrange(b0, len(b.tokens) + 1)
            covered = np.zeros(max(1, a1 - a0), dtype=np.bool_)
            if a1 - a0 >= k and b1 - b0 >= k:
                hits = np.flatnonzero(
                    np.isin(a.windows.hashes[a0 : a1 - k + 1], b.windows.hashes[b0 : b1 - k + 1])
                )
                for t in range(k):
                    covered[hits + t] = True
            expected = (
                int(covered[: a1 - a0].sum()),
                int(a.quoted[a0:a1].sum()),
                int((a.terms[a0:a1] != NO_TERM).sum()),
            )
            assert _core.span_counts(a.aligned(), b.aligned(), a0, a1, b0, b1) == expected
        # a match of a text with itself covers all of it
        n = len(a.tokens)
        assert _core.span_counts(a.aligned(), a.aligned(), 0, n, 0, n)[0] == (n if n >= k else 0)
