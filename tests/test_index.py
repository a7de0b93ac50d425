"""The band indexes must agree with datasketch's MinHashLSH, and LSH with exact Jaccard."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

import wiretrace._core as _core
from wiretrace.engine.index import band_keys, lsh_params
from wiretrace.engine.signature import (
    EMPTY,
    distinct_indexable_rows,
    indexable_rows,
    permutations,
    signatures,
)
from wiretrace.store.band_index import PassageIndex
from wiretrace.store.base import UNIT_BITS

NUM_PERM = 64


def _identity(value: int) -> int:
    return value


def _datasketch_bulk(features: list[np.ndarray], *, num_perm: int, seed: int) -> np.ndarray:
    """The reference: datasketch's ``MinHash.bulk`` with the identity hash."""
    template = MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)
    out = np.empty((len(features), num_perm), dtype=np.uint32)
    minhashes = MinHash.bulk(
        (f.tolist() for f in features),
        num_perm=num_perm,
        seed=seed,
        hashfunc=_identity,
        permutations=template.permutations,
        scheme=template.scheme,
    )
    for row, m in enumerate(minhashes):
        out[row] = m.hashvalues
    return out


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _numpy_band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """The band keys as the engine computed them in numpy before the compiled core
    (stored data depends on them): packed rows up to 2, a multiplicative mix beyond."""
    n = sigs.shape[0]
    banded = sigs[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    if rows == 1:
        return banded[:, :, 0]
    if rows == 2:
        return (banded[:, :, 0] << np.uint64(32)) | banded[:, :, 1]
    key = banded[:, :, 0].copy()
    with np.errstate(over="ignore"):
        for r in range(1, rows):
            key = (key * _MIX) ^ (key >> np.uint64(29)) ^ banded[:, :, r]
    return key


def _index(sigs: np.ndarray, bands: int, rows: int, delta_limit: int = 50_000) -> PassageIndex:
    index = PassageIndex(bands=bands, num_perm=sigs.shape[1], delta_limit=delta_limit)
    index.insert(np.arange(len(sigs)), band_keys(sigs, bands, rows), sigs)
    return index


def _brute(
    stored: dict[int, np.ndarray], query: np.ndarray, *, max_bucket: int | None = None
) -> list[dict[int, int]]:
    """Slow, obviously-correct lookup: every stored passage's band keys compared with
    every query row's; a band key held by more than ``max_bucket`` passages is skipped."""
    out = []
    for row in query:
        found: dict[int, int] = {}
        for b, key in enumerate(row.tolist()):
            holders = [k for k, bk in stored.items() if int(bk[b]) == key]
            if max_bucket is not None and len(holders) > max_bucket:
                continue
            for k in holders:
                found[k] = found.get(k, 0) + 1
        out.append(found)
    return out


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
    expected = _datasketch_candidates(sigs, bands, rows)
    assert _index(sigs, bands, rows).query(band_keys(sigs, bands, rows)) == expected
    # Through the delta and merges too.
    merged = _index(sigs[:0], bands, rows, delta_limit=7)
    for start in range(0, len(sigs), 5):
        part = sigs[start : start + 5]
        merged.insert(np.arange(start, start + len(part)), band_keys(part, bands, rows), part)
    assert merged.query(band_keys(sigs, bands, rows)) == expected


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([(64, 1), (32, 2), (21, 3), (16, 4), (12, 5)]))
def test_band_keys_are_bit_identical_to_the_numpy_keys(seed: int, params: tuple[int, int]) -> None:
    bands, rows = params
    sigs = np.random.default_rng(seed).integers(0, 2**32, size=(30, NUM_PERM), dtype=np.uint32)
    assert np.array_equal(band_keys(sigs, bands, rows), _numpy_band_keys(sigs, bands, rows))


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
    assert np.array_equal(ours, _datasketch_bulk(features, num_perm=NUM_PERM, seed=1))
    for row, f in zip(ours, features, strict=True):
        assert (row == EMPTY).all() == (len(f) == 0)


