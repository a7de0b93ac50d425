"""The embedded store ranks candidate articles in its index, in the compiled core
(``PassageIndex.query_ranked``, ``_core.rank_hits``): exactly the candidates, in the
same order, that numpy's ``rank_candidates`` gives for the same hits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wiretrace._core as _core
from wiretrace.domain.candidates import index_spec, rank_candidates
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector
from wiretrace.store import UNIT_BITS, Hits, Passages
from wiretrace.store.sqlite import SqliteStore
from wiretrace_bench.synthetic import generate

from .helpers import stored_row

CONFIG = EngineConfig()
SPEC = index_spec(CONFIG)


def _unread(keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
    raise AssertionError("sketched hits never read stored signatures")


def _numpy(
    hits: Hits, rows: int, num_perm: int, min_jaccard: float, exclude: int | None
) -> list[int]:
    """numpy's ranking of ``hits`` (``rows`` query rows, signatures ``num_perm``
    wide); only the signatures' width and the rows' count are read."""
    signatures = np.zeros((rows, num_perm), dtype=np.uint32)
    passages = Passages(np.arange(rows, dtype=np.int64), np.zeros((rows, 1), dtype=np.uint64))
    return rank_candidates(
        signatures, passages, hits, _unread, min_jaccard=min_jaccard, exclude_key=exclude
    )


def _core_rank(
    hits: Hits, num_perm: int, min_jaccard: float, exclude: int | None, unit_bits: int = UNIT_BITS
) -> list[int]:
    assert hits.agree is not None
    ranked = _core.rank_hits(
        hits.passages,
        hits.bands.astype(np.uint32),
        hits.agree.astype(np.uint32),
        num_perm=num_perm,
        min_jaccard=min_jaccard,
        exclude_key=exclude,
        unit_bits=unit_bits,
    )
    return [int(k) for k in ranked]


def _hits(rows: list[list[tuple[int, int, int, int]]]) -> Hits:
    """Flat hits from per-row ``(article, unit, bands, agree)``."""
    flat = [h for row in rows for h in row]
    return Hits(
        np.array([len(r) for r in rows], dtype=np.int64),
        np.array([(a << UNIT_BITS) | u for a, u, _, _ in flat], dtype=np.int64),
        np.array([b for _, _, b, _ in flat], dtype=np.int64),
        np.array([g for _, _, _, g in flat], dtype=np.int64),
        [0] * len(rows),
    )


def test_hand_made_hits_rank_alike_ties_by_key_exclusions_and_empty() -> None:
    # 16 slots at 0.5: 8 agreeing slots look alike.
    hits = _hits(
        [
            [(7, 0, 3, 8), (5, 0, 3, 8), (9, 1, 2, 15)],  # 7 and 5 tie on best and total
            [(9, 2, 3, 0), (4, 0, 4, 7), (6, 3, 1, 16)],  # 4: strongest bands, never alike
            [(5, 1, 1, 2), (7, 1, 1, 16), (3, 0, 3, 8)],
        ]
    )
    cases = 0
    for exclude in (None, 5, 7, 9, 1234):
        for threshold in (0.0, 0.45, 0.5, 0.51, 1.0):
            want = _numpy(hits, 3, 16, threshold, exclude)
            assert _core_rank(hits, 16, threshold, exclude) == want
            cases += bool(want)
    assert cases > 10
    # By the definition: best 3 for 3, 5, 7 and 9; totals 3, 4, 4 and 5; then key.
    assert _core_rank(hits, 16, 0.5, None) == [9, 5, 7, 3, 6]
    empty = _hits([[], []])
    assert _core_rank(empty, 16, 0.5, None) == _numpy(empty, 2, 16, 0.5, None) == []
    weak = _hits([[(1, 0, 4, 7)]])
    assert _core_rank(weak, 16, 0.5, None) == _numpy(weak, 1, 16, 0.5, None) == []


def test_bad_arguments_are_clear_errors() -> None:
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="equally long"):
        _core.rank_hits(
            one,
            np.zeros(2, dtype=np.uint32),
            np.zeros(1, dtype=np.uint32),
            num_perm=8,
            min_jaccard=0.5,
            exclude_key=None,
            unit_bits=UNIT_BITS,
        )
    hits = _hits([[(1, 0, 1, 1)]])
    with pytest.raises(ValueError, match="unit_bits"):
        _core_rank(hits, 8, 0.5, None, unit_bits=63)


_hit = st.tuples(
    st.integers(0, 12),  # article: few, so that they collide
    st.integers(0, 3),  # unit
    st.integers(1, 32),  # bands shared
    st.integers(0, 128),  # slots agreeing
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_hit, max_size=12), max_size=8),
    st.sampled_from([0.0, 0.3, 0.5, 0.6, 0.7, 1.0]),
    st.sampled_from([64, 128]),
    st.one_of(st.none(), st.integers(0, 13)),
)
def test_generated_hits_rank_as_numpy_ranks_them(
    rows: list[list[tuple[int, int, int, int]]],
    threshold: float,
    num_perm: int,
    exclude: int | None,
) -> None:
    hits = _hits(rows)
    assert _core_rank(hits, num_perm, threshold, exclude) == _numpy(
        hits, len(rows), num_perm, threshold, exclude
    )


def test_the_stores_ranking_is_numpys_over_its_hits(tmp_path: Path, detector: Detector) -> None:
    store = SqliteStore(tmp_path / "r.db", SPEC)
    try:
        articles, _ = generate(80, seed=17)
        rows = [stored_row(a.id, a.text, detector) for a in articles]
        keys = store.insert_many(rows)
        ranked = capped = 0
        bands = [row.passages.band_keys for row in rows]
        sigs = [row.signatures[row.passages.units] for row in rows]
        for cap in (None, 3, 1):
            for threshold in (CONFIG.candidate_threshold, 0.9):
                # Every article in one call, each with its own key left out or not.
                excluded = [key if i % 2 else None for i, key in enumerate(keys)]
                got = store.ranked(
                    bands, sigs, max_bucket=cap, min_jaccard=threshold, exclude_keys=excluded
                )
                assert got is not None
                assert len(got) == len(rows)
                for row, b, s, exclude, one in zip(rows, bands, sigs, excluded, got, strict=True):
                    hits = Hits.of(store.lookup_sketched(b, s, max_bucket=cap))
                    assert one.capped == hits.capped
                    want = rank_candidates(
                        row.signatures,
                        row.passages,
                        hits,
                        store.signatures_many,
                        min_jaccard=threshold,
                        exclude_key=exclude,
                    )
                    assert one.keys == want
                    ranked += len(want) > 1
                    capped += any(one.capped)
        assert ranked > 20
        assert capped > 20
    finally:
        store.close()
