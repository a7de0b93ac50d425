"""The embedded store's in-memory passage index, over band keys computed by the engine.

``BandIndex`` keeps a Python dict per band: fast to update, but ~2 KB per passage
(boxed ints, dict slots). ``SortedBandIndex`` keeps the bulk of the passages in numpy:
per band, the band keys sorted (``uint64``) beside the passage keys (``int64``), 16
bytes per band per passage, found with ``searchsorted``. New passages go to a
``BandIndex`` delta, merged into the arrays (a linear ``np.insert``, not a re-sort)
once it holds ``delta_limit`` passages, or, with ``delta_limit=None``, whenever its
owner calls ``merge`` (from a thread of its own: the long part of a merge runs
without the writer's lock, so writes go on into a fresh delta meanwhile). Removed
passages still in the arrays are tombstoned and dropped at the next merge; passage
keys are never reused, so a tombstone cannot hide a newer passage.

Both answer as datasketch's ``MinHashLSH`` does (``tests/test_index.py``). One writer
at a time (the store's lock) and one merge at a time; readers of ``SortedBandIndex``
run concurrently and see the arrays, deltas and tombstones of one state, swapped
whole by a merge.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["BandIndex", "SortedBandIndex"]

DEFAULT_DELTA_LIMIT = 50_000

Bucket = int | list[int]
BandKeys = npt.NDArray[np.uint64]


def _check_bands(bands: int) -> None:
    if bands < 1:
        raise ValueError(f"bands must be >= 1, got {bands}")


def _check_shape(bands: int, keys: BandKeys) -> None:
    if keys.ndim != 2 or keys.shape[1] != bands:
        raise ValueError(f"band keys must have shape (n, {bands}), got {keys.shape}")


class BandIndex:
    """An in-memory banded LSH index from integer passage keys to band keys.

    One dict per band maps a band key to the passage key holding it, or to a list of
    them when several do (most band keys are held once, so most values are plain ints).
    Inserts go through dict-level bulk operations; only colliding band keys are touched
    one by one.
    """

    def __init__(self, *, bands: int) -> None:
        _check_bands(bands)
        self.bands = bands
        self._tables: list[dict[int, Bucket]] = [{} for _ in range(bands)]
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def insert(self, keys: npt.ArrayLike, bands: BandKeys) -> None:
        """Index passages ``keys`` by their band keys ``bands`` (``(n, bands)``)."""
        _check_shape(self.bands, bands)
        key_list = np.asarray(keys, dtype=np.int64).tolist()
        if not key_list:
            return
        bk = bands.T.tolist()
        for table, column in zip(self._tables, bk, strict=True):
            fresh = dict(zip(column, key_list, strict=True))
            if len(fresh) < len(key_list):  # the batch itself repeats a band key
                todo: list[tuple[int, int]] = list(zip(column, key_list, strict=True))
                fresh = {}
            else:
                todo = [(h, fresh.pop(h)) for h in fresh.keys() & table.keys()]
            table.update(fresh)  # band keys new to the table: one C-level call
            for h, key in todo:
                bucket = table.get(h)
                if bucket is None:
                    table[h] = key
                elif type(bucket) is int:
                    table[h] = [bucket, key]
                else:
                    bucket.append(key)  # type: ignore[union-attr]
        self._count += len(key_list)

    def remove(self, keys: npt.ArrayLike, bands: BandKeys) -> None:
        """Forget ``keys``, indexed earlier with these same band keys."""
        key_list = np.asarray(keys, dtype=np.int64).tolist()
        bk = bands.T.tolist()
        for table, column in zip(self._tables, bk, strict=True):
            for h, key in zip(column, key_list, strict=True):
                bucket = table.get(h)
                if bucket is None:
                    continue
                if isinstance(bucket, int):
                    if bucket == key:
                        del table[h]
                elif key in bucket:
                    bucket.remove(key)
                    if len(bucket) == 1:
                        table[h] = bucket[0]
        self._count -= len(key_list)

    def memory_bytes(self) -> int:
        """Approximate bytes held by the tables, their buckets and the keys in them."""
        total = 0
        for table in self._tables:
            total += sys.getsizeof(table) + 32 * len(table)  # the band-key ints
            for bucket in table.values():
                if isinstance(bucket, int):
                    total += 32
                else:
                    total += sys.getsizeof(bucket) + 32 * len(bucket)
        return total

    def query_bands(
        self, bands: BandKeys, *, max_bucket: int | None = None, capped: list[int] | None = None
    ) -> list[dict[int, int]]:
        """For each row of band keys, the passages sharing at least one band with it and
        how many bands they share (about ``bands * J**rows`` for Jaccard similarity J).

        A bucket of more than ``max_bucket`` passages is left out (boilerplate: a
        passage in that many articles tells nothing about any one of them, and
        reading it would make the lookup as slow as it is common); ``capped[i]``
        then counts the buckets left out for row ``i``."""
        out: list[dict[int, int]] = []
        tables = self._tables
        for i, row in enumerate(bands.tolist()):
            found: dict[int, int] = {}
            for table, h in zip(tables, row, strict=True):
                bucket = table.get(h)
                if bucket is None:
                    continue
                if type(bucket) is int:
                    found[bucket] = found.get(bucket, 0) + 1
                elif max_bucket is not None and len(bucket) > max_bucket:  # type: ignore[arg-type]
                    if capped is not None:
                        capped[i] += 1
                else:
                    for key in bucket:  # type: ignore[union-attr]
                        found[key] = found.get(key, 0) + 1
            out.append(found)
        return out

    def query(self, bands: BandKeys) -> list[set[int]]:
        """For each row of band keys, the passages sharing at least one band with it."""
        return [set(found) for found in self.query_bands(bands)]


@dataclass
class _State:
    keys: list[npt.NDArray[np.uint64]]  # per band, sorted band keys
    values: list[npt.NDArray[np.int64]]  # per band, the passage key of each
    delta: BandIndex
    pending_keys: list[npt.NDArray[np.int64]] = field(default_factory=list)
    pending_bands: list[BandKeys] = field(default_factory=list)
    pending: int = 0
    dead: set[int] = field(default_factory=set)
    #: The delta a running merge folds into new arrays: still read, no longer written.
    frozen: BandIndex | None = None


class SortedBandIndex:
    """Sorted arrays per band plus a ``BandIndex`` delta: same answers, ~8x less memory.

    ``delta_limit``: passages the delta holds before ``insert`` merges it into the
    arrays itself; ``None``: never, the owner calls ``merge``."""

    def __init__(self, *, bands: int, delta_limit: int | None = DEFAULT_DELTA_LIMIT) -> None:
        _check_bands(bands)
        self.bands = bands
        self.delta_limit = delta_limit
        self._state = _State(
            keys=[np.zeros(0, dtype=np.uint64)] * bands,
            values=[np.zeros(0, dtype=np.int64)] * bands,
            delta=BandIndex(bands=bands),
        )
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def pending(self) -> int:
        """Passages inserted since the last merge began (what the next one would fold)."""
        return self._state.pending

    def insert(self, keys: npt.ArrayLike, bands: BandKeys, *, bulk: bool = False) -> None:
        """Index passages ``keys`` by their band keys ``bands`` (``(n, bands)``).

        ``bulk``: merge them (with the delta) into the arrays now, without passing
        through the delta: for a load, with no ``merge`` running."""
        _check_shape(self.bands, bands)
        passages = np.asarray(keys, dtype=np.int64)
        if not len(passages):
            return
        state = self._state
        state.pending_keys.append(passages)
        state.pending_bands.append(bands)
        state.pending += len(passages)
        self._count += len(passages)
        if bulk or (self.delta_limit is not None and state.pending >= self.delta_limit):
            self.merge()
        else:
            state.delta.insert(passages, bands)

    def remove(self, keys: npt.ArrayLike, bands: BandKeys) -> None:
        """Forget ``keys``, indexed earlier with these same band keys."""
        passages = np.asarray(keys, dtype=np.int64)
        state = self._state
        state.delta.remove(passages, bands)
        state.dead.update(passages.tolist())
        self._count -= len(passages)

    def merge(self, *, writer: contextlib.AbstractContextManager[object] | None = None) -> None:
        """Fold the pending passages into the arrays and drop the tombstoned ones.

        Called by the writer itself, ``writer`` is None. Called from another thread,
        ``writer`` is the writer's lock: it is held only to freeze the delta (writes
        then go to a fresh one) and to swap the new arrays in; the sort and copy in
        between run without it."""
        hold = writer if writer is not None else contextlib.nullcontext()
        with hold:
            old = self._state
            self._state = _State(
                keys=old.keys,
                values=old.values,
                delta=BandIndex(bands=self.bands),
                dead=set(old.dead),
                frozen=old.delta,
            )
        keys, values = self._merged(old)
        with hold:
            now = self._state
            self._state = _State(
                keys=keys,
                values=values,
                delta=now.delta,
                pending_keys=now.pending_keys,
                pending_bands=now.pending_bands,
                pending=now.pending,
                dead=now.dead - old.dead,  # the rest still hide passages in the new arrays
            )

    def _merged(
        self, old: _State
    ) -> tuple[list[npt.NDArray[np.uint64]], list[npt.NDArray[np.int64]]]:
        """``old``'s arrays with its pending passages in and its tombstoned ones out."""
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
        return keys, values

    def compact(self) -> None:
        """Merge now (after a bulk load, or to free tombstoned entries)."""
        if self._state.pending or self._state.dead:
            self.merge()

    def memory_bytes(self) -> int:
        state = self._state
        arrays = sum(k.nbytes + v.nbytes for k, v in zip(state.keys, state.values, strict=True))
        pending = sum(k.nbytes for k in state.pending_keys) + sum(
            b.nbytes for b in state.pending_bands
        )
        frozen = state.frozen.memory_bytes() if state.frozen is not None else 0
        return arrays + pending + state.delta.memory_bytes() + frozen + 64 * len(state.dead)

    def query_bands(
        self, bands: BandKeys, *, max_bucket: int | None = None, capped: list[int] | None = None
    ) -> list[dict[int, int]]:
        """For each row of band keys, the passages sharing at least one band with it and
        how many bands they share; ``max_bucket`` and ``capped`` as in ``BandIndex``
        (a run of equal keys longer than the cap is skipped without being read; each
        delta is capped on its own, a bound on it as on the arrays)."""
        state = self._state
        out = state.delta.query_bands(bands, max_bucket=max_bucket, capped=capped)
        if state.frozen is not None:
            more = state.frozen.query_bands(bands, max_bucket=max_bucket, capped=capped)
            for found, extra in zip(out, more, strict=True):
                for passage, n in extra.items():
                    found[passage] = found.get(passage, 0) + n
        for b in range(self.bands):
            keys = state.keys[b]
            if not len(keys):
                continue
            column = bands[:, b]
            # Most lookups miss: search once, and bound the run of equal keys only for
            # the hits (each search is ~20 cache misses on a large band).
            lo = np.searchsorted(keys, column, side="left")
            hit = np.flatnonzero(keys[np.minimum(lo, len(keys) - 1)] == column)
            if not len(hit):
                continue
            hi = np.searchsorted(keys, column[hit], side="right")
            values = state.values[b]
            for i, start, end in zip(hit.tolist(), lo[hit].tolist(), hi.tolist(), strict=True):
                if max_bucket is not None and end - start > max_bucket:
                    if capped is not None:
                        capped[i] += 1
                    continue
                found = out[i]
                for passage in values[start:end].tolist():
                    found[passage] = found.get(passage, 0) + 1
        if state.dead:
            dead = state.dead
            out = [{k: n for k, n in found.items() if k not in dead} for found in out]
        return out
