"""The service's operations, free of any transport: ingest, query, compare, get,
delete, expire and stats over an ``ArticleStore`` (articles and their passage index).

Detection for a new article: its passages are looked up in the index, the stored
articles worth aligning are ranked (``candidates``), filtered by the caller's outlet
and date options, and aligned with the engine's ``compare``, at most
``max_candidates`` of them; the article's own repeats come from ``repeats``. A request
therefore does at most ``max_candidates + 1`` comparisons, each within the engine's
bounds, all counted in the one ``Work`` the caller may pass (with its cancellation).
Ingested articles are detected in rounds (``ingest_round``): the same steps, each made
once for the round's articles.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from wiretrace import __version__
from wiretrace.domain.cache import SourceCache
from wiretrace.domain.candidates import index_spec, rank_candidates
from wiretrace.domain.offsets import OffsetUnit, converter
from wiretrace.domain.records import (
    MAX_ID_CHARS,
    MAX_OPTION_LIMIT,
    Article,
    Comparison,
    Detection,
    DetectOptions,
    IngestOutcome,
    Reuse,
    SourceVerdict,
    Stats,
    text_sha256,
)
from wiretrace.engine.confidence import derived_share, verdict, weighted_share
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector, Match, Prepared
from wiretrace.engine.spans import union_length
from wiretrace.engine.work import Work
from wiretrace.errors import Conflict, InvalidInput, NotFound, TooLarge, Unavailable
from wiretrace.store import (
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Put,
    Ranked,
    Row,
    Settle,
    StoredMeta,
    Submit,
)

__all__ = ["Ingest", "ReuseService", "ServiceSettings"]

log = logging.getLogger("wiretrace.domain")

DEFAULT_MAX_TEXT_CHARS = 200_000
DEFAULT_MAX_RESULTS = 100
DEFAULT_MAX_CANDIDATES = 50
DEFAULT_CACHE_ARTICLES = 2048
#: The instants a store can hold: nanoseconds since the epoch in a signed 64-bit
#: integer, 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z.
MIN_STORED_NS = -(2**63)
MAX_STORED_NS = 2**63 - 1


def _iso(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    day = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=seconds)
    return day.strftime("%Y-%m-%dT%H:%M:%S") + (f".{nanos:09d}Z" if nanos else "Z")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Attributes:
    max_text_chars: longest accepted article text, in code points.
    max_results: matches returned when a request does not say.
    max_candidates: source articles aligned per detection, strongest evidence first.
    cache_articles: prepared source articles kept in memory.
    retention_seconds: articles published longer ago are removed by ``expire``
        (0 keeps them all).
    engine: detection engine settings.
    """

    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_results: int = DEFAULT_MAX_RESULTS
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    cache_articles: int = DEFAULT_CACHE_ARTICLES
    retention_seconds: float = 0.0
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        for name in ("max_text_chars", "max_results", "max_candidates"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_results > MAX_OPTION_LIMIT:
            raise InvalidInput(f"max_results must be <= {MAX_OPTION_LIMIT}, got {self.max_results}")
        if self.cache_articles < 0 or self.retention_seconds < 0:
            raise InvalidInput(
                f"cache_articles and retention_seconds must be >= 0, got "
                f"{self.cache_articles} and {self.retention_seconds}"
            )

    @property
    def index(self) -> IndexSpec:
        """How articles are indexed under these engine settings."""
        return index_spec(self.engine)


@dataclass(frozen=True, slots=True)
class Ingest:
    """One article for ``ReuseService.ingest_round``, with what ``ingest`` takes beside
    it."""

    article: Article
    options: DetectOptions
    replace: bool = False
    work: Work = field(default_factory=Work)


@dataclass(frozen=True, slots=True)
class _Job:
    """One article's detection: its document and row, and the stored article of its
    id (None when new)."""

    doc: Prepared
    row: Row
    options: DetectOptions
    work: Work
    existing: StoredMeta | None

    @property
    def exclude_key(self) -> int | None:
        """The stored article of the same id, whose passages are not a source."""
        return self.existing.key if self.existing else None


def _stored(article: Article) -> ArticleRecord:
    return ArticleRecord(
        article.id,
        article.outlet,
        article.url,
        article.published_at_ns,
        article.language,
        article.text,
    )


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
        confidence=m.confidence,
    )


