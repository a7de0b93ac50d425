"""A compact banded LSH index: one sorted array pair per band, plus a small dict delta.

``BandIndex`` keeps a Python dict per band: fast to update, but ~2 KB per passage
(boxed ints, dict slots). Here the bulk of the passages live in numpy: per band, the
band keys sorted (``uint64``) beside the passage keys (``int64``), 16 bytes per band per
passage, found with ``searchsorted``. New passages go to a ``BandIndex`` delta, merged
into the arrays (a linear ``np.insert``, not a re-sort) once it holds ``delta_limit``
passages. Removed passages still in the arrays are tombstoned and dropped at the next
merge; passage keys are never reused, so a tombstone cannot hide a newer passage.

Same answers as ``BandIndex`` (``tests/test_index.py``). One writer at a time (the
store's lock); readers run concurrently and see the arrays, delta and tombstones of one
state, swapped whole by a merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from wiretrace.engine.index import BandIndex, band_keys

__all__ = ["SortedBandIndex"]

DEFAULT_DELTA_LIMIT = 50_000


@dataclass
class _State:
    keys: list[npt.NDArray[np.uint64]]  # per band, sorted band keys
    values: list[npt.NDArray[np.int64]]  # per band, the passage key of each
    delta: BandIndex
    pending_keys: list[npt.NDArray[np.int64]] = field(default_factory=list)
    pending_bands: list[npt.NDArray[np.uint64]] = field(default_factory=list)
    pending: int = 0
    dead: set[int] = field(default_factory=set)


class SortedBandIndex:
    def __init__(self, *, bands: int, rows: int, delta_limit: int = DEFAULT_DELTA_LIMIT) -> None:
        if bands < 1 or rows < 1:
            raise ValueError(f"bands and rows must be >= 1, got {bands} and {rows}")
        self.bands = bands
        self.rows = rows
        self.delta_limit = delta_limit
        self._state = _State(
            keys=[np.zeros(0, dtype=np.uint64)] * bands,
            values=[np.zeros(0, dtype=np.int64)] * bands,
            delta=BandIndex(bands=bands, rows=rows),
        )
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def insert(self, keys: npt.ArrayLike, sigs: npt.NDArray[np.uint32]) -> None:
        """Index ``sigs[k]`` under ``keys[k]``."""
        passages = np.asarray(keys, dtype=np.int64)
        if not len(passages):
            return
        bk = band_keys(sigs, self.bands, self.rows)
        state = self._state
        state.pending_keys.append(passages)
        state.pending_bands.append(bk)
        state.pending += len(passages)
        self._count += len(passages)
        if state.pending >= self.delta_limit:
            self._merge()
        else:
            state.delta.insert_band_keys(passages, bk)

    def remove(self, keys: npt.ArrayLike, sigs: npt.NDArray[np.uint32]) -> None:
        """Forget ``keys``, indexed earlier with these same ``sigs``."""
        passages = np.asarray(keys, dtype=np.int64)
        state = self._state
        state.delta.remove_band_keys(passages, band_keys(sigs, self.bands, self.rows))
        state.dead.update(passages.tolist())
        self._count -= len(passages)

    def _merge(self) -> None:
        """Fold the pending passages into the arrays and drop the tombstoned ones."""
        old = self._state
        new_keys = np.concatenate([np.zeros(0, dtype=np.int64), *old.pending_keys])
        new_bands = np.concatenate([np.zeros((0, self.bands), dtype=np.uint64), *old.pending_bands])
        dead = np.fromiter(old.dead, dtype=np.int64, count=len(old.dead))
        if len(dead):
            alive = ~np.isin(new_keys, dead)
            new_keys, new_bands = new_keys[alive], new_bands[alive]
        keys, values = [], []
        for b in range(self.bands):
            k, v = old.keys[b], old.values[b]
            if len(dead):
                alive = ~np.isin(v, dead)
                k, v = k[alive], v[alive]
            order = np.argsort(new_bands[:, b], kind="stable")
            add_k, add_v = new_bands[order, b], new_keys[order]
            at = np.searchsorted(k, add_k, side="right")
            keys.append(np.insert(k, at, add_k))
            values.append(np.insert(v, at, add_v))
        self._state = _State(
            keys=keys, values=values, delta=BandIndex(bands=self.bands, rows=self.rows)
        )

    def compact(self) -> None:
        """Merge now (after a bulk load, or to free tombstoned entries)."""
        if self._state.pending or self._state.dead:
            self._merge()

    def memory_bytes(self) -> int:
        state = self._state
        arrays = sum(k.nbytes + v.nbytes for k, v in zip(state.keys, state.values, strict=True))
        pending = sum(k.nbytes for k in state.pending_keys) + sum(
            b.nbytes for b in state.pending_bands
        )
        return arrays + pending + state.delta.memory_bytes() + 64 * len(state.dead)

    def query_bands(self, sigs: npt.NDArray[np.uint32]) -> list[dict[int, int]]:
        """For each signature, the keys sharing at least one band with it and how many
        bands they share."""
        state = self._state
        bk = band_keys(sigs, self.bands, self.rows)
        out = state.delta.query_band_keys(bk)
        for b in range(self.bands):
            keys = state.keys[b]
            if not len(keys):
                continue
            column = bk[:, b]
            # Most lookups miss: search once, and bound the run of equal keys only for
            # the hits (each search is ~20 cache misses on a large band).
            lo = np.searchsorted(keys, column, side="left")
            hit = np.flatnonzero(keys[np.minimum(lo, len(keys) - 1)] == column)
            if not len(hit):
                continue
            hi = np.searchsorted(keys, column[hit], side="right")
            values = state.values[b]
            for i, start, end in zip(hit.tolist(), lo[hit].tolist(), hi.tolist(), strict=True):
                found = out[i]
                for passage in values[start:end].tolist():
                    found[passage] = found.get(passage, 0) + 1
        if state.dead:
            dead = state.dead
            out = [{k: n for k, n in found.items() if k not in dead} for found in out]
        return out

    def query(self, sigs: npt.NDArray[np.uint32]) -> list[set[int]]:
        """For each signature, the keys sharing at least one band with it."""
        return [set(found) for found in self.query_bands(sigs)]
