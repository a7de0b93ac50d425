"""Alignment: seeds -> clusters -> passages -> refined, filtered matches, in the
compiled core (``core/engine/src/align``, bound as ``wiretrace._core``).

The shape of the best PAN text-alignment systems: candidate unit pairs become *seeds*
(band join, then the Dice coefficient of the units' content terms); seeds near a seed
*extend* them; seeds close to each other on both sides *cluster* into maximal
passages, which must stay similar as a whole (otherwise they are split with a smaller
gap); boundaries are *refined* at token level with an Indel alignment equal to
rapidfuzz's; overlapping passages are *resolved*, neighbours *merged*, and exact runs
of words are reported on their own.

This module converts: a ``Document``'s arrays become a ``PreparedDoc`` once (cached on
the document), ``EngineConfig`` becomes an ``AlignConfig`` once, and ``compare`` makes
one call per comparison, with the GIL released, that returns token ranges. The call
reads and adds to the request's ``Work`` and asks its cancellation every few
milliseconds; a panic in the core becomes ``EngineFault``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

import numpy as np

import wiretrace._core as _core
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.work import Work
from wiretrace.errors import EngineFault, Expired

if TYPE_CHECKING:
    from wiretrace.engine.detect import Document

__all__ = [
    "COUNTERS",
    "KINDS",
    "Aligned",
    "align",
    "align_config",
    "core_call",
    "detect",
    "prepared_doc",
    "prepared_fields",
]

P = ParamSpec("P")
T = TypeVar("T")

#: The ``Work`` counters the core reads and adds to, in the binding's order.
COUNTERS = (
    "seed_pairs",
    "extend_pairs",
    "clusters",
    "largest_cluster",
    "align_cells",
    "similarity_cells",
    "passages",
    "overlap_checks",
    "exact_pairs",
)
#: ``work``'s counters in ``COUNTERS``' order, as a tuple (one call).
_counters = operator.attrgetter(*COUNTERS)
#: The core's kind codes, as ``detect.Kind`` values.
KINDS = ("verbatim", "near_verbatim", "reworded", "quote")


class Aligned(NamedTuple):
    """A match as token ranges: tokens ``[a0, a1)`` of text A, ``[b0, b1)`` of B."""

    a0: int
    a1: int
    b0: int
    b1: int
    similarity: float
    kind: str


@lru_cache(maxsize=16)
def align_config(config: EngineConfig) -> _core.AlignConfig:
    """The core's copy of the settings the alignment and the summary stage read."""
    c = config
    return _core.AlignConfig(
        seed_threshold=c.seed_threshold,
        extend_threshold=c.extend_threshold,
        passage_threshold=c.passage_threshold,
        min_match_tokens=c.min_match_tokens,
        min_reworded_tokens=c.min_reworded_tokens,
        short_passage_tokens=c.short_passage_tokens,
        short_passage_similarity=c.short_passage_similarity,
        short_passage_overlap=c.short_passage_overlap,
        max_gap_units=c.max_gap_units,
        merge_gap_tokens=c.merge_gap_tokens,
        miss_penalty=c.miss_penalty,
        shared_weight=c.shared_weight,
        edge_cut=c.edge_cut,
        max_seed_pairs=c.max_seed_pairs,
        max_extend_pairs=c.max_extend_pairs,
        max_refine_cells=c.max_refine_cells,
        max_align_cells=c.max_align_cells,
        max_passages=c.max_passages,
        max_exact_pairs=c.max_exact_pairs,
        min_exact_run_tokens=c.min_exact_run_tokens,
        min_quote_tokens=c.min_quote_tokens,
        min_split_run_tokens=c.min_split_run_tokens,
        min_evidence_dice=c.min_evidence_dice,
        short_text_share=c.short_text_share,
        summary_ratio=c.summary_ratio,
        summary_join_ratio=c.summary_join_ratio,
        summary_gap_tokens=c.summary_gap_tokens,
        summary_whole_share=c.summary_whole_share,
        summary_unit_dice=c.summary_unit_dice,
    )


