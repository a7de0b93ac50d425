"""Summary mode: a short passage that summarises a much longer source becomes one match.

A summary keeps a few sentences of its source, each shortened, and drops the rest: the
alignment finds some of those sentences as separate small matches that lie close
together in the article and far apart in the source (PAN-13's summary obfuscation:
0.19 plagdet before this stage, recall 0.15, granularity 1.65). The best PAN systems
notice this shape, a detected source region several times longer than the article's,
and merge again with a very large gap so that one long source span is reported.

This stage does the same on the matches of one pair, after alignment:

1. a pair holding a long match that is not stretched on the source side (a copy or a
   paraphrase, ``COPY_TOKENS``), or a shared quote, is no summary, and is left as it is;
2. around each match, every article unit (sentence) within ``summary_gap_tokens`` that
   no match holds looks for its best source unit anywhere in the source; a pair whose
   content terms agree, names and numbers left out (Dice ``summary_unit_dice``), is a
   *piece* of evidence beside the matches (a shortened sentence the alignment found
   too loose to keep on its own);
3. matches and pieces that follow each other in the article with at most
   ``summary_gap_tokens`` tokens between them form a group (their order in the source
   does not matter: a summary may reorder); the pair is a summary only if they all
   form one group of three or more (``MIN_GROUP``), holding a match that is not
   verbatim, whose source hull is at least ``summary_ratio`` times as long as its
   article hull (in tokens), and so is the matches' own hull when there are two or
   more: one summarised region per source, so reuse in several places of the article
   is left alone, and so is a passage reworded sentence by sentence;
4. the group becomes one ``REWORDED`` match over the two hulls; when the source hull
   already covers ``summary_whole_share`` of the source text or more, the match takes
   the whole source (a summary of an article summarises all of it; PAN-13's summary
   cases all span their whole source document).

It starts only from matches that alignment reported, so it never flags text that shares
nothing with the source: two reports of one event, which alignment leaves without
matches, stay so. The article side grows only by units next to a match. Work: at most
``max_extend_pairs`` unit pairs looked at (counted in ``Work.extend_pairs``), plus one
sort of the matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from wiretrace.engine.spans import overlaps
from wiretrace.engine.terms import NO_TERM
from wiretrace.engine.work import Work

if TYPE_CHECKING:
    from wiretrace.engine.config import EngineConfig
    from wiretrace.engine.detect import Document, Match

__all__ = ["summarise"]

#: An article unit with fewer distinct content terms is no evidence of a summary.
MIN_PIECE_TERMS = 4
#: A match this long (article tokens) whose source side is less than ``COPY_STRETCH``
#: times its article side is a copy or a paraphrase, not a piece of a summary (a
#: summary of PAN-13 is ~100 tokens in all); a pair holding one is left as it is.
COPY_TOKENS = 45
COPY_STRETCH = 2.0
#: A summary is a match and at least this many more matches or pieces: one sentence
#: that agrees with a source sentence beside a match is chance in news on one topic.
MIN_GROUP = 3


def _set_dice(sx: set[int], sy: set[int]) -> float:
    """Dice coefficient of two sets of content terms (0 when either is empty)."""
    if not sx or not sy:
        return 0.0
    return 2.0 * len(sx & sy) / (len(sx) + len(sy))


@dataclass(frozen=True, slots=True)
class _Piece:
    """Token ranges in the article and the source; ``match`` is None for a unit pair
    found by this stage."""

    a0: int
    a1: int
    b0: int
    b1: int
    match: Match | None


def _copy(p: _Piece) -> bool:
    """Whether a match is a copy or a paraphrase of its source (``COPY_TOKENS``)."""
    return p.a1 - p.a0 >= COPY_TOKENS and p.b1 - p.b0 < COPY_STRETCH * (p.a1 - p.a0)


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


def _said(doc: Document, t0: int, t1: int) -> set[int]:
    """The content terms of tokens ``[t0, t1)`` that do not name (``Document.named``):
    two reports of one event share names, numbers and places, not what they say."""
    terms = doc.terms[t0:t1]
    return set(terms[(terms != NO_TERM) & ~doc.named[t0:t1]].tolist())


def _units_in(doc: Document, t0: int, t1: int) -> range:
    """The units of ``doc`` that overlap the tokens ``[t0, t1)``."""
    bounds = doc.units.bounds
    u0 = int(np.searchsorted(bounds, t0, side="right")) - 1
    u1 = int(np.searchsorted(bounds, t1, side="left"))
    return range(max(0, u0), min(len(doc.units), u1))


def _evidence(
    a: Document, b: Document, matches: list[_Piece], config: EngineConfig, work: Work
) -> list[_Piece]:
    """Unit pairs near the matches that the alignment left out (step 1 of the module
    docstring): each article unit's best source unit, kept from ``summary_unit_dice``."""
    gap = config.summary_gap_tokens
    ab, bb = a.units.bounds, b.units.bounds
    wanted: set[int] = set()
    for p in matches:
        wanted.update(_units_in(a, max(0, p.a0 - gap), p.a1 + gap))
    free = sorted(
        u
        for u in wanted
        if len(a.units.features[u]) >= MIN_PIECE_TERMS
        and not any(overlaps(int(ab[u]), int(ab[u + 1]), p.a0, p.a1) for p in matches)
    )
    if not free:
        return []
    nb = len(b.units)
    if len(free) * nb > config.max_extend_pairs:
        work.limited.add("max_extend_pairs")
        free = free[: max(1, config.max_extend_pairs // max(1, nb))]
    work.extend_pairs += len(free) * nb
    b_sets = [_said(b, int(bb[j]), int(bb[j + 1])) for j in range(nb)]
    out: list[_Piece] = []
    for u in free:
        work.check()
        terms = _said(a, int(ab[u]), int(ab[u + 1]))
        best, best_j = 0.0, -1
        for j, other in enumerate(b_sets):
            d = _set_dice(terms, other)
            if d > best:
                best, best_j = d, j
        if best_j >= 0 and best >= config.summary_unit_dice:
            out.append(
                _Piece(int(ab[u]), int(ab[u + 1]), int(bb[best_j]), int(bb[best_j + 1]), None)
            )
    return out


def _stretched(pieces: list[_Piece], ratio: float) -> bool:
    """Whether ``pieces`` span at least ``ratio`` times more source than article
    tokens; one piece always passes (it is judged with the pieces beside it). Two
    matches that follow each other alike on both sides are one passage reworded
    sentence by sentence (or one event told twice), not a summary."""
    if len(pieces) < 2:
        return True
    a_hull = max(p.a1 for p in pieces) - min(p.a0 for p in pieces)
    b_hull = max(p.b1 for p in pieces) - min(p.b0 for p in pieces)
    return b_hull >= ratio * a_hull


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


def _merged(a: Document, b: Document, group: list[_Piece], config: EngineConfig) -> Match | None:
    """The group as one summary match, or None when it is not a summary."""
    from wiretrace.engine.detect import Kind, Match

    found = [p.match for p in group if p.match is not None]
    # Verbatim matches alone are copied sentences, each reported as it is.
    if len(group) < MIN_GROUP or all(m.kind is Kind.VERBATIM for m in found):
        return None
    if not _stretched([p for p in group if p.match is not None], config.summary_ratio):
        return None
    a0, a1 = min(p.a0 for p in group), max(p.a1 for p in group)
    b0, b1 = min(p.b0 for p in group), max(p.b1 for p in group)
    if a1 <= a0 or (b1 - b0) < config.summary_ratio * (a1 - a0):
        return None
    a_start = min(int(a.tokens.starts[a0]), *(m.a_start for m in found))
    a_end = max(int(a.tokens.ends[a1 - 1]), *(m.a_end for m in found))
    b_start = min(int(b.tokens.starts[b0]), *(m.b_start for m in found))
    b_end = max(int(b.tokens.ends[b1 - 1]), *(m.b_end for m in found))
    if config.summary_whole_share and (b_end - b_start) >= config.summary_whole_share * len(b.text):
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
    docstring). Not for the repeats of one text; ``summary_ratio`` 0 turns it off."""
    if not config.summary_ratio or not matches:
        return matches
    work = Work() if work is None else work
    found = [
        _Piece(*_token_span(a, m.a_start, m.a_end), *_token_span(b, m.b_start, m.b_end), m)
        for m in matches
    ]
    # A copy, or a shared quote (words someone said, reported on their own), leaves
    # the pair as it is.
    if any(_copy(p) or _quoted(a, p) for p in found):
        return matches
    pieces = found + (_evidence(a, b, found, config, work) if config.summary_unit_dice else [])
    groups = _groups(pieces, config.summary_gap_tokens)
    # One summarised region per source: a pair whose reuse lies in several places of
    # the article (several copied passages, or a stray match beside one) is no summary.
    if len(groups) != 1:
        return matches
    joined = _merged(a, b, groups[0], config)
    return matches if joined is None else [joined]
