"""``index.index_passages``, the core's one call for an article's indexed passages, is
the two steps it replaced: ``signature.distinct_indexable_rows``, then ``band_keys`` of
those rows, on signatures with repeated rows and empty sets' rows."""

from __future__ import annotations

import numpy as np
import pytest

from wiretrace.engine.index import band_keys, index_passages
from wiretrace.engine.signature import EMPTY, distinct_indexable_rows


def _signatures(seed: int, n: int, num_perm: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32, size=(n, num_perm), dtype=np.uint32)
    if n:
        sigs[rng.integers(0, n, size=n // 3)] = EMPTY  # units without content terms
        copies = rng.integers(0, n, size=n // 2)
        sigs[copies] = sigs[rng.integers(0, n, size=len(copies))]  # repeated units
    return sigs


@pytest.mark.parametrize(("bands", "rows"), [(16, 8), (32, 4), (64, 2), (128, 1), (5, 3)])
@pytest.mark.parametrize("n", [0, 1, 7, 200])
def test_index_passages_equal_the_two_steps(bands: int, rows: int, n: int) -> None:
    for seed in range(3):
        sigs = _signatures(seed, n, 128)
        units, keys = index_passages(sigs, bands, rows)
        expected = distinct_indexable_rows(sigs)
        assert units.dtype == np.int64
        assert keys.dtype == np.uint64
        assert np.array_equal(units, expected)
        assert keys.shape == (len(expected), bands)
        assert np.array_equal(keys, band_keys(sigs[expected], bands, rows))


def test_index_passages_refuse_a_banding_that_does_not_fit() -> None:
    with pytest.raises(ValueError, match="must be >= 1 and fit"):
        index_passages(_signatures(0, 4, 8), 3, 3)
