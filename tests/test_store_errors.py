"""Storage errors reach the caller as the status code that says what to do, with the
cause in the message and the log; nothing else escapes as UNKNOWN or INTERNAL."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from wiretrace.server.logs import LOGGERS, JsonFormatter, setup_logging
from wiretrace.store.sqlite import SqliteStore
from wiretrace_client import Client, article, pb

from .helpers import Running, news


def _error(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


@pytest.fixture
def sqlite_running(tmp_path: Path) -> Iterator[Running]:
    r = Running(tmp_path / "data")
    yield r
    r.stop()


def _db(r: Running) -> sqlite3.Connection:
    """The store's own connection: per-connection PRAGMAs inject real SQLite faults."""
    store = r.service.store
    assert isinstance(store, SqliteStore)
    return store._db


@pytest.mark.parametrize("year", [1, 1677, 2263, 9999])
def test_a_published_at_the_store_cannot_hold_is_refused_up_front(
    running: Running, year: int
) -> None:
    when = datetime(year, 1, 1, tzinfo=UTC)
    err = _error(
        lambda: running.client.ingest(article("far", "Some text here.", published_at=when))
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot be stored" in (err.details() or "")
    assert "1677-09-21T00:12:43.145224192Z" in (err.details() or "")
    assert running.client.stats().articles == 0


def test_the_last_instants_the_store_holds_are_stored(running: Running) -> None:
    for k, when in enumerate(["1677-09-22T00:00:00+00:00", "2262-04-11T00:00:00+00:00"]):
        running.client.ingest(article(f"edge{k}", f"Text number {k}.", published_at=when))
        got = running.client.get(f"edge{k}").published_at.ToDatetime(tzinfo=UTC)
        assert got == datetime.fromisoformat(when)


def test_a_full_disk_is_resource_exhausted_stores_nothing_and_reads_go_on(
    sqlite_running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    r = sqlite_running
    docs = news(3)
    for d in docs[:2]:
        r.client.ingest(d)
    db = _db(r)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL
    big = article("big", " ".join(d.text for d in news(12, seed=9)))
    with caplog.at_level(logging.ERROR, logger="wiretrace"):
        err = _error(lambda: r.client.ingest(big))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "is full" in (err.details() or "")
    assert "database or disk is full" in (err.details() or "")
    assert any(rec.msg == "store full" for rec in caplog.records)
    # Reads go on, and nothing of the refused article is anywhere.
    assert r.client.get(docs[0].id).text == docs[0].text
    assert r.client.stats().articles == 2
    assert _error(lambda: r.client.get("big")).code() == grpc.StatusCode.NOT_FOUND
    assert all(m.source_id != "big" for m in r.client.query(big.text).matches)
    db.execute("PRAGMA max_page_count = 1073741823")  # space freed: writes work again
    assert r.client.ingest(big).created
    assert r.client.stats().articles == 3


def test_a_read_only_store_is_unavailable_and_reads_go_on(sqlite_running: Running) -> None:
    r = sqlite_running
    first = news(1)[0]
    r.client.ingest(first)
    _db(r).execute("PRAGMA query_only = ON")  # every write fails with SQLITE_READONLY
    with Client(r.address, retries=0) as client:
        err = _error(lambda: client.ingest(news(2)[1]))
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert "cannot be used" in (err.details() or "")
        assert client.get(first.id).text == first.text


def test_an_unexpected_error_is_internal_and_logged_with_its_traceback(
    sqlite_running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = sqlite_running

    def broken() -> pb.StatsResult:
        raise RuntimeError("a bug in stats")

    monkeypatch.setattr(r.service, "stats", broken)  # a bug in our own code, not a mock
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("wiretrace")
    logger.addHandler(handler)
    try:
        err = _error(r.client.stats)
    finally:
        logger.removeHandler(handler)
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "a bug" not in (err.details() or "")  # details stay in the log
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    (line,) = [x for x in lines if x["msg"] == "unexpected error"]
    assert line["rpc"] == "Stats"
    assert "Traceback" in line["exc"]
    assert "RuntimeError: a bug in stats" in line["exc"]


def test_grpc_logs_go_through_the_same_json_handler() -> None:
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in LOGGERS}
    try:
        setup_logging("INFO")
        ours, theirs = (logging.getLogger(n) for n in LOGGERS)
        assert theirs.handlers == ours.handlers
        assert isinstance(theirs.handlers[0].formatter, JsonFormatter)
    finally:
        for n, (handlers, propagate) in saved.items():
            logging.getLogger(n).handlers[:] = handlers
            logging.getLogger(n).propagate = propagate
