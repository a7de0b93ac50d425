"""The band indexes must agree with datasketch's MinHashLSH, and LSH with exact Jaccard."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from wiretrace.engine.index import band_join, band_keys, lsh_params
from wiretrace.engine.signature import EMPTY, signatures, signatures_datasketch
from wiretrace.store.band_index import BandIndex, SortedBandIndex

NUM_PERM = 64


def _sets(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    base = rng.integers(0, 2**32, size=40)
    out = []
    for _ in range(n):
        keep = base[rng.random(40) < rng.uniform(0.2, 1.0)]
        noise = rng.integers(0, 2**32, size=int(rng.integers(0, 20)))
        out.append(np.unique(np.concatenate([keep, noise]).astype(np.int64)))
    return out


def _datasketch_candidates(sigs: np.ndarray, bands: int, rows: int) -> list[set[int]]:
    template = MinHash(num_perm=NUM_PERM, seed=1)
    lsh = MinHashLSH(num_perm=NUM_PERM, params=(bands, rows))
    ms = [
        MinHash(hashvalues=row, permutations=template.permutations, scheme=template.scheme)
        for row in sigs
    ]
    for k, m in enumerate(ms):
        lsh.insert(k, m)
    return [set(lsh.query(m)) for m in ms]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([(32, 2), (21, 3), (16, 4), (64, 1)]))
def test_band_index_returns_exactly_what_minhashlsh_returns(
    seed: int, params: tuple[int, int]
) -> None:
    bands, rows = params
    rng = np.random.default_rng(seed)
    sigs = signatures(_sets(rng, 60), num_perm=NUM_PERM, seed=1)
    index = BandIndex(bands=bands)
    index.insert(np.arange(len(sigs)), band_keys(sigs, bands, rows))
    assert index.query(band_keys(sigs, bands, rows)) == _datasketch_candidates(sigs, bands, rows)


def test_signatures_match_datasketch_update_path() -> None:
    features = [np.array([1, 5, 99, 2**31], dtype=np.int64), np.array([7], dtype=np.int64)]
    ours = signatures(features, num_perm=NUM_PERM, seed=1)
    for row, f in zip(ours, features, strict=True):
        m = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=lambda v: v)
        for v in f.tolist():
            m.update(v)
        assert np.array_equal(row, m.hashvalues)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=30), max_size=12))
def test_vectorised_signatures_equal_datasketch_bulk(sets: list[list[int]]) -> None:
    features = [np.unique(np.asarray(s, dtype=np.int64)) for s in sets]
    ours = signatures(features, num_perm=NUM_PERM, seed=1)
    assert np.array_equal(ours, signatures_datasketch(features, num_perm=NUM_PERM, seed=1))
    for row, f in zip(ours, features, strict=True):
        assert (row == EMPTY).all() == (len(f) == 0)


def test_lsh_finds_pairs_above_threshold_and_few_far_below() -> None:
    bands, rows = lsh_params(0.2, NUM_PERM)
    rng = np.random.default_rng(3)
    sets = _sets(rng, 200)
    sigs = signatures(sets, num_perm=NUM_PERM, seed=1)
    index = BandIndex(bands=bands)
    index.insert(np.arange(len(sigs)), band_keys(sigs, bands, rows))
    found = index.query(band_keys(sigs, bands, rows))
    high = missed = low = low_found = 0
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            inter = len(np.intersect1d(sets[i], sets[j]))
            jac = inter / (len(sets[i]) + len(sets[j]) - inter)
            if jac >= 0.35:
                high += 1
                missed += j not in found[i]
            elif jac < 0.05:
                low += 1
                low_found += j in found[i]
    assert high > 100
    assert missed / high < 0.02
    assert low_found / max(low, 1) < 0.05


def test_band_keys_pack_two_rows_exactly() -> None:
    sigs = np.array([[1, 2, 3, 4]], dtype=np.uint32)
    keys = band_keys(sigs, 2, 2)
    assert keys.tolist() == [[(1 << 32) | 2, (3 << 32) | 4]]


def test_band_index_insert_remove_and_repeated_band_keys() -> None:
    rng = np.random.default_rng(9)
    sets = _sets(rng, 30)
    sigs = signatures(sets + sets[:5], num_perm=NUM_PERM, seed=1)  # 5 exact duplicates
    index = BandIndex(bands=32)
    index.insert(np.arange(len(sigs)), band_keys(sigs, 32, 2))
    assert len(index) == 35
    full = index.memory_bytes()
    found = index.query(band_keys(sigs[:5], 32, 2))
    for k in range(5):
        assert {k, 30 + k} <= found[k]
    index.remove(np.arange(30, 35), band_keys(sigs[30:], 32, 2))
    assert len(index) == 30
    assert all(30 + k not in index.query(band_keys(sigs[:5], 32, 2))[k] for k in range(5))
    index.remove(np.arange(30), band_keys(sigs[:30], 32, 2))
    assert index.query(band_keys(sigs, 32, 2)) == [set() for _ in range(35)]
    assert index.memory_bytes() < full


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([(28, 2), (16, 4)]))
def test_band_join_equals_band_index_candidates(seed: int, params: tuple[int, int]) -> None:
    bands, rows = params
    rng = np.random.default_rng(seed)
    sets = _sets(rng, 50)
    sigs_a = signatures(sets[:25], num_perm=NUM_PERM, seed=1)
    sigs_b = signatures(sets[25:] + sets[:3], num_perm=NUM_PERM, seed=1)
    index = BandIndex(bands=bands)
    index.insert(np.arange(len(sigs_b)), band_keys(sigs_b, bands, rows))
    expected = sorted(
        (i, j) for i, found in enumerate(index.query(band_keys(sigs_a, bands, rows))) for j in found
    )
    got = band_join(band_keys(sigs_a, bands, rows), band_keys(sigs_b, bands, rows))
    assert got == expected


def test_query_bands_counts_agreeing_bands() -> None:
    rng = np.random.default_rng(2)
    sigs = signatures(_sets(rng, 40), num_perm=NUM_PERM, seed=1)
    index = BandIndex(bands=21)
    index.insert(np.arange(40), band_keys(sigs, 21, 3))
    counted = index.query_bands(band_keys(sigs, 21, 3))
    keys = band_keys(sigs, 21, 3)
    for i, found in enumerate(counted):
        assert found[i] == 21  # every band of a signature agrees with itself
        assert set(found) == index.query(band_keys(sigs[i : i + 1], 21, 3))[0]
        for j, n in found.items():
            assert n == int((keys[i] == keys[j]).sum())


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**31),
    st.lists(st.tuples(st.booleans(), st.integers(1, 12)), min_size=1, max_size=25),
    st.integers(1, 30),
)
def test_sorted_index_answers_as_the_dict_index_through_inserts_and_removals(
    seed: int, steps: list[tuple[bool, int]], delta_limit: int
) -> None:
    rng = np.random.default_rng(seed)
    pool = signatures(_sets(rng, 200), num_perm=NUM_PERM, seed=1)
    reference = BandIndex(bands=21)
    compact = SortedBandIndex(bands=21, delta_limit=delta_limit)
    live: list[int] = []
    next_key = 0
    for add, n in steps:
        if add or not live:
            keys = np.arange(next_key, next_key + n)
            next_key += n
            rows = pool[keys % len(pool)]
            reference.insert(keys, band_keys(rows, 21, 3))
            compact.insert(keys, band_keys(rows, 21, 3))
            live += keys.tolist()
        else:
            gone = np.array(sorted(set(rng.choice(live, size=min(n, len(live)), replace=False))))
            reference.remove(gone, band_keys(pool[gone % len(pool)], 21, 3))
            compact.remove(gone, band_keys(pool[gone % len(pool)], 21, 3))
            live = [k for k in live if k not in set(gone.tolist())]
        assert len(compact) == len(reference) == len(live)
        probe = pool[rng.integers(0, len(pool), size=15)]
        assert compact.query_bands(band_keys(probe, 21, 3)) == reference.query_bands(
            band_keys(probe, 21, 3)
        )
    compact.compact()
    probe = pool[:40]
    assert compact.query_bands(band_keys(probe, 21, 3)) == reference.query_bands(
        band_keys(probe, 21, 3)
    )


def test_sorted_index_takes_less_memory_than_the_dict_index() -> None:
    pool = signatures(_sets(np.random.default_rng(4), 2000), num_perm=NUM_PERM, seed=1)
    keys = band_keys(pool, 21, 3)
    reference, compact = BandIndex(bands=21), SortedBandIndex(bands=21, delta_limit=500)
    reference.insert(np.arange(len(pool)), keys)
    compact.insert(np.arange(len(pool)), keys)
    compact.compact()
    # 16 bytes per band per passage in the arrays, against boxed ints in dicts.
    assert compact.memory_bytes() - BandIndex(bands=21).memory_bytes() == 16 * 21 * len(pool)
    assert compact.memory_bytes() * 4 < reference.memory_bytes()


class _WritesDuringMerge:
    """The writer's lock handed to ``SortedBandIndex.merge``, which also runs
    ``between`` once the merge has frozen its delta and before it swaps its arrays in:
    the writes another thread makes while a merge runs."""

    def __init__(self, between: Callable[[], None]) -> None:
        self.lock = threading.Lock()
        self.between = between
        self.entered = 0

    def __enter__(self) -> None:
        if self.entered == 1:  # the second time: the swap
            self.between()
        self.entered += 1
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 60), st.integers(1, 60), st.integers(0, 30))
def test_writes_made_while_a_merge_runs_are_neither_lost_nor_resurrected(
    seed: int, before: int, during: int, removed: int
) -> None:
    rng = np.random.default_rng(seed)
    pool = signatures(_sets(rng, 200), num_perm=NUM_PERM, seed=1)
    reference = BandIndex(bands=21)
    compact = SortedBandIndex(bands=21, delta_limit=None)

    def add(keys: np.ndarray) -> None:
        rows = band_keys(pool[keys % len(pool)], 21, 3)
        reference.insert(keys, rows)
        compact.insert(keys, rows)

    def drop(keys: np.ndarray) -> None:
        rows = band_keys(pool[keys % len(pool)], 21, 3)
        reference.remove(keys, rows)
        compact.remove(keys, rows)

    add(np.arange(0, 40))
    compact.merge()  # some passages in the arrays already
    add(np.arange(40, 40 + before))
    early = np.arange(0, min(removed, 40), 3)
    drop(early)

    def meanwhile() -> None:  # inserts, and removals from the arrays, the frozen and the new delta
        add(np.arange(1000, 1000 + during))
        drop(np.setdiff1d(np.arange(1, 40 + before, 5), early))
        drop(np.arange(1000, 1000 + during, 4))
        probe = pool[rng.integers(0, len(pool), size=15)]
        bk = band_keys(probe, 21, 3)
        assert compact.query_bands(bk) == reference.query_bands(bk)  # mid-merge reads

    compact.merge(writer=_WritesDuringMerge(meanwhile))
    probe = pool[:60]
    assert compact.query_bands(band_keys(probe, 21, 3)) == reference.query_bands(
        band_keys(probe, 21, 3)
    )
    assert len(compact) == len(reference)
    compact.compact()
    assert compact.pending == 0
    assert compact.query_bands(band_keys(probe, 21, 3)) == reference.query_bands(
        band_keys(probe, 21, 3)
    )
