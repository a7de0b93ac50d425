"""The detection pipeline: prepare texts once, then compare them or find repeats.

    text --normalize/tokenize--> Tokens --terms--> term ids --units--> Units
         --runs--> repeated units hidden --signature--> MinHash rows
         --index--> candidate unit pairs (seeds) --align--> passages
         --refine/filter--> Match list

Every stage is a module of its own; ``Document`` keeps each intermediate result so that
it can be inspected.

Every stage is bounded (``EngineConfig.max_*``) and counts its work in a ``Work``;
between bounded chunks it asks ``Work.check`` whether the caller still waits.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from wiretrace.engine import align
from wiretrace.engine.confidence import confidence, features
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.exact import ExactRun, Windows, shared_runs
from wiretrace.engine.index import band_join_bounded, band_keys, lsh_params
from wiretrace.engine.quotes import quoted_spans, quoted_tokens
from wiretrace.engine.runs import Run, find_runs, hidden_units, unit_fingerprints
from wiretrace.engine.signature import indexable_rows, signatures
from wiretrace.engine.spans import overlaps
from wiretrace.engine.summary import summarise
from wiretrace.engine.terms import NO_TERM, token_ids
from wiretrace.engine.tokenize import Tokens, tokenize
from wiretrace.engine.units import Units, split_units
from wiretrace.engine.work import Work

__all__ = ["Detector", "Document", "Kind", "Match"]

NEAR_VERBATIM_SIMILARITY = 0.8
_DIGIT = re.compile(r"\d")
#: A shared quote needs this many content terms: five function words prove nothing.
MIN_QUOTE_CONTENT_TERMS = 2


_CLOSING = frozenset(".!?…\"')]»”’。！？")


def _close(text: str, end: int) -> int:
    """Move a span end over the punctuation that closes its last sentence or quote."""
    while end < len(text) and text[end] in _CLOSING:
        end += 1
    return end


class Kind(StrEnum):
    """How close a reused passage is to its source."""

    VERBATIM = "verbatim"
    NEAR_VERBATIM = "near_verbatim"
    REWORDED = "reworded"
    #: Words inside quotation marks that both texts share word for word, too short
    #: to be reported otherwise and not part of another match.
    QUOTE = "quote"


@dataclass(frozen=True, slots=True)
class Match:
    """A passage of text A reused in text B: ``a_text[a_start:a_end]`` and
    ``b_text[b_start:b_end]`` (half-open, code points of the original texts)."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    similarity: float
    kind: Kind
    #: The probability that the match is real reuse (``confidence.confidence``).
    confidence: float = 0.0

    def swapped(self) -> Match:
        """The same match seen from text B: ``a`` and ``b`` exchanged. A repeat is
        reported on its later occurrence, with the earlier one as its source."""
        return Match(
            self.b_start,
            self.b_end,
            self.a_start,
            self.a_end,
            self.similarity,
            self.kind,
            self.confidence,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "a_start": self.a_start,
            "a_end": self.a_end,
            "b_start": self.b_start,
            "b_end": self.b_end,
            "similarity": round(self.similarity, 4),
            "kind": self.kind.value,
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True, slots=True)
class Document:
    """A text prepared for matching, with every intermediate result of the pipeline."""

    tokens: Tokens
    terms: npt.NDArray[np.int64]
    words: npt.NDArray[np.int64]
    units: Units
    signatures: npt.NDArray[np.uint32]
    #: Runs of repeated units; the copies after the first one are hidden from seeding.
    runs: tuple[Run, ...]
    hidden: npt.NDArray[np.bool_]
    #: Rows of the units that seed (content terms, not hidden), and their LSH band keys.
    indexable: npt.NDArray[np.int64]
    band_keys: npt.NDArray[np.uint64]
    #: Tokens inside quotation marks (``quotes.quoted_spans`` of the original text).
    quoted: npt.NDArray[np.bool_]
    #: One MinHash row per quoted segment of ``min_quote_tokens`` tokens or more
    #: (its content terms): the service indexes them beside the units, so that a
    #: source sharing only a short quote still becomes a candidate.
    quote_signatures: npt.NDArray[np.uint32]
    #: Tokens that name rather than say: capitalised inside a sentence, or holding a
    #: digit (names, places, dates, numbers). Two reports of one event share them.
    named: npt.NDArray[np.bool_]
    #: Its windows of ``min_quote_tokens`` words, for the exact-run join.
    windows: Windows

    @property
    def stored_signatures(self) -> npt.NDArray[np.uint32]:
        """What the service stores and indexes: the units' rows, then the quotes'."""
        if not len(self.quote_signatures):
            return self.signatures
        return np.concatenate((self.signatures, self.quote_signatures))

    @property
    def text(self) -> str:
        return self.tokens.text

    def unit_terms(self, u: int) -> set[int]:
        return set(self.units.features[u].tolist())


