"""The detection pipeline: prepare texts once, then compare them or find repeats.

    text --normalize/tokenize--> Tokens --terms--> term ids --units--> Units
         --signature--> MinHash rows --index--> candidate unit pairs (seeds)
         --align--> passages --refine/filter--> Match list

Every stage is a module of its own; ``Document`` keeps each intermediate result so that
it can be inspected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from wiretrace.engine import align
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.index import band_join, band_keys, lsh_params
from wiretrace.engine.signature import indexable_rows, signatures
from wiretrace.engine.terms import token_ids
from wiretrace.engine.tokenize import Tokens, tokenize
from wiretrace.engine.units import Units, split_units

__all__ = ["Detector", "Document", "Kind", "Match"]

NEAR_VERBATIM_SIMILARITY = 0.8


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

    def swapped(self) -> Match:
        """The same match seen from text B: ``a`` and ``b`` exchanged. A repeat is
        reported on its later occurrence, with the earlier one as its source."""
        return Match(self.b_start, self.b_end, self.a_start, self.a_end, self.similarity, self.kind)

    def as_dict(self) -> dict[str, object]:
        return {
            "a_start": self.a_start,
            "a_end": self.a_end,
            "b_start": self.b_start,
            "b_end": self.b_end,
            "similarity": round(self.similarity, 4),
            "kind": self.kind.value,
        }


@dataclass(frozen=True, slots=True)
class Document:
    """A text prepared for matching, with every intermediate result of the pipeline."""

    tokens: Tokens
    terms: npt.NDArray[np.int64]
    words: npt.NDArray[np.int64]
    units: Units
    signatures: npt.NDArray[np.uint32]
    #: Rows of units that have content terms, and their LSH band keys.
    indexable: npt.NDArray[np.int64]
    band_keys: npt.NDArray[np.uint64]

    @property
    def text(self) -> str:
        return self.tokens.text

    def unit_terms(self, u: int) -> set[int]:
        return set(self.units.features[u].tolist())


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

    def prepare(self, text: str) -> Document:
        """Run the per-text stages once; the result can be compared many times."""
        cfg = self.config
        tokens = tokenize(text)
        terms, words = token_ids(tokens.words, cfg.stem_prefix)
        units = split_units(
            terms,
            tokens.sentence_ends,
            min_unit_tokens=cfg.min_unit_tokens,
            max_unit_tokens=cfg.max_unit_tokens,
        )
        sigs = signatures(units.features, num_perm=cfg.num_perm, seed=cfg.seed)
        indexable = indexable_rows(sigs)
        return Document(
            tokens=tokens,
            terms=terms,
            words=words,
            units=units,
            signatures=sigs,
            indexable=indexable,
            band_keys=band_keys(sigs[indexable], self.bands, self.rows),
        )

    def compare(self, a: Document | str, b: Document | str) -> list[Match]:
        """Passages that ``a`` and ``b`` share, each as its span in ``a`` and its span
        in ``b``. The service passes the new article as ``a`` and a stored source as
        ``b``. Comparing a document with itself (the same object, or two equal strings)
        reports its internal repeats, the earlier occurrence as ``a``; two prepared
        documents with equal texts are two articles, and align from end to end."""
        same = a is b or (isinstance(a, str) and a == b)
        da = self.prepare(a) if isinstance(a, str) else a
        db = da if same else (self.prepare(b) if isinstance(b, str) else b)
        strong = self.seeds(da, db, same_text=same)
        seeds = self.extend(da, db, strong, same_text=same)
        return self._align(da, db, seeds, set(strong), same_text=same)

    def repeats(self, doc: Document | str) -> list[Match]:
        """Passages repeated inside one text; ``a`` is the earlier occurrence."""
        d = self.prepare(doc) if isinstance(doc, str) else doc
        return self.compare(d, d)

    def seeds(self, a: Document, b: Document, *, same_text: bool) -> list[tuple[int, int]]:
        """Unit pairs that LSH proposes and whose content terms really overlap."""
        threshold = self.config.seed_threshold
        a_rows, b_rows = a.indexable.tolist(), b.indexable.tolist()
        overlap = _UnitOverlap(a, b)
        out: list[tuple[int, int]] = []
        for ra, rb in band_join(a.band_keys, b.band_keys):
            i, j = a_rows[ra], b_rows[rb]
            if not (same_text and j <= i) and overlap(i, j) >= threshold:
                out.append((i, j))
        return out

    def extend(
        self, a: Document, b: Document, seeds: list[tuple[int, int]], *, same_text: bool
    ) -> list[tuple[int, int]]:
        """Add the unit pairs near a seed whose exact Dice reaches ``extend_threshold``.

        LSH is tuned to miss little at ``seed_threshold``; around a seed, where reuse is
        already likely, an exact look at the neighbours finds the looser sentences of
        the same passage (reordered, partly replaced) that LSH cannot afford to.
        """
        if not seeds:
            return seeds
        gap = self.config.max_gap_units
        threshold = self.config.extend_threshold
        na, nb = len(a.units), len(b.units)
        found = set(seeds)
        checked: set[tuple[int, int]] = set(seeds)
        overlap = _UnitOverlap(a, b)
        for i0, j0 in seeds:
            for i in range(max(0, i0 - gap), min(na, i0 + gap + 1)):
                for j in range(max(0, j0 - gap), min(nb, j0 + gap + 1)):
                    if (i, j) in checked or (same_text and j <= i):
                        continue
                    checked.add((i, j))
                    if overlap(i, j) >= threshold:
                        found.add((i, j))
        return sorted(found)

    def _align(
        self,
        a: Document,
        b: Document,
        seeds: list[tuple[int, int]],
        strong: set[tuple[int, int]],
        *,
        same_text: bool,
    ) -> list[Match]:
        cfg = self.config
        ab, bb = a.units.bounds, b.units.bounds

        def make(
            cluster: list[tuple[int, int]],
        ) -> tuple[align.Passage, list[tuple[int, int]]] | None:
            ia = [s[0] for s in cluster]
            jb = [s[1] for s in cluster]
            a0, a1 = int(ab[min(ia)]), int(ab[max(ia) + 1])
            b0, b1 = int(bb[min(jb)]), int(bb[max(jb) + 1])
            p = align.refine(
                align.Passage(a0, a1, b0, b1, score=0.0),
                (a.words, a.terms),
                (b.words, b.terms),
                miss_penalty=cfg.miss_penalty,
                shared_weight=cfg.shared_weight,
                edge_cut=cfg.edge_cut,
            )
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
            if same_text and p.a0 < p.b1 and p.b0 < p.a1:
                return None
            sim = align.dice(a.terms[p.a0 : p.a1], b.terms[p.b0 : p.b1])
            if sim < cfg.passage_threshold:
                return None
            return align.Passage(
                p.a0, p.a1, p.b0, p.b1, score=sim * ((p.a1 - p.a0) + (p.b1 - p.b0)), overlap=sim
            )

        built = align.build_passages(seeds, strong, cfg.max_gap_units, make)
        # Overlaps are resolved before merging, so that stray short passages do not sit
        # between the pieces of one passage, and again after it.
        kept = align.resolve_overlaps(built, same_text=same_text)
        merged = align.merge_adjacent(kept, cfg.merge_gap_tokens, scored)
        kept = align.resolve_overlaps(merged, same_text=same_text)
        matches = [self._match(a, b, p) for p in kept]
        return [m for m, p in zip(matches, kept, strict=True) if self._long_enough(m, p)]

    def _long_enough(self, m: Match, p: align.Passage) -> bool:
        """Short passages need more evidence: an exact quote of ``min_match_tokens``
        stands, a loose paraphrase must be longer, or, if short, closer."""
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
        return shortest >= cfg.min_match_tokens

    def _match(self, a: Document, b: Document, p: align.Passage) -> Match:
        similarity = Indel.normalized_similarity(
            a.words[p.a0 : p.a1].tolist(), b.words[p.b0 : p.b1].tolist()
        )
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
