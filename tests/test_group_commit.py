"""Group commit in the embedded store: concurrent writes share a transaction, each is
acknowledged only once it is durable, and one failing write does not take its group
down. A transaction is held back by a second connection holding SQLite's write lock
(a real writer), so that the writes behind it pile up into one group."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from wiretrace.domain import index_spec, text_sha256
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector
from wiretrace.errors import Conflict, Exhausted, InvalidInput
from wiretrace.store import ArticleRecord, Put, Row
from wiretrace.store.sqlite import SqliteStore
from wiretrace_client import pb

from .helpers import Running, committed_text, news, stored_row

CONFIG = EngineConfig()
SPEC = index_spec(CONFIG)
#: How long the writes wait behind the other connection's lock (well under SQLite's
#: 5 s busy timeout): long enough for every thread to queue.
HOLD_SECONDS = 0.6


@contextmanager
def _write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holds SQLite's write lock for ``HOLD_SECONDS``, then lets go."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
        time.sleep(HOLD_SECONDS)
    finally:
        other.execute("COMMIT")
        other.close()


def _put(store: SqliteStore, row: Row, *, replace: bool = False) -> Callable[[], object]:
    return lambda: store.put(row, replace=replace)


def _concurrently(calls: list[Callable[[], object]], path: Path) -> list[object | BaseException]:
    """Run ``calls`` at once on threads while the write lock is held; their outcomes."""
    out: list[object | BaseException] = [None] * len(calls)
    start = threading.Barrier(len(calls) + 1)

    def run(k: int) -> None:
        start.wait()
        try:
            out[k] = calls[k]()
        except Exception as err:
            out[k] = err

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    with _write_lock_held(path):
        start.wait()
    for t in threads:
        t.join(30)
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "articles.db", SPEC)
    yield s
    s.close()


def test_concurrent_puts_share_transactions_and_each_returns_after_its_commit(
    store: SqliteStore, detector: Detector
) -> None:
    docs = news(24, seed=21)
    rows = [stored_row(d.id, d.text, detector) for d in docs]
    seen_committed: dict[str, bool] = {}

    def put(row: Row) -> Callable[[], object]:
        def call() -> object:
            result = store.put(row)
            # Returned: the article must already be visible to another connection.
            seen_committed[row.record.id] = (
                committed_text(store.path, row.record.id) == row.record.text
            )
            return result

        return call

    outcomes = _concurrently([put(r) for r in rows], store.path)
    assert all(isinstance(o, Put) and o.created for o in outcomes), outcomes
    assert seen_committed == {d.id: True for d in docs}
    writes = store.writes()
    assert writes.articles == len(docs)
    assert writes.transactions < len(docs) // 2, writes
    assert store.count() == len(docs)
    # The index holds every article's passages.
    assert store.passages() == sum(len(r.passages.units) for r in rows)


def test_a_failing_write_does_not_poison_its_group(store: SqliteStore, detector: Detector) -> None:
    docs = news(12, seed=22)
    store.put(stored_row("taken", "The text stored first under this id.", detector))
    good = [stored_row(d.id, d.text, detector) for d in docs]
    conflict = stored_row("taken", "Another text under the same id, not a replacement.", detector)
    # A lone surrogate cannot be written as UTF-8: SQLite refuses this one row.
    bad_text = "A text with a lone surrogate \ud800 inside it, and some more words."
    bad = Row(
        ArticleRecord("bad", "outlet", "", None, "", bad_text),
        "0" * 64,
        good[0].signatures,
        good[0].passages,
    )
    before = store.writes()
    calls = [_put(store, r) for r in [*good, conflict, bad]]
    outcomes = _concurrently(calls, store.path)
    assert all(isinstance(o, Put) and o.created for o in outcomes[: len(good)]), outcomes
    assert isinstance(outcomes[-2], Conflict)
    assert isinstance(outcomes[-1], InvalidInput)
    assert "bad" in str(outcomes[-1])
    after = store.writes()
    assert after.articles - before.articles == len(good)
    assert after.transactions - before.transactions < len(good) // 2
    assert store.record("taken") is not None
    assert store.record("taken").text == "The text stored first under this id."  # type: ignore[union-attr]
    assert store.record("bad") is None
    assert store.count() == len(good) + 1


def test_two_writes_of_one_id_in_a_group_resolve_as_in_sequence(
    store: SqliteStore, detector: Detector
) -> None:
    same_a = stored_row("same", "One text, sent twice at the same moment by two clients.", detector)
    same_b = stored_row("same", "One text, sent twice at the same moment by two clients.", detector)
    other_a = stored_row("other", "The first of two different texts sent under one id.", detector)
    other_b = stored_row(
        "other", "The second of two different texts sent under one id here.", detector
    )
    outcomes = _concurrently(
        [_put(store, r) for r in (same_a, same_b, other_a, other_b)], store.path
    )
    same = outcomes[:2]
    assert all(isinstance(o, Put) for o in same), same
    assert sorted(o.created for o in same if isinstance(o, Put)) == [False, True]
    assert len({o.key for o in same if isinstance(o, Put)}) == 1  # the same stored article
    other = outcomes[2:]
    won = [k for k, o in enumerate(other) if isinstance(o, Put)]
    assert len(won) == 1, other
    assert isinstance(other[1 - won[0]], Conflict), other
    winner = (other_a, other_b)[won[0]]
    assert store.record("other").text == winner.record.text  # type: ignore[union-attr]
    assert store.count() == 2
    # One passage set per stored article: the duplicate did not index twice.
    assert store.passages() == len(same_a.passages.units) + len(winner.passages.units)


def test_replacements_in_one_group_leave_the_last_text_indexed(
    store: SqliteStore, detector: Detector
) -> None:
    first = stored_row(
        "story", "The first version of a story, filed early in the morning.", detector
    )
    store.put(first)
    texts = [f"Version {k} of the story, rewritten with new details number {k}." for k in range(6)]
    rows = [stored_row("story", t, detector) for t in texts]
    outcomes = _concurrently([_put(store, r, replace=True) for r in rows], store.path)
    assert all(isinstance(o, Put) and o.created for o in outcomes), outcomes
    final = store.record("story")
    assert final is not None
    assert final.text in texts
    assert store.count() == 1
    (last,) = [r for r in rows if r.record.text == final.text]
    assert store.passages() == len(last.passages.units)
    # The index answers with the stored version's passages only.
    key = store.meta_by_id("story").key  # type: ignore[union-attr]
    found = store.query_bands(last.passages.band_keys)
    assert all(p >> 20 == key for hits in found for p in hits)


def test_concurrent_ingest_calls_share_transactions_through_grpc(tmp_path: Path) -> None:
    r = Running(tmp_path / "data", workers=16)
    try:
        docs = news(16, seed=23)
        db_path = tmp_path / "data" / "articles.db"
        before = r.client.stats()
        acked_after_commit: dict[str, bool] = {}

        def ingest(k: int) -> Callable[[], object]:
            def call() -> object:
                result = r.client.ingest(docs[k])
                acked_after_commit[docs[k].id] = committed_text(db_path, docs[k].id) == docs[k].text
                return result

            return call

        outcomes = _concurrently([ingest(k) for k in range(len(docs))], db_path)
        assert all(not isinstance(o, BaseException) for o in outcomes), outcomes
        assert acked_after_commit == {d.id: True for d in docs}
        after = r.client.stats()
        assert after.articles_written - before.articles_written == len(docs)
        assert after.write_transactions - before.write_transactions < len(docs) // 2
        # Two IngestStreams at once: their messages share transactions too.
        more = news(40, seed=24)
        for d in more:
            d.id = "s" + d.id  # not the ids above
        halves = [more[0::2], more[1::2]]
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda part: list(r.client.ingest_stream(part)), halves))
        assert sum(1 for rs in results for x in rs if x.created) == len(more)
        assert r.client.stats().articles == len(docs) + len(more)
    finally:
        r.stop()


def test_a_conflict_in_a_group_is_already_exists_for_that_call_only(tmp_path: Path) -> None:
    r = Running(tmp_path / "data", workers=8)
    try:
        docs = news(6, seed=25)
        r.client.ingest(docs[0])
        clash = type(docs[0])()
        clash.CopyFrom(docs[0])
        clash.text = docs[0].text + " A sentence that makes it another text."
        db_path = tmp_path / "data" / "articles.db"
        calls: list[Callable[[], object]] = [
            lambda d=d: r.client.ingest(d)  # type: ignore[misc]
            for d in [*docs[1:], clash]
        ]
        outcomes = _concurrently(calls, db_path)
        assert all(not isinstance(o, BaseException) for o in outcomes[:-1]), outcomes
        err = outcomes[-1]
        assert isinstance(err, grpc.RpcError)
        assert err.code() == grpc.StatusCode.ALREADY_EXISTS
        assert r.client.stats().articles == len(docs)
    finally:
        r.stop()


@pytest.mark.parametrize("window", [1, 4])
def test_one_stream_shares_commits_only_with_a_window_and_answers_in_order(
    tmp_path: Path, window: int
) -> None:
    r = Running(tmp_path / "data", stream_window=window)
    try:
        docs = news(12, seed=26)
        docs[5].text = "   "  # bad input: its own error, the stream goes on
        results: list[pb.IngestResult] = []
        consumer = threading.Thread(target=lambda: results.extend(r.client.ingest_stream(docs)))
        with _write_lock_held(tmp_path / "data" / "articles.db"):
            consumer.start()
        consumer.join(60)
        assert [x.id for x in results] == [d.id for d in docs]
        assert results[5].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert all(x.created for k, x in enumerate(results) if k != 5)
        stats = r.client.stats()
        assert stats.articles_written == len(docs) - 1
        if window == 1:  # one article at a time: one transaction each
            assert stats.write_transactions == stats.articles_written
        else:
            # The first article leads a group of its own and waits behind the lock;
            # the window's next ``window - 1`` articles queue behind it and commit as
            # one group: at least ``window - 2`` transactions saved, whatever the timing
            # of the rest (which often share too).
            assert stats.write_transactions <= stats.articles_written - (window - 2)
    finally:
        r.stop()


def test_the_index_merges_on_its_own_thread_and_answers_the_same(
    tmp_path: Path, detector: Detector
) -> None:
    docs = news(30, seed=27)
    rows = [stored_row(d.id, d.text, detector) for d in docs]
    store = SqliteStore(tmp_path / "articles.db", SPEC, merge_after=60)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(store.put, rows))
        deadline = time.monotonic() + 30
        while store._index.pending >= store.merge_after and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store._index.pending < store.merge_after  # merged without a write asking
        probe = [r.passages.band_keys for r in rows]
        answers = [store.query_bands(bk) for bk in probe]
    finally:
        store.close()
    reopened = SqliteStore(tmp_path / "articles.db", SPEC)  # its index built in one load
    try:
        assert [reopened.query_bands(bk) for bk in probe] == answers
        assert reopened.passages() == sum(len(r.passages.units) for r in rows)
    finally:
        reopened.close()


def test_a_full_disk_fails_every_write_of_the_group_and_stores_nothing(
    store: SqliteStore, detector: Detector
) -> None:
    first = stored_row("first", "A first article, stored before the disk fills up.", detector)
    store.put(first)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow
    docs = news(8, seed=28)
    rows = [stored_row(d.id, d.text * 8, detector) for d in docs]
    outcomes = _concurrently([_put(store, r) for r in rows], store.path)
    assert all(isinstance(o, Exhausted) for o in outcomes), outcomes
    assert len({id(o) for o in outcomes}) == len(outcomes)  # each caller its own error
    assert store.count() == 1
    assert store.passages() == len(first.passages.units)
    store._db.execute("PRAGMA max_page_count = 1073741823")  # space again
    assert all(store.put(r).created for r in rows)
    assert store.count() == 1 + len(rows)


def test_the_index_rebuilt_in_the_core_at_open_equals_the_one_ingest_built(
    tmp_path: Path, detector: Detector
) -> None:
    """A restart chooses each article's passages in the core, a batch at a time
    (``spec.distinct_rows``): the index equals the one built article by article at
    ingest, through replacements and deletions, with repeated and empty rows."""
    import dataclasses

    import numpy as np

    docs = news(24, seed=31)
    rows = [stored_row(d.id, d.text, detector) for d in docs]
    rows.append(stored_row("twice", docs[0].text + "\n\n" + docs[0].text, detector))
    rng = np.random.default_rng(3)
    sigs = rng.integers(0, 2**32, size=(6, SPEC.num_perm), dtype=np.uint64).astype(np.uint32)
    sigs[2] = 0xFFFFFFFF  # an empty set's signature: not indexed
    sigs[4] = sigs[1]  # a repeated one: indexed once
    record = ArticleRecord("raw", "o", "u", None, "en", "raw signatures")
    rows.append(Row(record, text_sha256("raw"), sigs, SPEC.passages(sigs)))
    path = tmp_path / "articles.db"
    store = SqliteStore(path, SPEC, merge_after=50)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(store.put, rows))
        store.put(stored_row(docs[3].id, docs[5].text, detector), replace=True)
        assert store.delete(docs[7].id)
        probe_rows = np.concatenate([r.signatures for r in rows])
        probe = SPEC.passages(probe_rows)
        live_sigs = probe_rows[probe.units]

        def answers(s: SqliteStore) -> tuple[list[dict[int, int]], object, int]:
            got = s.lookup_sketched(probe.band_keys, live_sigs, max_bucket=None)
            return got.found, got.agree, s.passages()

        built = answers(store)
    finally:
        store.close()
    assert built[2] > 0
    assert any(built[0])
    in_core = dataclasses.replace(SPEC, distinct_rows=True)
    for spec in (in_core, SPEC):
        reopened = SqliteStore(path, spec)
        try:
            assert answers(reopened) == built
        finally:
            reopened.close()