def _exact_passage(r: ExactRun) -> align.Passage:
    return align.Passage(r.a0, r.a1, r.b0, r.b1, score=2.0 * r.length, overlap=1.0)


def _stretches(mask: npt.NDArray[np.bool_], least: int) -> list[tuple[int, int]]:
    """The maximal ranges ``[s, e)`` of ``True`` in ``mask`` at least ``least`` long."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [
        (s, e)
        for s, e in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True)
        if e - s >= least
    ]


def _named(tokens: Tokens) -> npt.NDArray[np.bool_]:
    """``Document.named``: per token, capitalised and not the first of its sentence,
    or holding a digit."""
    text, n = tokens.text, len(tokens)
    if not n:
        return np.zeros(0, dtype=np.bool_)
    first = np.zeros(n, dtype=np.bool_)
    first[0] = True
    first[[e for e in tokens.sentence_ends if e < n]] = True
    if text.isascii():  # one vectorised pass over the bytes
        raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        first_char = raw[tokens.starts]
        upper = (first_char >= ord("A")) & (first_char <= ord("Z"))
        is_digit = np.concatenate(([0], np.cumsum((raw >= ord("0")) & (raw <= ord("9")))))
        has_digit = is_digit[tokens.ends] > is_digit[tokens.starts]
    else:
        starts = tokens.starts.tolist()
        upper = np.fromiter((text[s].isupper() for s in starts), np.bool_, count=n)
        digits = np.fromiter((m.start() for m in _DIGIT.finditer(text)), dtype=np.int64)
        has_digit = np.searchsorted(digits, tokens.ends) > np.searchsorted(digits, tokens.starts)
    return np.asarray((upper & ~first) | has_digit, dtype=np.bool_)


def _whole_quote(a: Document, b: Document, r: ExactRun) -> bool:
    """Whether ``r`` holds every word between a pair of quotation marks of ``a`` or
    of ``b`` (a quote copied whole, not a few words of a longer one)."""

    def whole(quoted: npt.NDArray[np.bool_], t0: int, t1: int) -> bool:
        inside = bool(quoted[t0:t1].all())
        before = t0 > 0 and bool(quoted[t0 - 1])
        after = t1 < len(quoted) and bool(quoted[t1])
        return inside and not before and not after

    return whole(a.quoted, r.a0, r.a1) or whole(b.quoted, r.b0, r.b1)


def _sentences(a: Document, r: ExactRun) -> ExactRun | None:
    """The whole sentences of ``a`` inside ``r``, as a run (None when none is)."""
    ends = a.tokens.sentence_ends
    starts = [0, *ends]
    k = bisect_left(starts, r.a0)
    if k >= len(starts):
        return None
    s0 = starts[k]
    j = bisect_right(ends, r.a1) - 1
    s1 = ends[j] if j >= 0 else 0
    if r.a1 == len(a.words):
        s1 = r.a1  # the text's last sentence may end without a mark
    if s1 <= s0:
        return None
    return ExactRun(s0, r.b0 + (s0 - r.a0), s1 - s0)


def _in_run(doc: Document, token: int) -> bool:
    """Whether ``token`` lies in one of the document's runs (first copy included)."""
    bounds = doc.units.bounds
    return any(bounds[r.start] <= token < bounds[r.end] for r in doc.runs)


