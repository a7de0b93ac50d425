"""The summary stage as the numpy module it was (``engine/summary.py``), kept as the
oracle of its port, ``core/engine/src/summary.rs``, which runs inside ``_core.detect``:
``tests/test_compare_core.py`` and ``tests/test_summary_core.py`` hold the core's
matches to this module's, float for float, and its ``Work`` counters too. Unchanged
but for this paragraph.

Summary mode: a short passage that summarises a much longer source becomes one match.

A summary keeps a few sentences of its source, each shortened, and drops the rest: the
alignment finds some of those sentences as separate small matches, or one match over a
few of them, that lie close together in the article and far apart in the source
(PAN-13's summary obfuscation: 0.19 plagdet before this stage). The best PAN systems
notice this shape, a detected source region several times longer than the article's,
and merge again with a very large gap so that one long source span is reported.

This stage does the same on the matches of one pair, after alignment, judging
sentences (units) rather than matches:

1. a pair holding a shared quote (kind ``QUOTE``, or verbatim inside quotation marks)
   is left as it is, and so is one holding a match longer than a
   ``summary_join_ratio``-th of the source: it cannot be the short side of a summary;
2. every article unit within ``summary_gap_tokens`` of a match finds its best source
   unit anywhere in the source, and a unit a match overlaps its best one inside that
   match's source span (the alignment already placed it), by the Dice of their content
   terms, names and numbers left out (two reports of one event share those). It is a
   *piece* when that Dice reaches ``summary_unit_dice`` on ``MIN_SHARED_TERMS`` terms
   or more;
3. matches and pieces that follow each other in the article with at most
   ``summary_gap_tokens`` between them form a group; they are joined only if they all
   form one group (reuse in several places of the article is left alone) with
   ``MIN_GROUP`` pieces or more and a match that is not verbatim, and the group is:
   - *dense*: matches and pieces hold ``COVER_SHARE`` of its units (a summary is
     explained sentence by sentence, chance agreements are scattered);
   - *in order*: the longest chain of pieces whose source units follow the article's
     order holds ``ORDER_SHARE`` of them (a summary keeps its source's order; two
     reports of one event tell it each in their own);
   - *stretched*: that chain's source hull is ``summary_join_ratio`` times its article
     hull, and not by one chance agreement: either the pieces inside matches alone
     are so stretched (matches far apart in the source, or one match stretched
     itself), or two pieces outside every match or more are in the chain (one sentence
     that agrees with some unit of a long source is chance; a copy maps its sentences
     to consecutive ones and never stretches): an exact match with one chance
     neighbour is not swallowed by a loose one, it stays as the alignment found it;
4. the group becomes one ``REWORDED`` match over the article hull and the source hull
   of the chain and the matches. It is a *summary* when its source hull is
   ``summary_ratio`` times its article hull; a summary whose source hull covers
   ``summary_whole_share`` of the source text takes the whole source (a summary of an
   article summarises all of it; PAN-13's summary cases all span their whole source
   document). A group joined below ``summary_ratio`` keeps its hulls: a passage
   reworded with its sentences shortened or moved, found by alignment in pieces.

It starts only from matches that alignment reported, so it never flags text that shares
nothing with the source: two reports of one event, which alignment leaves without
matches, stay so. Work: at most ``max_extend_pairs`` unit pairs looked at (counted in
``Work.extend_pairs``), each article unit scored against all source units in one
vectorised pass.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from wiretrace.engine.spans import overlaps
from wiretrace.engine.terms import NO_TERM
from wiretrace.engine.work import Work

if TYPE_CHECKING:
    from wiretrace.engine.config import EngineConfig
    from wiretrace.engine.detect import Document, Match

__all__ = ["summarise"]

#: An article unit with fewer distinct content terms is no evidence of a summary.
MIN_PIECE_TERMS = 4
#: A piece shares at least this many content terms with its source unit: two terms
#: agree by chance between any two sentences on one topic.
MIN_SHARED_TERMS = 3
#: A summary is at least this many pieces: one or two sentences that agree with source
#: sentences beside a match are chance in news on one topic.
MIN_GROUP = 3
#: Least share of the group's units (with ``MIN_PIECE_TERMS``) a match or a piece holds.
COVER_SHARE = 0.6
#: Least share of the pieces in the longest chain that follows the source's order.
ORDER_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class _Piece:
    """Token ranges in the article and the source; ``match`` is None for a unit pair
    found by this stage, ``held`` when a match overlaps its article unit."""

    a0: int
    a1: int
    b0: int
    b1: int
    match: Match | None
    held: bool = False


def _quoted(a: Document, p: _Piece) -> bool:
    """Whether a match is a shared quote: kind ``QUOTE``, or verbatim inside quotation
    marks (a quote cut out of a reworded match)."""
    from wiretrace.engine.detect import Kind

    m = p.match
    if m is None or m.kind not in (Kind.QUOTE, Kind.VERBATIM):
        return False
    return m.kind is Kind.QUOTE or bool(a.quoted[p.a0 : p.a1].all())


def _token_span(doc: Document, start: int, end: int) -> tuple[int, int]:
    """The tokens of ``doc`` inside the code-point range ``[start, end)``."""
    t0 = int(np.searchsorted(doc.tokens.starts, start, side="left"))
    t1 = int(np.searchsorted(doc.tokens.ends, end, side="right"))
    return t0, max(t0, t1)


def _units_in(doc: Document, t0: int, t1: int) -> range:
    """The units of ``doc`` that overlap the tokens ``[t0, t1)``."""
    bounds = doc.units.bounds
    u0 = int(np.searchsorted(bounds, t0, side="right")) - 1
    u1 = int(np.searchsorted(bounds, t1, side="left"))
    return range(max(0, u0), min(len(doc.units), u1))


def _unit_terms(doc: Document, units: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
    """The distinct said terms of each unit in ``units``, as rows: (position in
    ``units``, term)."""
    bounds = doc.units.bounds
    lengths = (bounds[units + 1] - bounds[units]).astype(np.int64)
    rows = np.repeat(np.arange(len(units)), lengths)
    # Token index of every row: its unit's first token plus its offset in the unit.
    tokens = np.repeat(bounds[units].astype(np.int64) - np.cumsum(lengths) + lengths, lengths)
    tokens += np.arange(len(rows))
    # Two reports of one event share names, numbers and places, not what they say.
    keep = (doc.terms[tokens] != NO_TERM) & ~doc.named[tokens]
    rows, terms = rows[keep], doc.terms[tokens[keep]]
    order = np.lexsort((terms, rows))
    rows, terms = rows[order], terms[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (terms[1:] != terms[:-1])
    return rows[first], terms[first]


def _dice(
    a: Document, b: Document, units: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """(Dice, terms shared) of every article unit in ``units`` (rows) with every source
    unit (columns), on their said terms: a sparse product whose work is the sum, over
    the article units' terms, of the number of source units holding each."""
    nb = len(b.units)
    au, at = _unit_terms(a, units)
    bu, bt = _unit_terms(b, np.arange(nb, dtype=np.int64))
    a_sizes = np.bincount(au, minlength=len(units)).astype(np.float64)
    b_sizes = np.bincount(bu, minlength=nb).astype(np.float64)
    order = np.argsort(bt, kind="stable")
    bt, bu = bt[order], bu[order]
    lo = np.searchsorted(bt, at, side="left")
    lengths = np.searchsorted(bt, at, side="right") - lo
    cells = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    shared = np.bincount(
        np.repeat(au, lengths) * nb + bu[cells], minlength=len(units) * nb
    ).reshape(len(units), nb)
    dice = 2.0 * shared / (a_sizes[:, None] + b_sizes[None, :]).clip(min=1.0)
    return dice, shared