def test_signatures_take_datasketch_permutations_for_any_width_and_seed() -> None:
    features = _sets(np.random.default_rng(5), 20)
    for num_perm, seed in [(16, 3), (128, 7), (1024, 1)]:
        ours = signatures(features, num_perm=num_perm, seed=seed)
        assert np.array_equal(ours, _datasketch_bulk(features, num_perm=num_perm, seed=seed))
    a, b = permutations(16, 3)
    assert a.dtype == b.dtype == np.uint32
    assert len(a) == len(b) == 16


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=30))
def test_distinct_indexable_rows_equal_numpy_unique(picks: list[int]) -> None:
    pool = signatures(
        [np.zeros(0, dtype=np.int64), *_sets(np.random.default_rng(6), 5)], num_perm=16, seed=1
    )
    sigs = pool[np.asarray(picks, dtype=np.int64)]  # row 0 of the pool is the empty set
    rows = indexable_rows(sigs)
    if len(rows):
        rows = rows[np.sort(np.unique(sigs[rows], axis=0, return_index=True)[1])]
    assert distinct_indexable_rows(sigs).tolist() == rows.tolist()


def test_signatures_of_no_sets_and_of_empty_sets() -> None:
    assert signatures([], num_perm=NUM_PERM, seed=1).shape == (0, NUM_PERM)
    empty = signatures([np.zeros(0, dtype=np.int64)] * 3, num_perm=NUM_PERM, seed=1)
    assert empty.shape == (3, NUM_PERM)
    assert (empty == EMPTY).all()


def test_lsh_finds_pairs_above_threshold_and_few_far_below() -> None:
    bands, rows = lsh_params(0.2, NUM_PERM)
    rng = np.random.default_rng(3)
    sets = _sets(rng, 200)
    sigs = signatures(sets, num_perm=NUM_PERM, seed=1)
    found = _index(sigs, bands, rows).query(band_keys(sigs, bands, rows))
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
    index = _index(sigs, 32, 2)
    assert len(index) == 35
    full = index.memory_bytes()
    found = index.query(band_keys(sigs[:5], 32, 2))
    for k in range(5):
        assert {k, 30 + k} <= found[k]
    assert index.remove(np.arange(30, 35), band_keys(sigs[30:], 32, 2)) == 5
    assert index.remove(np.arange(30, 35), band_keys(sigs[30:], 32, 2)) == 0  # gone already
    assert len(index) == 30
    assert all(30 + k not in index.query(band_keys(sigs[:5], 32, 2))[k] for k in range(5))
    index.remove(np.arange(30), band_keys(sigs[:30], 32, 2))
    assert index.query(band_keys(sigs, 32, 2)) == [set() for _ in range(35)]
    index.compact()
    assert index.memory_bytes() < full


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([(28, 2), (16, 4)]))
def test_band_join_equals_band_index_candidates(seed: int, params: tuple[int, int]) -> None:
    bands, rows = params
    rng = np.random.default_rng(seed)
    sets = _sets(rng, 50)
    sigs_a = signatures(sets[:25], num_perm=NUM_PERM, seed=1)
    sigs_b = signatures(sets[25:] + sets[:3], num_perm=NUM_PERM, seed=1)
    index = _index(sigs_b, bands, rows)
    expected = sorted(
        (i, j) for i, found in enumerate(index.query(band_keys(sigs_a, bands, rows))) for j in found
    )
    # The compiled band join that seeds every comparison.
    got, proposed, complete = _core.band_join(
        band_keys(sigs_a, bands, rows).tobytes(), band_keys(sigs_b, bands, rows).tobytes(), bands
    )
    assert got == expected
    assert complete
    assert proposed >= len(expected)


