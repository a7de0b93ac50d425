"""What one request costs the engine, counted stage by stage, and its cancellation.

A ``Work`` belongs to one call and one thread (it is never shared, so it needs no
lock): the caller creates it, passes it down, and reads the counters afterwards. The
stages compare the counters with the bounds of ``EngineConfig`` and stop adding work
when one is reached; ``limited`` names the bounds that were reached.

``check`` asks the caller's ``cancelled`` callable whether to go on, at most every
``CHECK_SECONDS``, and raises ``Expired`` when it says so. The stages call it between
chunks of work that are themselves bounded, so a cancelled call stops within about
``CHECK_SECONDS`` plus one chunk. A ``CancelToken`` (the compiled core's flag and
deadline) is such a callable that the core also reads without the GIL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from wiretrace._core import CancelToken
from wiretrace.errors import Expired

__all__ = ["CHECK_SECONDS", "CancelToken", "Work"]

#: How often, at most, the cancellation callable is asked (it may cost a system call).
CHECK_SECONDS = 0.01


@dataclass(slots=True)
class Work:
    """Counters of one request; every field but ``cancelled`` and ``limited`` adds up
    over the comparisons made for that request.

    Attributes:
        comparisons: text pairs compared (a request for an article compares it with
            each candidate source, and with itself for repeats).
        units: units of the prepared texts, both sides.
        collapsed_units: units hidden because they repeat the unit one period before
            (runs of identical units keep their first copy).
        seed_pairs: unit pairs the band join proposed (bounded by ``max_seed_pairs``).
        extend_pairs: unit pairs near seeds looked at (bounded by ``max_extend_pairs``).
        clusters: seed clusters turned into passages or rejected.
        largest_cluster: seeds in the largest cluster.
        align_cells: token pairs fed to the Indel alignment to refine passages, the
            product of the two sides' lengths per call (bounded by
            ``max_align_cells`` per comparison, ``max_refine_cells`` per call).
        similarity_cells: the same for the similarity of each reported passage
            (not bounded apart: one per passage kept, copies skip it).
        passages: passages built before overlap resolution (``max_passages``).
        exact_pairs: equal word windows paired to find exact runs
            (``max_exact_pairs`` per comparison).
        overlap_checks: passage pairs compared in overlap resolution.
    """

    cancelled: Callable[[], bool] | None = None
    comparisons: int = 0
    units: int = 0
    collapsed_units: int = 0
    seed_pairs: int = 0
    extend_pairs: int = 0
    clusters: int = 0
    largest_cluster: int = 0
    align_cells: int = 0
    similarity_cells: int = 0
    passages: int = 0
    overlap_checks: int = 0
    exact_pairs: int = 0
    limited: set[str] = field(default_factory=set)
    _next_check: float = 0.0

    def check(self, *, now: bool = False) -> None:
        """Raise ``Expired`` if the caller gave up; cheap enough to call often. ``now``
        asks whatever the time since the last check (before a write)."""
        if self.cancelled is None:
            return
        t = time.monotonic()
        if t < self._next_check and not now:
            return
        self._next_check = t + CHECK_SECONDS
        if self.cancelled():
            raise Expired("the call was cancelled or its deadline passed")

    def counters(self) -> dict[str, int]:
        """The counters by name (what tests and benchmarks read)."""
        skip = {"cancelled", "limited", "_next_check"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