def _pieces(
    a: Document, b: Document, found: list[_Piece], config: EngineConfig, work: Work
) -> list[_Piece] | None:
    """Step 2 of the module docstring: the article units near (and inside) the matches
    that agree with a source unit; None when the bound stops it."""
    gap = config.summary_gap_tokens
    ab, bb = a.units.bounds, b.units.bounds
    wanted: set[int] = set()
    for p in found:
        wanted.update(_units_in(a, max(0, p.a0 - gap), p.a1 + gap))
    sizes = np.diff(a.units.feature_bounds)
    units = np.array(sorted(u for u in wanted if sizes[u] >= MIN_PIECE_TERMS), np.int64)
    if len(units) < MIN_GROUP or not len(b.units):
        return []
    if len(units) * len(b.units) > config.max_extend_pairs:
        work.limited.add("max_extend_pairs")
        return None
    work.extend_pairs += len(units) * len(b.units)
    work.check()
    dice, shared = _dice(a, b, units)
    # A unit the alignment already placed is judged inside its match's source span:
    # where it comes from is known, and a chance agreement elsewhere in the source
    # must not stretch it.
    starts, ends = ab[units], ab[units + 1]
    held = np.zeros(len(units), dtype=bool)
    inside = np.zeros(dice.shape, dtype=bool)
    for p in found:
        over = (starts < p.a1) & (p.a0 < ends)
        r = _units_in(b, p.b0, p.b1)
        inside[over, r.start : r.stop] = True
        held |= over
    dice[held[:, None] & ~inside] = 0.0
    rows = np.arange(len(units))
    best = dice.argmax(axis=1)
    kept = (dice[rows, best] >= config.summary_unit_dice) & (shared[rows, best] >= MIN_SHARED_TERMS)
    out: list[_Piece] = []
    for i in np.flatnonzero(kept).tolist():
        u, j = int(units[i]), int(best[i])
        out.append(
            _Piece(int(ab[u]), int(ab[u + 1]), int(bb[j]), int(bb[j + 1]), None, bool(held[i]))
        )
    return out