def test_lookup_counts_agreeing_bands_and_sketch_slots() -> None:
    rng = np.random.default_rng(2)
    sigs = signatures(_sets(rng, 40), num_perm=NUM_PERM, seed=1)
    index = _index(sigs, 21, 3)
    keys = band_keys(sigs, 21, 3)
    lookup = index.lookup(keys, sigs)
    assert lookup.agree is not None
    assert lookup.capped == [0] * 40
    for i, found in enumerate(lookup.found):
        assert found[i] == 21  # every band of a signature agrees with itself
        assert set(found) == index.query(keys[i : i + 1])[0]
        for j, n in found.items():
            assert n == int((keys[i] == keys[j]).sum())
            # The sketch keeps 16 bits a slot: it agrees wherever the signatures do,
            # and elsewhere only where those 16 bits happen to agree.
            same = sigs[i] == sigs[j]
            low = (sigs[i] & 0xFFFF) == (sigs[j] & 0xFFFF)
            assert lookup.agree[i][j] == int(low.sum()) >= int(same.sum())
    assert index.lookup(keys).agree is None


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**31),
    st.lists(st.tuples(st.booleans(), st.integers(1, 12)), min_size=1, max_size=25),
    st.integers(1, 30),
    st.sampled_from([None, 1, 3]),
)
def test_index_answers_as_brute_force_through_inserts_removals_and_merges(
    seed: int, steps: list[tuple[bool, int]], delta_limit: int, max_bucket: int | None
) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct sets: band keys repeat, so buckets hold several passages.
    pool = signatures(_sets(rng, 30), num_perm=NUM_PERM, seed=1)
    index = PassageIndex(bands=21, num_perm=NUM_PERM, delta_limit=delta_limit)
    stored: dict[int, np.ndarray] = {}
    next_key = 0
    for add, n in steps:
        if add or not stored:
            keys = np.arange(next_key, next_key + n)
            next_key += n
            rows = pool[keys % len(pool)]
            index.insert(keys, band_keys(rows, 21, 3), rows)
            stored.update(zip(keys.tolist(), band_keys(rows, 21, 3), strict=True))
        else:
            live = sorted(stored)
            gone = np.array(sorted(set(rng.choice(live, size=min(n, len(live)), replace=False))))
            assert index.remove(gone, band_keys(pool[gone % len(pool)], 21, 3)) == len(gone)
            for k in gone.tolist():
                del stored[k]
        assert len(index) == len(stored)
        probe = band_keys(pool[rng.integers(0, len(pool), size=8)], 21, 3)
        got = index.lookup(probe, max_bucket=max_bucket).found
        if max_bucket is None:  # removed passages still count towards a bucket's size
            assert got == _brute(stored, probe)  # until the next merge drops them
    index.compact()
    probe = band_keys(pool, 21, 3)
    assert index.lookup(probe, max_bucket=max_bucket).found == _brute(
        stored, probe, max_bucket=max_bucket
    )


_Op = tuple[str, int]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31),
    st.integers(0, 30),
    st.lists(
        st.lists(
            st.tuples(st.sampled_from(["add", "drop", "look"]), st.integers(1, 8)), max_size=8
        ),
        min_size=3,
        max_size=3,
    ),
    st.booleans(),
)
def test_writes_made_while_a_merge_runs_are_neither_lost_nor_resurrected(
    seed: int, merged_first: int, phases: list[list[_Op]], with_signatures: bool
) -> None:
    """Inserts, removals and lookups before a merge begins, while its delta is frozen
    and while the merged arrays wait to be swapped in, against a brute-force model."""
    rng = np.random.default_rng(seed)
    pool = signatures(_sets(rng, 25), num_perm=NUM_PERM, seed=1)
    index = PassageIndex(bands=21, num_perm=NUM_PERM, delta_limit=10_000, merge_inline=False)
    stored: dict[int, np.ndarray] = {}
    next_key = 0

    def add(n: int) -> None:
        nonlocal next_key
        keys = np.arange(next_key, next_key + n)
        next_key += n
        rows = pool[keys % len(pool)]
        index.insert(keys, band_keys(rows, 21, 3), rows)
        stored.update(zip(keys.tolist(), band_keys(rows, 21, 3), strict=True))

    def drop(n: int) -> None:
        # Live passages and some already removed (or never stored): those change nothing.
        picks = sorted(set(rng.integers(0, next_key + 3, size=n).tolist()))
        gone = np.array(picks, dtype=np.int64)
        expected = sum(1 for k in picks if k in stored)
        assert index.remove(gone, band_keys(pool[gone % len(pool)], 21, 3)) == expected
        for k in picks:
            stored.pop(k, None)

    def look() -> None:
        assert len(index) == len(stored)
        rows = pool[rng.integers(0, len(pool), size=6)]
        probe = band_keys(rows, 21, 3)
        got = index.lookup(probe, rows if with_signatures else None)
        assert got.found == _brute(stored, probe)
        if with_signatures:
            assert got.agree is not None
            for i, agree in enumerate(got.agree):
                for k, n in agree.items():
                    low = (pool[k % len(pool)] & 0xFFFF) == (rows[i] & 0xFFFF)
                    assert n == int(low.sum())

    def play(ops: list[_Op]) -> None:
        for op, n in ops:
            if op == "add":
                add(n)
            elif op == "drop":
                drop(n)
            else:
                look()
        look()

    add(merged_first)
    index.compact()  # some passages in the sorted arrays already (or none)
    play(phases[0])
    if not index.begin_merge():
        assert index.pending == 0
        return
    play(phases[1])  # the delta is frozen; new passages go to a fresh one
    index.run_merge()
    play(phases[2])  # the merged arrays are built, not yet swapped in
    index.finish_merge()
    look()
    index.compact()
    assert index.pending == 0
    look()


