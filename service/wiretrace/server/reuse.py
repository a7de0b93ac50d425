"""The service's domain logic, free of any transport: ingest, query, compare, get,
delete, expire, stats over an ``ArticleStore`` (articles and their passage index).

Detection for a new article: its units' signatures are looked up in the index; the
articles owning the hits are the candidates (most hits first, after the outlet and
date filters); each is aligned with the engine's ``compare``; the article's own repeats
come from ``repeats``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wiretrace import __version__
from wiretrace.engine.detect import Detector, Document, Kind, Match
from wiretrace.errors import Expired, InvalidInput, NotFound, TooLarge, Unavailable
from wiretrace.server.config import MAX_ID_CHARS, MAX_OPTION_LIMIT, ServerConfig
from wiretrace.store import (
    UNIT_BITS,
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    StoredMeta,
    open_store,
)
from wiretrace.store.base import text_conflict

__all__ = ["DetectOptions", "Detection", "IngestOutcome", "Reuse", "ReuseService", "Stats"]

log = logging.getLogger("wiretrace.server")

_UNIT_MASK = (1 << UNIT_BITS) - 1


@dataclass(frozen=True, slots=True)
class DetectOptions:
    min_similarity: float = 0.0
    min_tokens: int = 0
    include_outlets: frozenset[str] = frozenset()
    exclude_outlets: frozenset[str] = frozenset()
    exclude_same_outlet: bool = False
    published_after_ns: int | None = None
    published_before_ns: int | None = None
    max_results: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_similarity <= 1.0:
            raise InvalidInput(f"min_similarity must be in [0, 1], got {self.min_similarity}")
        if not 0 <= self.min_tokens <= MAX_OPTION_LIMIT:
            raise InvalidInput(
                f"min_tokens must be in [0, {MAX_OPTION_LIMIT}], got {self.min_tokens}"
            )
        if not 0 <= self.max_results <= MAX_OPTION_LIMIT:
            raise InvalidInput(
                f"max_results must be in [0, {MAX_OPTION_LIMIT}] (0: server default), "
                f"got {self.max_results}"
            )
        if (
            self.published_after_ns is not None
            and self.published_before_ns is not None
            and self.published_after_ns >= self.published_before_ns
        ):
            raise InvalidInput("published_after must be earlier than published_before")


@dataclass(frozen=True, slots=True)
class Reuse:
    source_id: str
    source_outlet: str
    source_published_at_ns: int | None
    start: int
    end: int
    source_start: int
    source_end: int
    similarity: float
    kind: Kind


@dataclass(frozen=True, slots=True)
class Detection:
    matches: list[Reuse]
    reused_fraction: float
    source_count: int


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    id: str
    created: bool
    detection: Detection


@dataclass(frozen=True, slots=True)
class Stats:
    articles: int
    passages: int
    index_bytes: int
    uptime_seconds: float
    version: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ReuseService:
    """Thread-safe: writes are serialised by one lock; reads run concurrently."""

    def __init__(self, config: ServerConfig, store: ArticleStore | None = None) -> None:
        self.config = config
        self.detector = Detector(config.engine)
        t0 = time.perf_counter()
        self.store = store or open_store(config.store_url, IndexSpec.of(config.engine))
        self.ready_seconds = time.perf_counter() - t0
        self._min_candidate_jaccard = config.engine.candidate_threshold
        self._cache: OrderedDict[int, Document] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def start_sweeper(self, on_health: Callable[[bool], None]) -> None:
        """Every ``sweep_seconds``, tell ``on_health`` whether the store is reachable
        and, when it is, remove the articles past the retention window."""

        def sweep(last: bool | None) -> bool:
            ok = self.healthy()
            if ok != last:
                if last is not None:
                    log.warning("store reachable" if ok else "store unreachable")
                on_health(ok)
            if ok:
                with contextlib.suppress(Unavailable):  # reported by the next health check
                    self.expire()
            return ok

        def run() -> None:
            last: bool | None = None
            while not self._stop.is_set():
                try:
                    last = sweep(last)
                except Exception:  # the sweeper must outlive one bad sweep
                    log.exception("sweep failed")
                self._stop.wait(self.config.sweep_seconds)

        self._sweeper = threading.Thread(target=run, name="sweeper", daemon=True)
        self._sweeper.start()

    # -- validation ------------------------------------------------------------------

    def _check_text(self, text: str, what: str = "text") -> None:
        if not text.strip():
            raise InvalidInput(f"{what} is empty: send the article's text")
        if len(text) > self.config.max_text_chars:
            raise TooLarge(
                f"{what} has {len(text)} characters, over the limit of "
                f"{self.config.max_text_chars}: split the article or raise --max-text-chars"
            )

    @staticmethod
    def _check_id(article_id: str) -> None:
        if not article_id:
            raise InvalidInput("article id is missing: every article needs a client-chosen id")
        if len(article_id) > MAX_ID_CHARS:
            raise InvalidInput(f"article id is {len(article_id)} characters, over {MAX_ID_CHARS}")

    # -- detection -------------------------------------------------------------------

    def _source_doc(self, key: int) -> Document | None:
        with self._cache_lock:
            doc = self._cache.get(key)
            if doc is not None:
                self._cache.move_to_end(key)
                return doc
        text = self.store.text(key)
        if text is None:
            return None
        doc = self.detector.prepare(text)
        self._remember(key, doc)
        return doc

    def _remember(self, key: int, doc: Document) -> None:
        if self.config.cache_articles:
            with self._cache_lock:
                self._cache[key] = doc
                while len(self._cache) > self.config.cache_articles:
                    self._cache.popitem(last=False)

    def _forget(self, key: int) -> None:
        with self._cache_lock:
            self._cache.pop(key, None)

    def _allowed(self, meta: StoredMeta, outlet: str, options: DetectOptions) -> bool:
        if options.include_outlets and meta.outlet not in options.include_outlets:
            return False
        if meta.outlet in options.exclude_outlets:
            return False
        if options.exclude_same_outlet and outlet and meta.outlet == outlet:
            return False
        when = meta.published_at_ns
        if options.published_after_ns is not None and (
            when is None or when < options.published_after_ns
        ):
            return False
        return not (
            options.published_before_ns is not None
            and (when is None or when >= options.published_before_ns)
        )

    def detect(
        self,
        doc: Document,
        record: ArticleRecord,
        options: DetectOptions,
        *,
        exclude_key: int | None = None,
    ) -> Detection:
        """What ``doc`` (the text of ``record``) reuses from the index and from itself."""
        # Candidates, strongest evidence first: the most bands shared by one unit pair
        # (a copied sentence shares them all), then the total over the article's units.
        pair_rows: list[int] = []
        pair_passages: list[int] = []
        pair_bands: list[int] = []
        rows = doc.indexable.tolist()
        if rows:
            for row, found in zip(rows, self.store.query_bands(doc.signatures[rows]), strict=True):
                pair_rows += [row] * len(found)
                pair_passages += found.keys()
                pair_bands += found.values()
        plausible = self._plausible(doc, pair_rows, pair_passages, pair_bands, exclude_key)
        ranked = sorted(plausible, key=lambda k: (-plausible[k][0], -plausible[k][1], k))
        reuses: list[Reuse] = []
        aligned = 0
        for key in ranked:
            if aligned >= self.config.max_candidates:
                break
            meta = self.store.meta_by_key(key)
            if meta is None or not self._allowed(meta, record.outlet, options):
                continue
            source = self._source_doc(key)
            if source is None:
                continue
            aligned += 1
            for m in self.detector.compare(doc, source):
                reuses.append(self._reuse(m, meta.id, meta.outlet, meta.published_at_ns))
        repeats = []
        for m in self.detector.repeats(doc):
            # The later occurrence is the reuse; its source is the earlier one.
            later = Match(m.b_start, m.b_end, m.a_start, m.a_end, m.similarity, m.kind)
            repeats.append(self._reuse(later, record.id, record.outlet, record.published_at_ns))
        starts = doc.tokens.starts

        def wanted(r: Reuse) -> bool:
            tokens = int(np.searchsorted(starts, r.end) - np.searchsorted(starts, r.start))
            return r.similarity >= options.min_similarity and tokens >= options.min_tokens

        cross = [r for r in reuses if wanted(r)]
        reuses = cross + [r for r in repeats if wanted(r)]
        reuses.sort(key=lambda r: (-(r.end - r.start) * r.similarity, r.start))
        limit = options.max_results or self.config.max_results
        reuses = reuses[:limit]
        return Detection(
            matches=reuses,
            reused_fraction=_covered(cross, len(doc.text)),
            source_count=len({r.source_id for r in cross}),
        )

    def _plausible(
        self,
        doc: Document,
        rows: list[int],
        passages: list[int],
        bands: list[int],
        exclude_key: int | None,
    ) -> dict[int, tuple[int, int]]:
        """The source articles holding a unit pair that LSH matched and that really
        looks alike, by the MinHash estimate of its Jaccard similarity (band collisions
        of unrelated sentences on common words are dropped before the costly
        alignment), each with its evidence: the most bands one unit pair shares (a
        copied sentence shares them all), then the bands shared over all pairs."""
        if not passages:
            return {}
        passage = np.asarray(passages, dtype=np.int64)
        article = passage >> UNIT_BITS
        keys = np.unique(article)
        if exclude_key is not None:
            keys = keys[keys != exclude_key]
        sigs: dict[int, np.ndarray] = {}
        with self._cache_lock:
            for key in keys.tolist():
                cached = self._cache.get(key)
                if cached is not None:
                    sigs[key] = cached.signatures
        sigs.update(self.store.signatures_many([k for k in keys.tolist() if k not in sigs]))
        if not sigs:
            return {}
        # The candidate unit of every pair side by side: one comparison for all at once.
        picked = [i for i, key in enumerate(article.tolist()) if key in sigs]
        if not picked:
            return {}
        units = (passage & _UNIT_MASK).tolist()
        found = np.asarray(picked, dtype=np.int64)
        owners = article[found]
        theirs = np.stack([sigs[k][units[i]] for i, k in zip(picked, owners.tolist(), strict=True)])
        mine = doc.signatures[np.asarray(rows, dtype=np.int64)[found]]
        agree = (mine == theirs).sum(axis=1)
        need = self._min_candidate_jaccard * doc.signatures.shape[1]
        strong = np.unique(owners[agree >= need]).tolist()
        if not strong:
            return {}
        band_counts = np.asarray(bands, dtype=np.int64)[found]
        best: dict[int, int] = {}
        total: Counter[int] = Counter()
        wanted = set(strong)
        for key, n in zip(owners.tolist(), band_counts.tolist(), strict=True):
            if key in wanted:
                total[key] += n
                if n > best.get(key, 0):
                    best[key] = n
        return {k: (best[k], total[k]) for k in strong}

    @staticmethod
    def _reuse(m: Match, source_id: str, outlet: str, published_at_ns: int | None) -> Reuse:
        return Reuse(
            source_id=source_id,
            source_outlet=outlet,
            source_published_at_ns=published_at_ns,
            start=m.a_start,
            end=m.a_end,
            source_start=m.b_start,
            source_end=m.b_end,
            similarity=m.similarity,
            kind=m.kind,
        )

    # -- operations ------------------------------------------------------------------

    def ingest(
        self,
        record: ArticleRecord,
        options: DetectOptions,
        *,
        replace: bool = False,
        wanted: Callable[[], bool] | None = None,
    ) -> IngestOutcome:
        """Detect, then store and index in one atomic step. Returns after the commit.

        ``wanted`` is asked right before the write; when it says no (the caller's
        deadline passed), nothing is stored and ``Expired`` is raised.

        Detection reads the index without a lock: an article ingested at the same moment
        (here or on another replica) may be missed as a source. The store settles
        races on the id: one writer wins; the other finds the same text (idempotent) or
        gets ``Conflict``."""
        self._check_id(record.id)
        self._check_text(record.text)
        sha = _sha256(record.text)
        doc = self.detector.prepare(record.text)
        existing = self.store.meta_by_id(record.id)
        if existing is not None and existing.sha256 != sha and not replace:
            raise text_conflict(record.id)
        exclude = existing.key if existing else None
        detection = self.detect(doc, record, options, exclude_key=exclude)
        if wanted is not None and not wanted():
            raise Expired("the call's deadline passed before the article was stored")
        put = self.store.put(record, sha, doc.signatures, replace=replace)
        if put.created:
            if existing is not None:
                self._forget(existing.key)
            self._remember(put.key, doc)  # the next articles will likely align with it
        return IngestOutcome(record.id, created=put.created, detection=detection)

    def query(self, record: ArticleRecord, options: DetectOptions) -> Detection:
        self._check_text(record.text)
        doc = self.detector.prepare(record.text)
        existing = self.store.meta_by_id(record.id) if record.id else None
        return self.detect(doc, record, options, exclude_key=existing.key if existing else None)

    def compare(self, text_a: str, text_b: str) -> list[Match]:
        self._check_text(text_a, "text_a")
        self._check_text(text_b, "text_b")
        return self.detector.compare(text_a, text_b)

    def get(self, article_id: str) -> ArticleRecord:
        self._check_id(article_id)
        record = self.store.record(article_id)
        if record is None:
            raise NotFound(f"no article with id {article_id!r}")
        return record

    def delete(self, article_id: str) -> None:
        self._check_id(article_id)
        meta = self.store.meta_by_id(article_id)
        if meta is None or not self.store.delete(article_id):
            raise NotFound(f"no article with id {article_id!r}")
        self._forget(meta.key)

    def expire(self, now_ns: int | None = None) -> int:
        """Remove the articles published before the retention window; returns how many."""
        if not self.config.retention_seconds:
            return 0
        now_ns = time.time_ns() if now_ns is None else now_ns
        removed = self.store.expire(now_ns - int(self.config.retention_seconds * 1e9))
        if removed:
            log.info("articles expired", extra={"articles": removed})
        return removed

    def healthy(self) -> bool:
        try:
            self.store.ping()
        except Unavailable:
            return False
        return True

    def stats(self) -> Stats:
        return Stats(
            articles=self.store.count(),
            passages=self.store.passages(),
            index_bytes=self.store.index_bytes(),
            uptime_seconds=time.monotonic() - self._started,
            version=__version__,
        )

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join()
        self.store.close()


def _covered(reuses: list[Reuse], length: int) -> float:
    if not reuses or not length:
        return 0.0
    spans = sorted((r.start, r.end) for r in reuses)
    total, cur_s, cur_e = 0, spans[0][0], spans[0][1]
    for s, e in spans[1:]:
        if s > cur_e:
            total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    total += cur_e - cur_s
    return min(1.0, total / length)