def _boilerplate(
    doc: Prepared, rows: npt.NDArray[np.int64], capped: list[int]
) -> list[tuple[int, int]]:
    """The code-point ranges of ``doc``'s units whose band lookups hit a bucket over
    the boilerplate cap (``capped``, per indexed row ``rows``; quote rows, after the
    units, are left aside)."""
    if not any(capped):
        return []
    bounds = doc.unit_bounds
    out = []
    for row, n in zip(rows.tolist(), capped, strict=True):
        if n and row < doc.units:
            t0, t1 = int(bounds[row]), int(bounds[row + 1])
            if t1 > t0:
                out.append((int(doc.starts[t0]), int(doc.ends[t1 - 1])))
    return out


def _inside(r: Reuse, ranges: list[tuple[int, int]]) -> bool:
    """Whether most of ``r``'s span in the article lies inside ``ranges``."""
    clipped = ((max(s, r.start), min(e, r.end)) for s, e in ranges)
    return 2 * union_length(clipped) >= r.end - r.start


def _verdicts(cross: list[Reuse], length: int) -> list[SourceVerdict]:
    """The verdict on each source of ``cross`` (code-point offsets), most derived first:
    ``derived_share`` of each source's matches."""
    by_source: dict[str, list[Reuse]] = {}
    for r in cross:
        by_source.setdefault(r.source_id, []).append(r)
    out = []
    for source_id, reuses in by_source.items():
        share = weighted_share(length, ((r.end - r.start) * r.confidence for r in reuses))
        out.append(SourceVerdict(source_id, reuses[0].source_outlet, share, verdict(share)))
    return sorted(out, key=lambda v: (-v.derived_share, v.source_id))


def _in_unit(
    matches: list[Reuse], text: str, sources: dict[str, str], unit: OffsetUnit
) -> list[Reuse]:
    """``matches`` of ``text`` (code-point offsets) with offsets in ``unit``;
    ``sources`` maps each source id to its text."""
    if unit is OffsetUnit.CODE_POINTS:
        return matches
    mine = converter(text, unit)
    theirs = {sid: converter(sources[sid], unit) for sid in {r.source_id for r in matches}}
    return [
        replace(
            r,
            start=mine(r.start),
            end=mine(r.end),
            source_start=theirs[r.source_id](r.source_start),
            source_end=theirs[r.source_id](r.source_end),
        )
        for r in matches
    ]


