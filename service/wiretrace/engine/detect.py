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

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt

import wiretrace._core as _core
from wiretrace.engine import align
from wiretrace.engine.confidence import COEFFICIENTS
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.exact import Windows
from wiretrace.engine.index import lsh_params
from wiretrace.engine.runs import Run
from wiretrace.engine.signature import permutations
from wiretrace.engine.tokenize import Tokens
from wiretrace.engine.units import Units
from wiretrace.engine.work import Work
from wiretrace.errors import Expired

__all__ = ["Detector", "Document", "Kind", "Match", "Prepared"]

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
    _aligned: _core.PreparedDoc | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def stored_signatures(self) -> npt.NDArray[np.uint32]:
        """What the service stores and indexes: the units' rows, then the quotes'."""
        if not len(self.quote_signatures):
            return self.signatures
        return np.concatenate((self.signatures, self.quote_signatures))

    @property
    def text(self) -> str:
        return self.tokens.text

    def aligned(self) -> _core.PreparedDoc:
        """The compiled core's copy of what the alignment reads: ``Detector.prepare``
        returns it with the document; one built otherwise is converted on first use
        and kept."""
        if self._aligned is None:
            object.__setattr__(self, "_aligned", align.prepared_doc(self))
        assert self._aligned is not None
        return self._aligned


@dataclass(frozen=True, slots=True, eq=False)
class Prepared:
    """What the service keeps of a prepared text (``Detector.prepare_sources``): its
    tokens' spans in code points, its units' token bounds, the signatures a stored
    article keeps (the units' rows, then the quotes', as ``Document.stored_signatures``),
    and the core's copy that ``compare`` aligns. A few arrays, where a ``Document``
    keeps every stage's: cheaper to make, to cache and to drop."""

    text: str
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    #: Unit ``u`` is tokens ``unit_bounds[u]:unit_bounds[u + 1]``.
    unit_bounds: npt.NDArray[np.int64]
    stored_signatures: npt.NDArray[np.uint32]
    core: _core.PreparedDoc

    @property
    def units(self) -> int:
        return len(self.unit_bounds) - 1

    def aligned(self) -> _core.PreparedDoc:
        return self.core