def test_a_merge_on_another_thread_lets_lookups_and_writes_go_on() -> None:
    """Threads write and read while another merges, with no lock of the index held
    while the merged arrays are built; the result equals the model."""
    rng = np.random.default_rng(5)
    pool = signatures(_sets(rng, 40), num_perm=NUM_PERM, seed=1)
    index = PassageIndex(bands=21, num_perm=NUM_PERM, delta_limit=1_000_000, merge_inline=False)
    keys = np.arange(60_000)
    index.insert(keys, band_keys(pool[keys % 40], 21, 3), pool[keys % 40])
    index.compact()
    stored = dict(zip(keys.tolist(), band_keys(pool[keys % 40], 21, 3), strict=True))
    more = np.arange(60_000, 120_000)
    index.insert(more, band_keys(pool[more % 40], 21, 3), pool[more % 40])
    stored.update(zip(more.tolist(), band_keys(pool[more % 40], 21, 3), strict=True))
    assert index.begin_merge()
    merger = threading.Thread(target=index.run_merge)
    merger.start()
    late = np.arange(200_000, 200_050)
    index.insert(late, band_keys(pool[late % 40], 21, 3), pool[late % 40])
    stored.update(zip(late.tolist(), band_keys(pool[late % 40], 21, 3), strict=True))
    gone = np.array([0, 7, 60_001, 200_003])
    assert index.remove(gone, band_keys(pool[gone % 40], 21, 3)) == 4
    for k in gone.tolist():
        del stored[k]
    answers = [index.lookup(band_keys(pool[:3], 21, 3)).found for _ in range(3)]
    merger.join()
    index.finish_merge()
    expected = _brute(stored, band_keys(pool[:3], 21, 3))
    assert all(a == expected for a in answers)
    assert index.lookup(band_keys(pool[:3], 21, 3)).found == expected
    assert len(index) == len(stored)


def test_merge_steps_out_of_order_are_errors() -> None:
    index = PassageIndex(bands=21, num_perm=NUM_PERM, merge_inline=False)
    with pytest.raises(RuntimeError, match="without begin_merge"):
        index.run_merge()
    with pytest.raises(RuntimeError, match="without run_merge"):
        index.finish_merge()
    assert not index.begin_merge()  # nothing to merge
    pool = signatures(_sets(np.random.default_rng(2), 3), num_perm=NUM_PERM, seed=1)
    index.insert(np.arange(3), band_keys(pool, 21, 3), pool)
    assert index.begin_merge()
    with pytest.raises(RuntimeError, match="under way"):
        index.begin_merge()
    with pytest.raises(RuntimeError, match="under way"):
        index.compact()
    index.run_merge()
    index.finish_merge()
    assert index.pending == 0