def _i64(values: object) -> bytes:
    return np.ascontiguousarray(values, dtype="<i8").tobytes()


def _flags(values: object) -> bytes:
    return np.ascontiguousarray(values, dtype=np.bool_).tobytes()


def prepared_doc(doc: Document) -> _core.PreparedDoc:
    """The core's copy of what the alignment reads of ``doc``, with its tokens' spans
    (each end also moved over closing punctuation, ``detect._close``) and its text's
    length. Work: one copy
    of its arrays (``Document.aligned`` keeps it, so a stored source compared many
    times is converted once)."""
    return _core.PreparedDoc(**prepared_fields(doc))


def prepared_fields(doc: Document) -> dict[str, Any]:
    """``PreparedDoc``'s keyword arguments for ``doc``."""
    from wiretrace.engine.detect import _close

    t = doc.tokens
    bands = int(doc.band_keys.shape[1]) if doc.band_keys.ndim == 2 else 0
    return {
        "words": _i64(doc.words),
        "terms": _i64(doc.terms),
        "bounds": _i64(doc.units.bounds),
        "features": _i64(doc.units.flat),
        "feature_starts": _i64(doc.units.feature_bounds if len(doc.units) else [0]),
        "hidden": _flags(doc.hidden),
        "runs": _i64([x for r in doc.runs for x in (r.start, r.end, r.period)]),
        "indexable": _i64(doc.indexable),
        "band_keys": np.ascontiguousarray(doc.band_keys, dtype="<u8").tobytes(),
        "bands": bands,
        "quoted": _flags(doc.quoted),
        "named": _flags(doc.named),
        "sentence_ends": _i64(doc.tokens.sentence_ends),
        "window_k": doc.windows.k,
        "window_hashes": np.ascontiguousarray(doc.windows.hashes, dtype="<u8").tobytes(),
        "window_rare": _flags(doc.windows.rare),
        "window_order": _i64(doc.windows.order),
        "starts": _i64(t.starts),
        "ends": _i64(t.ends),
        "closed": _i64([_close(t.text, int(e)) for e in t.ends]),
        "chars": len(t.text),
    }