class ReuseService:
    """Thread-safe: operations run concurrently; the store settles concurrent writes
    of one id (one wins, the other finds the same text or gets ``Conflict``)."""

    def __init__(self, settings: ServiceSettings, store: ArticleStore) -> None:
        self.settings = settings
        self.detector = Detector(settings.engine)
        self.store = store
        self._index = settings.index
        if store.spec != self._index:
            raise InvalidInput(
                f"the store indexes with {store.spec}, the engine with {self._index}"
            )
        self._cache = SourceCache(settings.cache_articles)
        self._started = time.monotonic()

    # -- validation ------------------------------------------------------------------

    def _check_text(self, text: str, what: str = "text") -> None:
        if not text or text.isspace():  # ``not text.strip()``, without a copy
            raise InvalidInput(f"{what} is empty: send the article's text")
        if len(text) > self.settings.max_text_chars:
            raise TooLarge(
                f"{what} has {len(text)} characters, over the limit of "
                f"{self.settings.max_text_chars}: split the article or raise --max-text-chars"
            )

    @staticmethod
    def _check_published(published_at_ns: int | None) -> None:
        # Stores keep nanoseconds since the epoch in a signed 64-bit integer (SQLite's
        # INTEGER); the API's years 1-9999 do not all fit, so the rest is refused here.
        if published_at_ns is not None and not MIN_STORED_NS <= published_at_ns <= MAX_STORED_NS:
            raise InvalidInput(
                f"published_at {_iso(published_at_ns)} cannot be stored: it must lie between "
                f"{_iso(MIN_STORED_NS)} and {_iso(MAX_STORED_NS)} (nanoseconds since 1970 in "
                "a 64-bit integer)"
            )

    @staticmethod
    def _check_id(article_id: str) -> None:
        if not article_id:
            raise InvalidInput("article id is missing: every article needs a client-chosen id")
        if len(article_id) > MAX_ID_CHARS:
            raise InvalidInput(f"article id is {len(article_id)} characters, over {MAX_ID_CHARS}")

    def _check_article(self, article: Article) -> None:
        """Refuse an article to ingest that breaks a limit."""
        self._check_id(article.id)
        article.check_limits()
        self._check_text(article.text)
        self._check_published(article.published_at_ns)

    # -- detection -------------------------------------------------------------------

    def _prepared(self, text: str, work: Work) -> Prepared:
        (doc,) = self.detector.prepare_sources([text])
        work.check()
        return doc

    def _source_doc(self, key: int, work: Work) -> Prepared | None:
        doc = self._cache.get(key)
        if doc is not None:
            return doc
        text = self.store.text(key)
        if text is None:
            return None
        doc = self._prepared(text, work)
        self._cache.put(key, doc)
        return doc

    def _signatures(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        found = self._cache.signatures(keys)
        found.update(self.store.signatures_many([k for k in keys if k not in found]))
        return found

    def _detect_many(self, jobs: list[_Job]) -> list[Detection | Exception]:
        """What each job's document reuses from the index and from itself; an error
        that concerns one article alone (its caller gone, a bound) is its own. The
        candidates of them all are ranked in one call, and the metadata of those each
        one aligns first read in one statement."""
        max_bucket = self.settings.engine.boilerplate_articles
        min_jaccard = self.settings.engine.candidate_threshold
        band_keys = [j.row.passages.band_keys for j in jobs]
        signatures = [j.row.signatures[j.row.passages.units] for j in jobs]
        # The embedded store ranks from its sketches in its index, in one call; the
        # others' hits are ranked here, from the stored signatures.
        found = self.store.ranked(
            band_keys,
            signatures,
            max_bucket=max_bucket,
            min_jaccard=min_jaccard,
            exclude_keys=[j.exclude_key for j in jobs],
        )
        if found is None:
            found = []
            for job, keys, sigs in zip(jobs, band_keys, signatures, strict=True):
                lookup = self.store.lookup_sketched(keys, sigs, max_bucket=max_bucket)
                keys_ranked = rank_candidates(
                    job.row.signatures,
                    job.row.passages,
                    lookup,
                    self._signatures,
                    min_jaccard=min_jaccard,
                    exclude_key=job.exclude_key,
                )
                found.append(Ranked(keys_ranked, lookup.capped))
        most = self.settings.max_candidates
        first = self.store.metas_by_key(sorted({k for r in found for k in r.keys[:most]}))
        picked: list[list[tuple[StoredMeta, Prepared]] | Exception] = []
        for job, candidates in zip(jobs, found, strict=True):
            try:
                picked.append(self._sources(job, candidates, first))
            except Exception as err:
                picked.append(err)
        # Every article's alignments, with its sources and with itself, in one call.
        asked = [
            (job.doc, [source for _, source in p], job.work)
            for job, p in zip(jobs, picked, strict=True)
            if not isinstance(p, Exception)
        ]
        compared = iter(self.detector.compare_many(asked))
        out: list[Detection | Exception] = []
        for job, candidates, p in zip(jobs, found, picked, strict=True):
            if isinstance(p, Exception):
                out.append(p)
                continue
            matches = next(compared)
            if isinstance(matches, Exception):
                out.append(matches)
                continue
            try:
                out.append(self._detection(job, candidates.capped, p, *matches))
            except Exception as err:
                out.append(err)
        return out

    def _sources(
        self, job: _Job, ranked: Ranked, first: dict[int, StoredMeta]
    ) -> list[tuple[StoredMeta, Prepared]]:
        """The sources ``job``'s document is aligned with: its ``ranked`` candidates,
        at most ``max_candidates`` that its options allow (``first``: the metadata of
        its first ``max_candidates``, read already), each prepared."""
        record, options = job.row.record, job.options
        sources: list[tuple[StoredMeta, Prepared]] = []
        at, most = 0, self.settings.max_candidates
        while len(sources) < most and at < len(ranked.keys):
            # The metadata of the keys the loop may visit before it has ``most``: read
            # together, no more than one by one would read.
            keys = ranked.keys[at : at + most - len(sources)]
            metas = first if at == 0 else self.store.metas_by_key(keys)
            at += len(keys)
            for key in keys:
                meta = metas.get(key)
                if meta is None or not options.allows(
                    meta.outlet, meta.published_at_ns, record.outlet
                ):
                    continue
                source = self._source_doc(key, job.work)
                if source is not None:
                    sources.append((meta, source))
        return sources

    def _detection(
        self,
        job: _Job,
        capped: list[int],
        sources: list[tuple[StoredMeta, Prepared]],
        crossed: list[list[Match]],
        repeated: list[Match],
    ) -> Detection:
        """What ``job``'s document reuses: its matches with each of its ``sources``
        (``crossed``), and its own repeats, as its options ask; ``capped`` as in
        ``Lookup``, of its passages."""
        doc, record, options = job.doc, job.row.record, job.options
        boilerplate = _boilerplate(doc, job.row.passages.units, capped)
        reuses: list[Reuse] = []
        source_texts: dict[str, str] = {record.id: doc.text}  # for the offset unit
        for (meta, source), found in zip(sources, crossed, strict=True):
            source_texts[meta.id] = source.text
            for m in found:
                reuses.append(_reuse(m, meta.id, meta.outlet, meta.published_at_ns))
        # A repeat is reported on its later occurrence; its source is the earlier one.
        repeats = [
            _reuse(m.swapped(), record.id, record.outlet, record.published_at_ns) for m in repeated
        ]
        starts = doc.starts
        min_similarity, min_tokens = options.min_similarity, options.min_tokens

        def wanted(r: Reuse) -> bool:
            if r.similarity < min_similarity:
                return False
            if not min_tokens:  # every match spans 0 tokens or more
                return True
            tokens = int(np.searchsorted(starts, r.end) - np.searchsorted(starts, r.start))
            return tokens >= min_tokens

        cross = [r for r in reuses if wanted(r)]
        suppressed = 0
        if boilerplate:
            marked = [replace(r, boilerplate=_inside(r, boilerplate)) for r in cross]
            suppressed = sum(r.boilerplate for r in marked)
            cross = (
                marked if options.include_boilerplate else [r for r in marked if not r.boilerplate]
            )
        matches = cross + [r for r in repeats if wanted(r)]
        matches.sort(key=lambda r: (-(r.end - r.start) * r.similarity, r.start))
        limit = options.max_results or self.settings.max_results
        covered = union_length((r.start, r.end) for r in cross)
        return Detection(
            matches=_in_unit(matches[:limit], doc.text, source_texts, options.offset_unit),
            reused_fraction=min(1.0, covered / len(doc.text)) if doc.text else 0.0,
            source_count=len({r.source_id for r in cross}),
            sources=_verdicts(cross, len(doc.text)),
            boilerplate_suppressed=0 if options.include_boilerplate else suppressed,
        )

    def _row(self, article: Article, doc: Prepared, *, stored: bool = True) -> Row:
        """The article as the store takes it; its passages are computed here, once.
        A query's article is not ``stored``: its text is not hashed."""
        return Row(
            record=_stored(article),
            sha256=text_sha256(article.text) if stored else "",
            signatures=doc.stored_signatures,
            passages=self._index.passages(doc.stored_signatures),
        )

    # -- operations ------------------------------------------------------------------

    def ingest(
        self,
        article: Article,
        options: DetectOptions,
        *,
        replace: bool = False,
        work: Work | None = None,
    ) -> IngestOutcome:
        """Detect, then store and index in one atomic step. Returns after the commit.

        ``work`` counts the detection's work; its cancellation check is asked during
        detection and once more right before the write: when the caller gave up,
        nothing is stored and ``Expired`` is raised.

        Detection reads the index without a lock: an article ingested at the same moment
        (here or on another replica) may be missed as a source."""
        return self.ingest_begin(article, options, replace=replace, work=work).result()

    def ingest_begin(
        self,
        article: Article,
        options: DetectOptions,
        *,
        replace: bool = False,
        work: Work | None = None,
    ) -> Future[IngestOutcome]:
        """``ingest`` up to the write: a round of one (``ingest_round``)."""
        item = Ingest(article, options, replace, Work() if work is None else work)
        (outcome,) = self.ingest_round([item])
        return outcome

    def ingest_round(self, items: Sequence[Ingest]) -> list[Future[IngestOutcome]]:
        """Detect each article, hand it to the store, and return the futures of their
        outcomes, in order, each settled once the commit that holds it is done, or
        with the error ``ingest`` would raise. The calling thread does not wait for the
        commits.

        The articles of a round are prepared in one core call, their candidates ranked
        in another and aligned in a third, and their stored metadata read in one
        statement each: a few releases of the GIL for the round, not a dozen for each
        article, and one transaction for their writes. They do not find each other (as
        two articles ingested at the same moment): a caller that needs one to find
        another sends it in a later round, once the other is committed. Each one's
        ``work`` counts its detection; its cancellation check is asked during detection
        and once more right before the write: when its caller gave up, it is not stored
        and ``Expired`` settles it."""
        outcomes: list[Future[IngestOutcome]] = []
        checked: list[tuple[Ingest, Future[IngestOutcome]]] = []
        for item in items:
            outcome: Future[IngestOutcome] = Future()
            outcome.set_running_or_notify_cancel()  # settled by the round or the commit
            outcomes.append(outcome)
            try:
                self._check_article(item.article)
            except Exception as err:
                outcome.set_exception(err)
                continue
            checked.append((item, outcome))
        try:
            self._detect_round(checked)
        except Exception as err:  # of the round (a store unavailable): every article's
            for _, outcome in checked:
                if not outcome.done():
                    outcome.set_exception(err)
        return outcomes

    def _detect_round(self, checked: list[tuple[Ingest, Future[IngestOutcome]]]) -> None:
        """``ingest_round`` of the articles that passed the checks; what it raises
        concerns them all."""
        if not checked:
            return
        docs = self.detector.prepare_sources([item.article.text for item, _ in checked])
        existing = self.store.metas_by_id(list({item.article.id: None for item, _ in checked}))
        jobs: list[_Job] = []
        owners: list[tuple[Ingest, Future[IngestOutcome]]] = []
        for (item, outcome), doc in zip(checked, docs, strict=True):
            try:
                item.work.check()
                row = self._row(item.article, doc)
                meta = existing.get(item.article.id)
                if meta is not None and meta.sha256 != row.sha256 and not item.replace:
                    raise Conflict.other_text(item.article.id)
            except Exception as err:
                outcome.set_exception(err)
                continue
            jobs.append(_Job(doc, row, item.options, item.work, meta))
            owners.append((item, outcome))
        writes = []
        for job, (item, outcome), detection in zip(
            jobs, owners, self._detect_many(jobs), strict=True
        ):
            try:
                if isinstance(detection, Exception):
                    raise detection
                job.work.check(now=True)
            except Exception as err:
                outcome.set_exception(err)
                continue
            writes.append(Submit(job.row, self._committed(job, outcome, detection), item.replace))
        self.store.submit_then(writes)  # one group: one transaction for the round

    def _committed(self, job: _Job, outcome: Future[IngestOutcome], detection: Detection) -> Settle:
        """What settles ``outcome``, ``job``'s, once its write is done."""

        def committed(put: Put | None, error: BaseException | None) -> None:
            if error is not None:
                outcome.set_exception(error)
                return
            assert put is not None  # settled without an error
            if put.created:
                if job.existing is not None:
                    self._cache.forget(job.existing.key)
                self._cache.put(put.key, job.doc)  # the next articles will likely align with it
            article_id = job.row.record.id
            outcome.set_result(IngestOutcome(article_id, created=put.created, detection=detection))

        return committed

    def query(
        self, article: Article, options: DetectOptions, *, work: Work | None = None
    ) -> Detection:
        """What ``article`` reuses, without storing it."""
        work = Work() if work is None else work
        article.check_limits()
        self._check_text(article.text)
        doc = self._prepared(article.text, work)
        existing = self.store.meta_by_id(article.id) if article.id else None
        row = self._row(article, doc, stored=False)
        (detection,) = self._detect_many([_Job(doc, row, options, work, existing)])
        if isinstance(detection, Exception):
            raise detection
        return detection

    def compare(
        self,
        text_a: str,
        text_b: str,
        unit: OffsetUnit = OffsetUnit.CODE_POINTS,
        *,
        work: Work | None = None,
    ) -> Comparison:
        """Passages the two texts share, with offsets in ``unit``, and how much of
        ``text_a`` derives from ``text_b``."""
        self._check_text(text_a, "text_a")
        self._check_text(text_b, "text_b")
        matches = self.detector.compare(text_a, text_b, work=work)
        share = derived_share(len(text_a), matches) if text_a != text_b else 0.0
        return Comparison(self._in_unit(matches, text_a, text_b, unit), share, verdict(share))

    @staticmethod
    def _in_unit(matches: list[Match], text_a: str, text_b: str, unit: OffsetUnit) -> list[Match]:
        if unit is OffsetUnit.CODE_POINTS:
            return matches
        ca, cb = converter(text_a, unit), converter(text_b, unit)
        return [
            replace(
                m,
                a_start=ca(m.a_start),
                a_end=ca(m.a_end),
                b_start=cb(m.b_start),
                b_end=cb(m.b_end),
            )
            for m in matches
        ]

    def get(self, article_id: str) -> Article:
        self._check_id(article_id)
        r = self.store.record(article_id)
        if r is None:
            raise NotFound(f"no article with id {article_id!r}")
        return Article(r.id, r.outlet, r.url, r.published_at_ns, r.language, r.text)

    def delete(self, article_id: str) -> None:
        self._check_id(article_id)
        meta = self.store.meta_by_id(article_id)
        if meta is None or not self.store.delete(article_id):
            raise NotFound(f"no article with id {article_id!r}")
        self._cache.forget(meta.key)

    def expire(self, now_ns: int | None = None) -> int:
        """Remove the articles published before the retention window; returns how many."""
        if not self.settings.retention_seconds:
            return 0
        now_ns = time.time_ns() if now_ns is None else now_ns
        removed = self.store.expire(now_ns - int(self.settings.retention_seconds * 1e9))
        if removed:
            log.info("articles expired", extra={"articles": removed})
        return removed

    def repair(self) -> int:
        """Finish the store's writes that a crash left half-done; how many."""
        return self.store.repair()

    def healthy(self) -> bool:
        try:
            self.store.ping()
        except Unavailable:
            return False
        return True

    def stats(self) -> Stats:
        writes = self.store.writes()
        return Stats(
            articles=self.store.count(),
            passages=self.store.passages(),
            index_bytes=self.store.index_bytes(),
            uptime_seconds=time.monotonic() - self._started,
            version=__version__,
            write_transactions=writes.transactions if writes else 0,
            articles_written=writes.articles if writes else 0,
        )

    def close(self) -> None:
        self.store.close()