class Detector:
    """Finds reused passages between texts and repeats inside one text."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.bands, self.rows = lsh_params(self.config.lsh_threshold, self.config.num_perm)
        # The core's copies of the settings, made once: every call passes them.
        self._prepare = _prepare_config(self.config)
        self._align = align.align_config(self.config)

    def prepare(self, text: str, *, work: Work | None = None, words: bool = True) -> Document:
        """Run the per-text stages once; the result can be compared many times. Each
        stage is linear in the text.

        Every stage (normalisation, tokens, content terms, units, quoted and named
        tokens, signatures, runs and hidden units, seeding rows and their band keys,
        the quotes' signatures, the exact-run windows, the tokens' spans) runs in the
        compiled core in one call with the GIL released (``core/engine/src/prepare.rs``),
        which also returns the alignment's copy of the document: ~10 ms at 200,000
        characters; ``work``'s cancellation is checked after it. ``words=False`` leaves
        the normalised token strings out (``Tokens.words`` empty): a document to
        compare, not to prepare from again, built without one Python string per
        token."""
        work = Work() if work is None else work
        (parts,) = align.core_call(_core.prepare_many, [text], self._prepare, words=words)
        work.check()
        return _document(text, parts, self.config)

    def prepare_sources(self, texts: Sequence[str]) -> list[Prepared]:
        """``prepare`` of each of ``texts`` in one core call (one release of the GIL for
        them all, which the service's ingest rounds share), keeping of each only what
        the service reads (``Prepared``): ``compare`` answers the same with it as with
        the ``Document``. The callers check their cancellation after it."""
        parts = align.core_call(_core.prepare_many, list(texts), self._prepare, lean=True)
        return [Prepared(text, *p) for text, p in zip(texts, parts, strict=True)]

    def compare(
        self,
        a: Document | Prepared | str,
        b: Document | Prepared | str,
        *,
        work: Work | None = None,
        parallel: bool | None = None,
    ) -> list[Match]:
        """Passages that ``a`` and ``b`` share, each as its span in ``a`` and its span
        in ``b``. The service passes the new article as ``a`` and a stored source as
        ``b``. Comparing a document with itself (the same object, or two equal strings)
        reports its internal repeats, the earlier occurrence as ``a``; two prepared
        documents with equal texts are two articles, and align from end to end.

        ``work`` receives the counters and may carry a cancellation callable; each
        stage stops at its bound in ``EngineConfig`` (see ``Work``).

        One core call (``_core.detect``, GIL released) prepares the sides given as
        text (two on two threads when ``parallel``; None: when the machine has a core
        to spare), aligns them,
        runs the summary stage on the matches between two texts
        (``core/engine/src/summary.rs``) and returns the matches in code points with
        their confidences (``core/engine/src/matches.rs``: a match runs from its first
        token's start to its last token's end, moved over the punctuation that closes a
        sentence or a quote, ``_close``, except a quote's, whose spans are the words
        inside the marks); Python only builds the ``Match`` list."""
        work = Work() if work is None else work
        work.check()
        same = a is b or (isinstance(a, str) and a == b)
        side_a = a if isinstance(a, str) else a.aligned()
        side_b = None if same else (b if isinstance(b, str) else b.aligned())
        found = align.detect(
            side_a,
            side_b,
            prepare=self._prepare,
            config=self._align,
            coefficients=COEFFICIENTS,
            work=work,
            parallel=parallel,
        )
        work.check()
        return _matches(found)

    def compare_many(
        self, jobs: Sequence[tuple[Document | Prepared, Sequence[Document | Prepared], Work]]
    ) -> list[tuple[list[list[Match]], list[Match]] | Expired]:
        """For each job ``(doc, sources, work)``: ``compare(doc, source)`` of each of
        its sources, then ``repeats(doc)``, in one core call for all the jobs (one
        release of the GIL), each job counted in its own ``work``; or ``Expired`` when
        its caller gave up (``align.detect_many``)."""
        found = align.detect_many(
            [
                (doc.aligned(), [s.aligned() for s in sources] + [None], work)
                for doc, sources, work in jobs
            ],
            config=self._align,
            coefficients=COEFFICIENTS,
        )
        out: list[tuple[list[list[Match]], list[Match]] | Expired] = []
        for one in found:
            if isinstance(one, Expired):
                out.append(one)
                continue
            *crossed, repeated = (_matches(found) for found in one)
            out.append((crossed, repeated))
        return out

    def repeats(self, doc: Document | Prepared | str, *, work: Work | None = None) -> list[Match]:
        """Passages repeated inside one text; ``a`` is the earlier occurrence. A run of
        ``k`` copies is one match: copies ``2..k`` repeat copies ``1..k-1``."""
        d = self.prepare(doc) if isinstance(doc, str) else doc
        return self.compare(d, d, work=work)


@lru_cache(maxsize=16)
def _prepare_config(config: EngineConfig) -> _core.PrepareConfig:
    """The core's copy of the settings ``prepare`` reads, with the permutations and
    the band shape."""
    perm_a, perm_b = permutations(config.num_perm, config.seed)
    bands, rows = lsh_params(config.lsh_threshold, config.num_perm)
    return _core.PrepareConfig(
        stem_prefix=config.stem_prefix,
        min_unit_tokens=config.min_unit_tokens,
        max_unit_tokens=config.max_unit_tokens,
        min_quote_tokens=config.min_quote_tokens,
        min_quote_content_terms=MIN_QUOTE_CONTENT_TERMS,
        perm_a=perm_a,
        perm_b=perm_b,
        bands=bands,
        rows=rows,
    )


def _document(text: str, parts: _core.Parts, config: EngineConfig) -> Document:
    """The ``Document`` of ``text`` from the parts the core prepared."""
    (
        token_words,
        starts,
        ends,
        sentence_ends,
        terms,
        words,
        bounds,
        unit_features,
        feature_bounds,
        quoted,
        named,
        sigs,
        runs,
        hidden,
        indexable,
        keys,
        quote_sigs,
        window_hashes,
        window_rare,
        window_order,
        prepared,
    ) = parts
    doc = Document(
        tokens=Tokens(text, token_words, starts, ends, sentence_ends),
        terms=terms,
        words=words,
        units=Units(bounds, unit_features, feature_bounds),
        signatures=sigs,
        runs=tuple(Run(*runs[k : k + 3].tolist()) for k in range(0, len(runs), 3)),
        hidden=hidden,
        indexable=indexable,
        band_keys=keys,
        quoted=quoted,
        named=named,
        windows=Windows(config.min_quote_tokens, window_hashes, window_rare, window_order),
        quote_signatures=quote_sigs,
    )
    object.__setattr__(doc, "_aligned", prepared)
    return doc


def _matches(found: align.Found) -> list[Match]:
    """The core's matches of one comparison (``align.detect``'s tuples) as ``Match``es."""
    return [
        Match(a0, a1, b0, b1, sim, _KINDS[kind], conf) for a0, a1, b0, b1, sim, kind, conf in found
    ]


#: The core's kind codes (``align.KINDS``) as kinds.
_KINDS = tuple(Kind(k) for k in align.KINDS)