def core_call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)``, an entry of the compiled core; a panic inside it (a
    bug, stopped at the binding as ``EnginePanic``) becomes ``EngineFault``."""
    try:
        return fn(*args, **kwargs)
    except _core.EnginePanic as err:
        raise EngineFault(str(err)) from err


def _cancellation(work: Work) -> tuple[Callable[[], None] | None, _core.CancelToken | None]:
    """What the core asks whether the caller still waits: ``work``'s ``CancelToken``
    (read without the GIL), else ``work.check`` (asked with it), else nothing."""
    token = work.cancelled if isinstance(work.cancelled, _core.CancelToken) else None
    return (None if work.cancelled is None or token is not None else work.check), token


def _add(work: Work, counters: list[int], limited: list[str]) -> None:
    for name, value in zip(COUNTERS, counters, strict=True):
        setattr(work, name, value)
    if limited:
        work.limited.update(limited)


#: One comparison's matches from the core: ``(a_start, a_end, b_start, b_end,
#: similarity, kind, confidence)`` each.
Found = list[tuple[int, int, int, int, float, int, float]]


def detect(
    a: str | _core.PreparedDoc,
    b: str | _core.PreparedDoc | None,
    *,
    prepare: _core.PrepareConfig,
    config: _core.AlignConfig,
    coefficients: tuple[float, ...],
    work: Work,
    parallel: bool | None = None,
) -> Found:
    """A whole comparison in one core call with the GIL released: the sides given as
    text are prepared (two on two threads when ``parallel``; None: when the machine
    has a core to spare), then aligned (``b`` None: ``a``'s repeats), the matches of
    two texts go through the summary stage (``core/engine/src/summary.rs``), and the
    matches come back in code points, closing punctuation included, each with its
    confidence (``core/engine/src/matches.rs``, bit-identical to the Python spans and
    ``confidence.confidence(features(...))``), as ``(a_start, a_end, b_start, b_end,
    similarity, kind, confidence)``. ``config`` is ``align_config``'s. Adds to
    ``work``'s counters as
    ``Detector.compare`` and ``align`` do; raises ``Expired`` and ``EngineFault`` as
    ``align`` does."""
    check, token = _cancellation(work)
    try:
        found, counters, limited, units, collapsed = _core.detect(
            a,
            b,
            prepare=prepare,
            config=config,
            coefficients=coefficients,
            counters=_counters(work),
            limited=sorted(work.limited),
            check=check,
            token=token,
            parallel=parallel,
        )
    except _core.CoreCancelled as err:
        raise Expired(str(err)) from err
    except _core.EnginePanic as err:  # as ``core_call``, without its extra frame
        raise EngineFault(str(err)) from err
    _counted(work, 1, units, collapsed, counters, limited)
    return found


def _counted(
    work: Work,
    comparisons: int,
    units: int,
    collapsed: int,
    counters: list[int],
    limited: list[str],
) -> None:
    """Add what the core reports of ``comparisons`` comparisons to ``work``."""
    work.comparisons += comparisons
    work.units += units
    work.collapsed_units += collapsed
    _add(work, counters, limited)


#: What ``detect_many`` says of an article whose caller gave up.
CANCELLED = "the call was cancelled or its deadline passed"


def detect_many(
    jobs: list[tuple[_core.PreparedDoc, list[_core.PreparedDoc | None], Work]],
    *,
    config: _core.AlignConfig,
    coefficients: tuple[float, ...],
) -> list[list[Found] | Expired]:
    """``detect`` of several articles with prepared documents, in one core call with
    the GIL released: each job's document with each of its sources (None: its own
    repeats), one after another, counted in the job's ``work`` and stopped by its
    cancellation. For each job, the matches of each source, or ``Expired`` when its
    caller gave up. A cancellation asked through ``work.check`` (not a
    ``CancelToken``, which the core reads) is asked once, before the call."""
    calls = []
    asked: list[Expired | None] = []
    for a, sources, work in jobs:
        check, token = _cancellation(work)
        try:
            if check is not None:
                check()
        except Expired as err:
            asked.append(err)
            continue
        asked.append(None)
        calls.append((a, sources, _counters(work), sorted(work.limited), token))
    try:
        results = iter(_core.detect_many(calls, config=config, coefficients=coefficients))
    except _core.EnginePanic as err:
        raise EngineFault(str(err)) from err
    out: list[list[Found] | Expired] = []
    for (_, sources, work), expired in zip(jobs, asked, strict=True):
        if expired is not None:
            out.append(expired)
            continue
        found, counters, limited, units, collapsed = next(results)
        _counted(work, len(sources), units, collapsed, counters, limited)
        out.append(Expired(CANCELLED) if found is None else found)
    return out


def align(
    a: Document, b: Document, *, same_text: bool, config: EngineConfig, work: Work
) -> list[Aligned]:
    """The passages ``a`` and ``b`` share, as token ranges, sorted by their start in
    ``a`` (``same_text``: ``b`` is ``a``, and its repeats are reported). Adds to
    ``work``'s counters and ``limited``; raises ``Expired`` when the caller gives up (a
    ``CancelToken`` as ``work.cancelled`` is read by the core without the GIL; any
    other callable is asked through ``work.check``), and ``EngineFault`` on a bug in
    the core."""
    check, token = _cancellation(work)
    try:
        found, counters, limited = core_call(
            _core.compare,
            a.aligned(),
            b.aligned(),
            same_text=same_text,
            config=align_config(config),
            counters=_counters(work),
            limited=sorted(work.limited),
            check=check,
            token=token,
        )
    except _core.CoreCancelled as err:
        raise Expired(str(err)) from err
    _add(work, counters, limited)
    return [Aligned(a0, a1, b0, b1, sim, KINDS[kind]) for a0, a1, b0, b1, sim, kind in found]