def _groups(pieces: list[_Piece], gap: int) -> list[list[_Piece]]:
    """``pieces`` in article order, cut where more than ``gap`` tokens separate one
    from the next on the article's side."""
    groups: list[list[_Piece]] = []
    last_end = -1
    for p in sorted(pieces, key=lambda p: (p.a0, p.a1)):
        if groups and p.a0 - last_end <= gap:
            groups[-1].append(p)
            last_end = max(last_end, p.a1)
        else:
            groups.append([p])
            last_end = p.a1
    return groups


def _covered(a: Document, group: list[_Piece], a0: int, a1: int) -> float:
    """Share of the article units in ``[a0, a1)`` with ``MIN_PIECE_TERMS`` content
    terms that a match or a piece of ``group`` holds."""
    ab = a.units.bounds
    sizes = np.diff(a.units.feature_bounds)
    units = [u for u in _units_in(a, a0, a1) if sizes[u] >= MIN_PIECE_TERMS]
    held = sum(any(overlaps(int(ab[u]), int(ab[u + 1]), p.a0, p.a1) for p in group) for u in units)
    return held / max(1, len(units))


def _chain(pieces: list[_Piece]) -> list[_Piece]:
    """The longest run of ``pieces`` (in article order) whose source starts do not
    decrease: the part of a summary that keeps its source's order."""
    items = sorted(pieces, key=lambda p: (p.a0, p.a1))
    tails: list[int] = []
    ends: list[int] = []
    prev = [-1] * len(items)
    for i, p in enumerate(items):
        k = bisect.bisect_right(tails, p.b0)
        if k == len(tails):
            tails.append(p.b0)
            ends.append(i)
        else:
            tails[k], ends[k] = p.b0, i
        prev[i] = ends[k - 1] if k else -1
    out: list[_Piece] = []
    i = ends[-1] if ends else -1
    while i >= 0:
        out.append(items[i])
        i = prev[i]
    return out[::-1]