def _run_passage(doc: Document, run: Run) -> align.Passage:
    """A run as one repeat: copies ``2..k`` (the later side) repeat copies ``1..k-1``.
    The two sides overlap when ``k >= 3``: the text shifted by one period."""
    bounds = doc.units.bounds
    a0, a1 = int(bounds[run.start]), int(bounds[run.end - run.period])
    b0, b1 = int(bounds[run.start + run.period]), int(bounds[run.end])
    return align.Passage(a0, a1, b0, b1, score=float((a1 - a0) + (b1 - b0)), overlap=1.0)


class _UnitOverlap:
    """Dice coefficient of two units' content terms; each unit's set is built once."""

    def __init__(self, a: Document, b: Document) -> None:
        self.a, self.b = a, b
        self.a_sets: dict[int, set[int]] = {}
        self.b_sets: dict[int, set[int]] = {}

    def __call__(self, i: int, j: int) -> float:
        fi = self.a_sets.get(i)
        if fi is None:
            fi = self.a_sets[i] = self.a.unit_terms(i)
        fj = self.b_sets.get(j)
        if fj is None:
            fj = self.b_sets[j] = self.b.unit_terms(j)
        return align.set_dice(fi, fj)


class Detector:
    """Finds reused passages between texts and repeats inside one text."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.bands, self.rows = lsh_params(self.config.lsh_threshold, self.config.num_perm)

    def prepare(self, text: str, *, work: Work | None = None) -> Document:
        """Run the per-text stages once; the result can be compared many times. Each
        stage is linear in the text (~0.1 s at 200,000 characters); ``work``'s
        cancellation is checked between them."""
        cfg = self.config
        work = Work() if work is None else work
        tokens = tokenize(text)
        work.check()
        terms, words = token_ids(tokens.words, cfg.stem_prefix)
        work.check()
        units = split_units(
            terms,
            tokens.sentence_ends,
            min_unit_tokens=cfg.min_unit_tokens,
            max_unit_tokens=cfg.max_unit_tokens,
        )
        work.check()
        sigs = signatures(units.features, num_perm=cfg.num_perm, seed=cfg.seed)
        work.check()
        runs = find_runs(unit_fingerprints(words, units.bounds))
        hidden = hidden_units(runs, len(units))
        indexable = indexable_rows(sigs)
        indexable = indexable[~hidden[indexable]]
        quoted = quoted_tokens(quoted_spans(text), tokens.starts, tokens.ends)
        segments = [
            np.unique(seg[seg != NO_TERM])
            for s, e in _stretches(quoted, cfg.min_quote_tokens)
            if len(seg := terms[s:e])
        ]
        segments = [f for f in segments if len(f) >= MIN_QUOTE_CONTENT_TERMS]
        return Document(
            tokens=tokens,
            terms=terms,
            words=words,
            units=units,
            signatures=sigs,
            runs=tuple(runs),
            hidden=hidden,
            indexable=indexable,
            band_keys=band_keys(sigs[indexable], self.bands, self.rows),
            quoted=quoted,
            named=_named(tokens),
            windows=Windows.of(words, cfg.min_quote_tokens),
            quote_signatures=(
                signatures(segments, num_perm=cfg.num_perm, seed=cfg.seed)
                if segments
                else np.zeros((0, cfg.num_perm), dtype=np.uint32)
            ),
        )

    def compare(
        self, a: Document | str, b: Document | str, *, work: Work | None = None
    ) -> list[Match]:
        """Passages that ``a`` and ``b`` share, each as its span in ``a`` and its span
        in ``b``. The service passes the new article as ``a`` and a stored source as
        ``b``. Comparing a document with itself (the same object, or two equal strings)
        reports its internal repeats, the earlier occurrence as ``a``; two prepared
        documents with equal texts are two articles, and align from end to end.

        ``work`` receives the counters and may carry a cancellation callable; each
        stage stops at its bound in ``EngineConfig`` (see ``Work``)."""
        work = Work() if work is None else work
        work.check()
        same = a is b or (isinstance(a, str) and a == b)
        da = self.prepare(a, work=work) if isinstance(a, str) else a
        db = da if same else (self.prepare(b, work=work) if isinstance(b, str) else b)
        work.comparisons += 1
        for d in (da,) if same else (da, db):
            work.units += len(d.units)
            work.collapsed_units += int(d.hidden.sum())
        work.check()
        strong = self.seeds(da, db, same_text=same, work=work)
        seeds = self.extend(da, db, strong, same_text=same, work=work)
        found = self._align(da, db, seeds, set(strong), same_text=same, work=work)
        if not same:  # post-stage: summary mode (engine/summary.py), off at summary_ratio 0
            found = summarise(da, db, found, self.config, work)
        work.check()
        return [replace(m, confidence=confidence(features(da, db, m))) for m in found]

    def repeats(self, doc: Document | str, *, work: Work | None = None) -> list[Match]:
        """Passages repeated inside one text; ``a`` is the earlier occurrence. A run of
        ``k`` copies is one match: copies ``2..k`` repeat copies ``1..k-1``."""
        d = self.prepare(doc) if isinstance(doc, str) else doc
        return self.compare(d, d, work=work)

    def seeds(
        self, a: Document, b: Document, *, same_text: bool, work: Work | None = None
    ) -> list[tuple[int, int]]:
        """Unit pairs that LSH proposes and whose content terms really overlap; at most
        ``max_seed_pairs`` band collisions are looked at."""
        work = Work() if work is None else work
        threshold = self.config.seed_threshold
        a_rows, b_rows = a.indexable.tolist(), b.indexable.tolist()
        overlap = _UnitOverlap(a, b)
        out: list[tuple[int, int]] = []
        pairs, proposed, complete = band_join_bounded(
            a.band_keys, b.band_keys, max_pairs=self.config.max_seed_pairs
        )
        work.seed_pairs += proposed
        if not complete:
            work.limited.add("max_seed_pairs")
        for k, (ra, rb) in enumerate(pairs):
            if k % 1024 == 0:
                work.check()
            i, j = a_rows[ra], b_rows[rb]
            if not (same_text and j <= i) and overlap(i, j) >= threshold:
                out.append((i, j))
        return out

    def extend(
        self,
        a: Document,
        b: Document,
        seeds: list[tuple[int, int]],
        *,
        same_text: bool,
        work: Work | None = None,
    ) -> list[tuple[int, int]]:
        """Add the unit pairs near a seed whose exact Dice reaches ``extend_threshold``.

        LSH is tuned to miss little at ``seed_threshold``; around a seed, where reuse is
        already likely, an exact look at the neighbours finds the looser sentences of
        the same passage (reordered, partly replaced) that LSH cannot afford to. Units
        hidden by a run are skipped; at most ``max_extend_pairs`` pairs are looked at.
        """
        if not seeds:
            return seeds
        work = Work() if work is None else work
        gap = self.config.max_gap_units
        threshold = self.config.extend_threshold
        budget = self.config.max_extend_pairs
        na, nb = len(a.units), len(b.units)
        hidden_a, hidden_b = a.hidden.tolist(), b.hidden.tolist()
        found = set(seeds)
        checked: set[tuple[int, int]] = set(seeds)
        overlap = _UnitOverlap(a, b)
        for i0, j0 in seeds:
            work.check()
            if len(checked) - len(seeds) >= budget:
                work.limited.add("max_extend_pairs")
                break
            for i in range(max(0, i0 - gap), min(na, i0 + gap + 1)):
                if hidden_a[i]:
                    continue
                for j in range(max(0, j0 - gap), min(nb, j0 + gap + 1)):
                    if (i, j) in checked or (same_text and j <= i) or hidden_b[j]:
                        continue
                    checked.add((i, j))
                    if overlap(i, j) >= threshold:
                        found.add((i, j))
        work.extend_pairs += len(checked) - len(seeds)
        return sorted(found)

    def _align(
        self,
        a: Document,
        b: Document,
        seeds: list[tuple[int, int]],
        strong: set[tuple[int, int]],
        *,
        same_text: bool,
        work: Work,
    ) -> list[Match]:
        cfg = self.config
        ab, bb = a.units.bounds, b.units.bounds

        def make(
            cluster: list[tuple[int, int]],
        ) -> tuple[align.Passage, list[tuple[int, int]]] | None:
            work.check()
            work.clusters += 1
            work.largest_cluster = max(work.largest_cluster, len(cluster))
            ia = [s[0] for s in cluster]
            jb = [s[1] for s in cluster]
            a0, a1 = int(ab[min(ia)]), int(ab[max(ia) + 1])
            b0, b1 = int(bb[min(jb)]), int(bb[max(jb) + 1])
            cells = (a1 - a0) * (b1 - b0)
            if cells > cfg.max_refine_cells:  # a single unit pair larger than the bound
                work.limited.add("max_refine_cells")
                return None
            p = self._refine(a, b, (a0, a1, b0, b1), work)
            if p is None:
                return None

            def holds(seed: tuple[int, int]) -> bool:
                i, j = seed
                return bool(ab[i] < p.a1 and p.a0 < ab[i + 1] and bb[j] < p.b1 and p.b0 < bb[j + 1])

            # The trimmed passage must still hold every strong seed it was built from,
            # on both sides; otherwise the cluster joined separate passages (a copy
            # with a paragraph inserted) and is split with a smaller gap. Weak seeds it
            # drops are clustered again.
            if not all(holds(s) for s in cluster if s in strong):
                return None
            passage = scored(p)
            if passage is None:
                return None
            return passage, [s for s in cluster if not holds(s)]

        def scored(p: align.Passage) -> align.Passage | None:
            work.check()  # merging calls this once per candidate union, unchecked otherwise
            if same_text and p.a0 < p.b1 and p.b0 < p.a1:
                return None
            sim = align.dice(a.terms[p.a0 : p.a1], b.terms[p.b0 : p.b1])
            if sim < cfg.passage_threshold:
                return None
            return align.Passage(
                p.a0, p.a1, p.b0, p.b1, score=sim * ((p.a1 - p.a0) + (p.b1 - p.b0)), overlap=sim
            )

        def fits(cluster: list[tuple[int, int]]) -> bool:
            ia = [s[0] for s in cluster]
            jb = [s[1] for s in cluster]
            a_len = int(ab[max(ia) + 1] - ab[min(ia)])
            b_len = int(bb[max(jb) + 1] - bb[min(jb)])
            if a_len * b_len <= cfg.max_refine_cells:
                return True
            work.limited.add("max_refine_cells")
            return False

        def spent() -> bool:
            work.check()  # once per cluster, refined or cut
            if "max_align_cells" in work.limited:
                return True
            if work.passages >= cfg.max_passages:
                work.limited.add("max_passages")
                return True
            return False

        def built_one() -> None:
            work.passages += 1

        built = align.build_passages(
            seeds, strong, cfg.max_gap_units, make, fits=fits, stop=spent, on_passage=built_one
        )
        work.check()
        # Overlaps are resolved before merging, so that stray short passages do not sit
        # between the pieces of one passage, and again after it.
        kept = align.resolve_overlaps(built, same_text=same_text, work=work)
        merged = align.merge_adjacent(kept, cfg.merge_gap_tokens, scored)
        merged = [self._through_runs(a, b, p, scored, same_text=same_text) for p in merged]
        if same_text:
            merged += [_run_passage(a, r) for r in a.runs]
        work.check()
        kept = align.resolve_overlaps(merged, same_text=same_text, work=work)
        found = [(p, self._match(a, b, p, work)) for p in kept]
        least = self._least_tokens(a, b)
        found = [
            (p, m)
            for p, m in found
            if self._long_enough(m, p, least) and self._evidenced(a, b, p, m)
        ]
        if not same_text:
            found = self._exact(a, b, found, scored, work)
        return [m for _, m in found]

    def _exact(
        self,
        a: Document,
        b: Document,
        found: list[tuple[align.Passage, Match]],
        scored: Callable[[align.Passage], align.Passage | None],
        work: Work,
    ) -> list[tuple[align.Passage, Match]]:
        """Exact runs are never swallowed: a run of ``min_exact_run_tokens`` words or
        more (``min_quote_tokens`` inside quotation marks) that a reworded match holds
        is reported on its own as verbatim, and the reworded match is split around it
        (its pieces kept if they still pass as passages). A shared quote outside every
        match is reported as ``QUOTE``. Work: one window join (``max_exact_pairs``)."""
        cfg = self.config
        work.check()
        runs, proposed, complete = shared_runs(
            a.windows, b.windows, k=cfg.min_quote_tokens, max_pairs=cfg.max_exact_pairs
        )
        work.exact_pairs += proposed
        if not complete:
            work.limited.add("max_exact_pairs")
        if not runs:
            return found
        quotes = sorted(self._quoted_runs(a, b, runs), key=lambda r: (-r.length, r.a0))
        # What is cut out of a reworded match: a whole quote copied word for word (all
        # the words between the marks, on one side at least), then whole sentences
        # copied word for word. A run that goes on past the marks or a sentence ("...
        # piers. “We ...,” the") is reported as the quote or the sentences; the words
        # around it stay with the rewording. A run inside a uniformly edited passage
        # (light obfuscation, round-trip translation) rarely holds a whole quote or
        # sentence, and that passage stays one match.
        sentences = sorted(
            (x for r in runs if (x := _sentences(a, r)) and x.length >= cfg.min_exact_run_tokens),
            key=lambda r: (-r.length, r.a0),
        )
        strong = [r for r in quotes if _whole_quote(a, b, r)] + [
            r for r in sentences if r.length >= cfg.min_split_run_tokens
        ]
        out: list[tuple[align.Passage, Match]] = []
        for p, m in found:
            inside = [
                r
                for r in strong
                if overlaps(r.a0, r.a1, p.a0, p.a1) and overlaps(r.b0, r.b1, p.b0, p.b1)
            ]
            if m.kind is not Kind.REWORDED or not inside:
                out.append((p, m))
                continue
            out += self._split(a, b, p, inside, scored, work)
        # A quote stands alone when it is copied whole (all the words between the
        # marks on one side at least: five words of two long speeches that happen to
        # agree are no quote) and no match explains either side already (the same
        # words said twice, once inside a longer copy, are not a second quote).
        taken = [p for p, _ in out]
        # Whole sentences copied word for word stand alone from ``min_exact_run_tokens``
        # up (a one-sentence quote without marks is shorter than ``min_match_tokens``).
        for r in sentences:
            if not any(
                overlaps(r.a0, r.a1, t.a0, t.a1) or overlaps(r.b0, r.b1, t.b0, t.b1) for t in taken
            ):
                q = _exact_passage(r)
                out.append((q, self._exact_match(a, b, r, Kind.VERBATIM)))
                taken.append(q)
        for r in quotes:
            if _whole_quote(a, b, r) and not any(
                overlaps(r.a0, r.a1, t.a0, t.a1) or overlaps(r.b0, r.b1, t.b0, t.b1) for t in taken
            ):
                q = _exact_passage(r)
                out.append((q, self._exact_match(a, b, r, Kind.QUOTE)))
                taken.append(q)
        return sorted(out, key=lambda x: (x[0].a0, x[0].b0))

    def _quoted_runs(self, a: Document, b: Document, runs: list[ExactRun]) -> list[ExactRun]:
        """The parts of ``runs`` inside quotation marks: inside them on both sides
        when that leaves ``min_quote_tokens``, else on either side; each with at least
        ``MIN_QUOTE_CONTENT_TERMS`` content terms (a run of function words is no
        evidence)."""
        least = self.config.min_quote_tokens
        out: list[ExactRun] = []
        for r in runs:
            qa, qb = a.quoted[r.a0 : r.a1], b.quoted[r.b0 : r.b1]
            if not (qa.any() or qb.any()):
                continue
            parts = _stretches(qa & qb, least) or _stretches(qa | qb, least)
            for s, e in parts:
                piece = ExactRun(r.a0 + s, r.b0 + s, e - s)
                content = int((a.terms[piece.a0 : piece.a1] != NO_TERM).sum())
                if content >= MIN_QUOTE_CONTENT_TERMS:
                    out.append(piece)
        return out

    def _split(
        self,
        a: Document,
        b: Document,
        p: align.Passage,
        runs: list[ExactRun],
        scored: Callable[[align.Passage], align.Passage | None],
        work: Work,
    ) -> list[tuple[align.Passage, Match]]:
        """``p`` cut around the exact ``runs`` it holds: the runs as verbatim matches,
        in the same order on both sides (taken in the order given, each unless it
        overlaps or crosses one taken before), and the pieces between
        them refined again and kept when they still pass as passages."""
        chosen: list[ExactRun] = []
        for r in runs:
            if all(
                (r.a1 <= c.a0 and r.b1 <= c.b0) or (c.a1 <= r.a0 and c.b1 <= r.b0) for c in chosen
            ):
                chosen.append(r)
        chosen.sort(key=lambda r: r.a0)
        out = [(_exact_passage(r), self._exact_match(a, b, r, Kind.VERBATIM)) for r in chosen]
        edges_a = [p.a0, *(x for r in chosen for x in (r.a0, r.a1)), p.a1]
        edges_b = [p.b0, *(x for r in chosen for x in (r.b0, r.b1)), p.b1]
        for k in range(0, len(edges_a), 2):
            a0, a1, b0, b1 = edges_a[k], edges_a[k + 1], edges_b[k], edges_b[k + 1]
            if a1 <= a0 or b1 <= b0:
                continue
            refined = self._refine(a, b, (a0, a1, b0, b1), work)
            piece = scored(refined) if refined is not None else None
            if piece is None:
                continue
            m = self._match(a, b, piece, work)
            if self._long_enough(m, piece, self._least_tokens(a, b)) and self._evidenced(
                a, b, piece, m
            ):
                out.append((piece, m))
        return out

    @staticmethod
    def _exact_match(a: Document, b: Document, r: ExactRun, kind: Kind) -> Match:
        """A run as a match; a quote's spans are the words inside the marks, a
        verbatim run's end moves over the punctuation that closes it."""
        ta, tb = a.tokens, b.tokens
        a_end, b_end = int(ta.ends[r.a1 - 1]), int(tb.ends[r.b1 - 1])
        if kind is not Kind.QUOTE:
            a_end, b_end = _close(ta.text, a_end), _close(tb.text, b_end)
        return Match(
            a_start=int(ta.starts[r.a0]),
            a_end=a_end,
            b_start=int(tb.starts[r.b0]),
            b_end=b_end,
            similarity=1.0,
            kind=kind,
        )

    @staticmethod
    def _through_runs(
        a: Document,
        b: Document,
        p: align.Passage,
        scored: Callable[[align.Passage], align.Passage | None],
        *,
        same_text: bool,
    ) -> align.Passage:
        """Extend a passage that ends inside a run, on either side, for as long as both
        texts go on with the same words: the run's hidden copies take part in a match
        without ever being seeded. Work: one vectorised comparison, at most the text."""
        if not (_in_run(a, p.a1) or _in_run(b, p.b1)):
            return p
        room = min(len(a.words) - p.a1, len(b.words) - p.b1)
        if same_text:
            room = min(room, p.b0 - p.a1)  # the earlier occurrence stays before the later
        if room <= 0:
            return p
        equal = a.words[p.a1 : p.a1 + room] == b.words[p.b1 : p.b1 + room]
        grow = room if bool(equal.all()) else int(np.argmin(equal))
        if not grow:
            return p
        longer = scored(align.Passage(p.a0, p.a1 + grow, p.b0, p.b1 + grow, score=0.0))
        return p if longer is None else longer

    def _evidenced(self, a: Document, b: Document, p: align.Passage, m: Match) -> bool:
        """Names, numbers, dates and places alone never make a reworded match. Leaving
        out the tokens that name (``Document.named``), the Dice coefficient of the two
        sides' content terms must reach ``min_evidence_dice``, or half the Dice with
        them (the names did not make the likeness). Two reports of one court hearing
        share the defendant, his age, the court and the date, and little else: 0.61
        with the names, 0.17 without."""
        if m.kind is not Kind.REWORDED:
            return True
        ta, tb = a.terms[p.a0 : p.a1], b.terms[p.b0 : p.b1]
        said = align.dice(ta[~a.named[p.a0 : p.a1]], tb[~b.named[p.b0 : p.b1]])
        return said >= self.config.min_evidence_dice or said >= align.dice(ta, tb) / 2

    def _least_tokens(self, a: Document, b: Document) -> int:
        """The shortest copy reported between ``a`` and ``b``: ``min_match_tokens``,
        scaled down for short texts to ``short_text_share`` of the shorter one (a
        wire brief reprinted whole is reuse whatever its length), never below
        ``min_quote_tokens`` (a share of 0 turns the scaling off)."""
        cfg = self.config
        if not cfg.short_text_share:
            return cfg.min_match_tokens
        shorter = min(len(a.words), len(b.words))
        scaled = math.ceil(cfg.short_text_share * shorter)
        return min(cfg.min_match_tokens, max(cfg.min_quote_tokens, scaled))

    def _refine(
        self, a: Document, b: Document, span: tuple[int, int, int, int], work: Work
    ) -> align.Passage | None:
        """``align.refine`` of the token ranges ``span`` (a0, a1, b0, b1), counted in
        ``work``; None when it would pass ``max_align_cells`` for this comparison."""
        cfg = self.config
        a0, a1, b0, b1 = span
        cells = (a1 - a0) * (b1 - b0)
        if work.align_cells + cells > cfg.max_align_cells:
            work.limited.add("max_align_cells")
            return None
        work.align_cells += cells
        return align.refine(
            align.Passage(a0, a1, b0, b1, score=0.0),
            (a.words, a.terms),
            (b.words, b.terms),
            miss_penalty=cfg.miss_penalty,
            shared_weight=cfg.shared_weight,
            edge_cut=cfg.edge_cut,
        )

    def _long_enough(self, m: Match, p: align.Passage, least: int) -> bool:
        """Short passages need more evidence: an exact quote of ``least`` tokens
        (``_least_tokens``) stands, a loose paraphrase must be longer, or, if short,
        closer."""
        cfg = self.config
        shortest = min(p.a1 - p.a0, p.b1 - p.b0)
        if m.kind is Kind.REWORDED:
            if (
                shortest < cfg.short_passage_tokens
                and m.similarity < cfg.short_passage_similarity
                and p.overlap < cfg.short_passage_overlap
            ):
                return False
            return shortest >= cfg.min_reworded_tokens
        return shortest >= least

    def _match(self, a: Document, b: Document, p: align.Passage, work: Work) -> Match:
        wa, wb = a.words[p.a0 : p.a1], b.words[p.b0 : p.b1]
        if np.array_equal(wa, wb):
            similarity = 1.0  # a copy (often a long run): no alignment needed
        else:
            work.check()
            work.similarity_cells += len(wa) * len(wb)
            similarity = Indel.normalized_similarity(wa.tolist(), wb.tolist())
        if similarity >= 1.0:
            kind = Kind.VERBATIM
        elif similarity >= NEAR_VERBATIM_SIMILARITY:
            kind = Kind.NEAR_VERBATIM
        else:
            kind = Kind.REWORDED
        ta, tb = a.tokens, b.tokens
        return Match(
            a_start=int(ta.starts[p.a0]),
            a_end=_close(ta.text, int(ta.ends[p.a1 - 1])),
            b_start=int(tb.starts[p.b0]),
            b_end=_close(tb.text, int(tb.ends[p.b1 - 1])),
            similarity=float(similarity),
            kind=kind,
        )