def test_the_cap_leaves_out_buckets_over_it_and_counts_them() -> None:
    pool = signatures(_sets(np.random.default_rng(8), 5), num_perm=NUM_PERM, seed=1)
    rows = np.concatenate([np.repeat(pool[:1], 4, axis=0), pool[1:]])  # 4 copies of one
    index = _index(rows, 21, 3)
    stored = dict(enumerate(band_keys(rows, 21, 3)))
    query = band_keys(pool[:1], 21, 3)
    sizes = (band_keys(rows, 21, 3) == query).sum(axis=0)
    for cap in (3, 4, 5):
        lookup = index.lookup(query, max_bucket=cap)
        assert lookup.capped == [int((sizes > cap).sum())]
        assert lookup.found == _brute(stored, query, max_bucket=cap)
    assert index.lookup(query, max_bucket=3).found == [{}]  # every band holds the 4 copies


def test_ranked_merges_a_bulk_load_first_and_answers_as_after_compact() -> None:
    # Passages of 40 articles, 4 each, keyed as the store keys them; the query rows
    # are some of them, so that ranked candidates exist.
    pool = signatures(_sets(np.random.default_rng(12), 160), num_perm=NUM_PERM, seed=1)
    keys = np.array([(i // 4) << UNIT_BITS | (i % 4) for i in range(len(pool))])
    bands = band_keys(pool, 21, 3)
    query = slice(8, 20)
    answers = []
    for compact_first in (True, False):
        index = PassageIndex(bands=21, num_perm=NUM_PERM, delta_limit=100)
        index.insert(keys, bands, pool)  # a bulk load: held for one merge
        if compact_first:
            index.compact()
        (answer,) = index.ranked(
            [bands[query]], [pool[query]], max_bucket=None, min_jaccard=0.5, exclude_keys=[3]
        )
        answers.append(answer)
        assert index.pending == 0
    assert answers[0] == answers[1]
    assert answers[0].keys[:2] == [2, 4]  # the query's own rows, article 3 excluded


def test_index_and_sketch_take_under_400_bytes_a_passage() -> None:
    pool = signatures(_sets(np.random.default_rng(4), 2000), num_perm=NUM_PERM, seed=1)
    index = PassageIndex(bands=21, num_perm=NUM_PERM, delta_limit=500)
    index.insert(np.arange(len(pool)), band_keys(pool, 21, 3), pool)
    index.compact()
    # Sorted band keys (8 B) and slots (4 B) per band; the passage key (8 B); a
    # 16-bit sketch of each signature slot: 388 B with the defaults. The directory
    # of each band adds 4 B per 8 to 16 entries (and one).
    arrays = (12 * 21 + 8 + 2 * NUM_PERM) * len(pool)
    assert arrays < index.memory_bytes() <= arrays + 21 * (4 * (len(pool) // 8) + 4)


def test_bad_shapes_are_clear_errors() -> None:
    index = PassageIndex(bands=21, num_perm=NUM_PERM)
    sigs = np.zeros((2, NUM_PERM), dtype=np.uint32)
    with pytest.raises(ValueError, match=r"shape \(n, 21\)"):
        index.insert(np.arange(2), np.zeros((2, 20), dtype=np.uint64), sigs)
    with pytest.raises(ValueError, match="signatures must have shape"):
        index.insert(np.arange(2), np.zeros((2, 21), dtype=np.uint64), sigs[:1])
    with pytest.raises(ValueError, match="band keys must have shape"):
        index.insert(np.arange(3), np.zeros((2, 21), dtype=np.uint64), sigs)
    with pytest.raises(ValueError, match="bands must be >= 1"):
        PassageIndex(bands=0, num_perm=NUM_PERM)
    with pytest.raises(ValueError, match="fit in the"):
        band_keys(sigs, 22, 3)


def test_a_panic_in_the_core_is_a_runtime_error_naming_the_call() -> None:
    with pytest.raises(RuntimeError, match=r"core bug in _panic_for_tests: boom \(this is not"):
        _core._panic_for_tests("boom")
    # The process and the core carry on.
    assert signatures([np.array([1], dtype=np.int64)], num_perm=16, seed=1).shape == (1, 16)