def _stretched(pieces: list[_Piece], ratio: float) -> bool:
    """Whether ``pieces`` (two or more) span ``ratio`` times more source than article
    tokens."""
    if len(pieces) < 2:
        return False
    a_hull = max(p.a1 for p in pieces) - min(p.a0 for p in pieces)
    b_hull = max(p.b1 for p in pieces) - min(p.b0 for p in pieces)
    return b_hull >= ratio * a_hull


def _merged(a: Document, b: Document, group: list[_Piece], config: EngineConfig) -> Match | None:
    """The group as one match, or None when it is not to be joined (steps 3 and 4)."""
    from wiretrace.engine.detect import Kind, Match

    found = [p.match for p in group if p.match is not None]
    pieces = [p for p in group if p.match is None]
    # Verbatim matches alone are copied sentences, each reported as it is.
    if len(pieces) < MIN_GROUP or all(m.kind is Kind.VERBATIM for m in found):
        return None
    a0, a1 = min(p.a0 for p in group), max(p.a1 for p in group)
    if _covered(a, group, a0, a1) < COVER_SHARE:
        return None
    chain = _chain(pieces)
    jr = config.summary_join_ratio or config.summary_ratio
    if len(chain) < ORDER_SHARE * len(pieces) or not _stretched(chain, jr):
        return None
    free = [p for p in chain if not p.held]
    if not _stretched([p for p in chain if p.held], jr) and len(free) < 2:
        return None
    ends = [p for p in group if p.match is not None] + chain
    b0, b1 = min(p.b0 for p in ends), max(p.b1 for p in ends)
    a_start = min(int(a.tokens.starts[a0]), *(m.a_start for m in found))
    a_end = max(int(a.tokens.ends[a1 - 1]), *(m.a_end for m in found))
    b_start = min(int(b.tokens.starts[b0]), *(m.b_start for m in found))
    b_end = max(int(b.tokens.ends[b1 - 1]), *(m.b_end for m in found))
    # Joined, but a summary of the whole source only when stretched by summary_ratio.
    summary = (b_end - b_start) >= config.summary_ratio * (a_end - a_start)
    share = config.summary_whole_share
    if summary and share and (b_end - b_start) >= share * len(b.text):
        b_start, b_end = 0, len(b.text)
    weight = sum(m.a_end - m.a_start for m in found)
    similarity = sum(m.similarity * (m.a_end - m.a_start) for m in found) / max(1, weight)
    return Match(a_start, a_end, b_start, b_end, similarity, Kind.REWORDED)


def summarise(
    a: Document,
    b: Document,
    matches: list[Match],
    config: EngineConfig,
    work: Work | None = None,
) -> list[Match]:
    """``matches`` of ``a`` (the article) against ``b`` (a source), with every group
    that summarises a much longer source region joined into one match (module
    docstring). Not for the repeats of one text; ``summary_ratio`` or
    ``summary_unit_dice`` 0 turns it off."""
    if not config.summary_ratio or not config.summary_unit_dice or not matches:
        return matches
    work = Work() if work is None else work
    found = [
        _Piece(*_token_span(a, m.a_start, m.a_end), *_token_span(b, m.b_start, m.b_end), m)
        for m in matches
    ]
    # A shared quote (words someone said, reported on their own) leaves the pair as it
    # is, and so does a match too long to be the short side of a summary.
    longest = len(b.tokens.starts) / (config.summary_join_ratio or config.summary_ratio)
    if any(_quoted(a, p) or p.a1 - p.a0 > longest for p in found):
        return matches
    pieces = _pieces(a, b, found, config, work)
    if not pieces:
        return matches
    groups = _groups(found + pieces, config.summary_gap_tokens)
    # One summarised region per source: a pair whose reuse lies in several places of
    # the article (several copied passages, or a stray match beside one) is no summary.
    if len(groups) != 1:
        return matches
    joined = _merged(a, b, groups[0], config)
    if joined is None:
        return matches
    return [joined]
