"""The per-article ingest path: writes submitted without waiting share commits with
``put``s and are settled only once durable; candidates ranked from flat hits or from
the lookup's dicts are the ranking's definition."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from wiretrace.domain import (
    Article,
    DetectOptions,
    IngestOutcome,
    ReuseService,
    ServiceSettings,
    index_spec,
)
from wiretrace.domain.candidates import rank_candidates
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector
from wiretrace.errors import Conflict, Unavailable
from wiretrace.store import Hits, Put, Row, Submit
from wiretrace.store.sqlite import SqliteStore
from wiretrace_api.v1 import wiretrace_pb2 as pb
from wiretrace_bench.synthetic import generate

from .helpers import Running, committed_text, group_held, news, stored_row

CONFIG = EngineConfig()
SPEC = index_spec(CONFIG)


def _submit(store: SqliteStore, row: Row) -> Future[Put]:
    """``store.submit_then(row)`` with its outcome in a future."""
    future: Future[Put] = Future()
    future.set_running_or_notify_cancel()

    def then(put: Put | None, error: BaseException | None) -> None:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(put)  # type: ignore[arg-type]

    store.submit_then([Submit(row, then)])
    return future


def test_submitted_writes_settle_after_their_commit_and_share_it(
    tmp_path: Path, detector: Detector
) -> None:
    store = SqliteStore(tmp_path / "a.db", SPEC)
    try:
        docs = news(20, seed=31)
        rows = [stored_row(d.id, d.text, detector) for d in docs]
        seen: dict[str, bool] = {}
        lock = threading.Lock()

        def check(row: Row) -> object:
            def done(f: Future[Put]) -> None:
                with lock:  # settled: another connection must see the article
                    seen[row.record.id] = (
                        committed_text(store.path, row.record.id) == row.record.text
                    )

            return done

        # A put from a thread of its own leads the first group (the store was idle)
        # and waits behind another writer's lock; the submits queue behind it and
        # return at once.
        extra = stored_row("extra", "A sentence written by put while submits wait.", detector)
        futures = []
        with group_held(store, extra):
            for row in rows:
                f = _submit(store, row)
                f.add_done_callback(check(row))  # type: ignore[arg-type]
                futures.append(f)
            time.sleep(0.3)
            assert not any(f.done() for f in futures)  # nothing is acknowledged before it commits
        outcomes = [f.result(timeout=30) for f in futures]
        deadline = time.monotonic() + 10  # callbacks run right after the result is set
        while len(seen) < len(rows) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(o.created for o in outcomes)
        assert seen == {r.record.id: True for r in rows}
        writes = store.writes()
        assert writes.articles == len(rows) + 1
        assert writes.transactions == 2  # the put's, then every submit queued behind it
        assert store.count() == len(rows) + 1
        # Errors come back through the future, as put raises them.
        clash = stored_row(rows[0].record.id, "Another text under a stored id.", detector)
        error = _submit(store, clash).exception(timeout=30)
        assert isinstance(error, Conflict)
        same = _submit(store, rows[1]).result(timeout=30)
        assert same == Put(outcomes[1].key, created=False)
    finally:
        store.close()
    try:
        _submit(store, rows[2])
    except Unavailable:
        pass
    else:
        raise AssertionError("a closed store took a write")


def test_ingest_begin_returns_before_the_commit_and_acknowledges_as_ingest_does(
    tmp_path: Path,
) -> None:
    settings = ServiceSettings()
    one = ReuseService(settings, SqliteStore(tmp_path / "one.db", settings.index))
    two = ReuseService(settings, SqliteStore(tmp_path / "two.db", settings.index))
    try:
        articles, _ = generate(60, seed=12)
        arts = [Article(a.id, a.outlet, "", None, "", a.text) for a in articles]
        # While a put leads a group that waits behind another writer, ingest_begin
        # detects, hands its article to the next group and returns: not acknowledged,
        # not stored, until that group commits.
        path = tmp_path / "two.db"
        assert isinstance(two.store, SqliteStore)
        lead = stored_row("lead", "A sentence written by put while an ingest waits.", Detector())
        begun: list[Future[IngestOutcome]] = []
        caller = threading.Thread(
            target=lambda: begun.append(two.ingest_begin(arts[0], DetectOptions()))
        )
        with group_held(two.store, lead):
            caller.start()
            caller.join(10)
            returned = not caller.is_alive()
            time.sleep(0.3)
            pending = bool(begun) and not begun[0].done()
            stored_early = committed_text(path, arts[0].id)
        caller.join(30)
        assert returned  # without waiting for the commit
        assert pending
        assert stored_early is None
        first = begun[0]
        assert first.result(timeout=30).created
        assert committed_text(path, arts[0].id) == arts[0].text
        assert repr(one.ingest(arts[0], DetectOptions())) == repr(first.result())
        for art in arts[1:]:
            plain = one.ingest(art, DetectOptions())
            later = two.ingest_begin(art, DetectOptions()).result(timeout=30)
            assert repr(plain) == repr(later)
        clash = Article(articles[0].id, "", "", None, "", "Not the stored text at all.")
        for svc in (one, two):
            try:
                svc.ingest_begin(clash, DetectOptions()).result(timeout=30)
            except Conflict:
                continue
            raise AssertionError("a conflicting text was stored")
    finally:
        one.close()
        two.close()


def test_a_batch_past_its_deadline_keeps_the_article_in_the_works_and_ingests_no_other(
    tmp_path: Path,
) -> None:
    running = Running(tmp_path / "data")
    try:
        store = running.service.store
        assert isinstance(store, SqliteStore)
        docs = news(5)
        request = pb.IngestBatchRequest(articles=[pb.IngestRequest(article=a) for a in docs])
        lead = stored_row("lead", "A sentence written by put while a batch waits.", Detector())
        # The batch's first article waits for a commit held behind another writer
        # until the caller has gone.
        with group_held(store, lead), pytest.raises(grpc.RpcError) as info:
            running.client.stub.IngestBatch(request, timeout=0.3)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert running.built.servicer.in_flight.wait_idle(10) == 0
        assert committed_text(store.path, docs[0].id) == docs[0].text
        assert [committed_text(store.path, d.id) for d in docs[1:]] == [None] * 4
        assert running.client.stats().articles == 2  # the lead, and the article in the works
    finally:
        running.stop()


def _ranked_by_definition(
    width: int, units: list[int], lookup: object, min_jaccard: float, exclude: int | None
) -> list[int]:
    """The ranking spelt out over the lookup's dicts: articles with a passage pair
    agreeing on ``min_jaccard`` of the slots, by the most bands one pair shares, then
    the bands of all pairs, then key."""
    best: dict[int, int] = {}
    total: dict[int, int] = {}
    strong: set[int] = set()
    for i, found in enumerate(lookup.found):  # type: ignore[attr-defined]
        for passage, n in found.items():
            article = passage >> 20
            if article == exclude:
                continue
            best[article] = max(best.get(article, 0), n)
            total[article] = total.get(article, 0) + n
            if lookup.agree[i][passage] >= min_jaccard * width:  # type: ignore[attr-defined]
                strong.add(article)
    return sorted(strong, key=lambda k: (-best[k], -total[k], k))


def test_ranking_flat_hits_or_the_lookup_is_the_definition(
    tmp_path: Path, detector: Detector
) -> None:
    store = SqliteStore(tmp_path / "h.db", SPEC)
    try:
        articles, _ = generate(80, seed=13)
        rows = [stored_row(a.id, a.text, detector) for a in articles]
        keys = store.insert_many(rows)
        ranked = 0
        for key, row in zip(keys, rows, strict=True):
            bands, units = row.passages.band_keys, row.passages.units
            for cap in (None, 3):
                lookup = store.lookup_sketched(bands, row.signatures[units], max_bucket=cap)
                flat = Hits.of(lookup)
                assert flat.capped == lookup.capped
                for exclude in (None, key):
                    args = (row.signatures, row.passages)
                    kw = {"min_jaccard": CONFIG.candidate_threshold, "exclude_key": exclude}
                    got = rank_candidates(*args, flat, store.signatures_many, **kw)  # type: ignore[arg-type]
                    assert got == rank_candidates(*args, lookup, store.signatures_many, **kw)  # type: ignore[arg-type]
                    assert got == _ranked_by_definition(
                        row.signatures.shape[1],
                        units.tolist(),
                        lookup,
                        CONFIG.candidate_threshold,
                        exclude,
                    )
                    ranked += bool(got)
        assert ranked > 20
    finally:
        store.close()


def test_an_ingest_worker_goes_on_to_the_next_article_while_its_commit_waits(
    tmp_path: Path,
) -> None:
    running = Running(tmp_path / "data", ingest_workers=2)
    try:
        store = running.service.store
        assert isinstance(store, SqliteStore)
        docs = news(3)
        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # every commit waits behind this writer
        try:
            with ThreadPoolExecutor(3) as callers:
                # The first article's worker leads its write, held by the lock; the
                # second worker detects the second article, hands it to the next
                # group and, not waiting for that commit, detects the third too.
                first = callers.submit(running.client.ingest, docs[0])
                deadline = time.monotonic() + 3
                while not store._committing and time.monotonic() < deadline:
                    time.sleep(0.005)
                rest = [callers.submit(running.client.ingest, d) for d in docs[1:]]
                while len(store._waiting) < 2 and time.monotonic() < deadline:
                    time.sleep(0.005)
                waiting = len(store._waiting)
                assert not any(f.done() for f in [first, *rest])  # none committed yet
                other.execute("COMMIT")
                results = [f.result(timeout=30) for f in [first, *rest]]
        finally:
            other.close()
        assert waiting == 2
        assert all(r.created for r in results)
        stats = running.client.stats()
        assert (stats.write_transactions, stats.articles_written) == (2, 3)
    finally:
        running.stop()
