"""The embedded store's batched paths. ``submit_then``, its write without a future: each callback is
called once, after the commit that holds its write, with the outcome ``put`` would
give; a callback that raises is logged and the group's other writes are settled.
And the group's ids, looked up in one statement, resolve as writes one after the
other: a repeat of an id in the group, a replacement of one written earlier in it,
and a text SQLite refuses, which leaves nothing behind and the group going on. And
``metas_by_key``, the metadata of many keys in one statement, as ``meta_by_key`` gives
them one by one."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from wiretrace.domain import index_spec
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector
from wiretrace.errors import Conflict, InvalidInput
from wiretrace.store import Put, Row, Submit
from wiretrace.store.sqlite import SqliteStore

from .helpers import committed_text, group_held, news, stored_row

SPEC = index_spec(EngineConfig())


def _texts(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT id, text FROM articles").fetchall())
    finally:
        db.close()


def _queued(
    store: SqliteStore, lead: Row, writes: list[tuple[Row, bool]]
) -> list[tuple[object, ...]]:
    """Put ``lead`` while another connection holds the write lock, then submit
    ``writes`` (row, replace), which queue behind it and form one group; their
    outcomes and stored texts, in order, once all are settled."""
    settled: list[tuple[object, ...] | None] = [None] * len(writes)
    done = threading.Event()

    def then(i: int) -> object:
        def call(put: Put | None, error: BaseException | None) -> None:
            # Settled only after the commit: another connection sees the outcome.
            settled[i] = (put, error, committed_text(store.path, writes[i][0].record.id))
            if all(s is not None for s in settled):
                done.set()

        return call

    with group_held(store, lead):
        store.submit_then(
            [Submit(row, then(i), replace) for i, (row, replace) in enumerate(writes)]  # type: ignore[arg-type]
        )
        time.sleep(0.2)
        assert all(s is None for s in settled)  # nothing is settled before its commit
    assert done.wait(30)
    return [s for s in settled if s is not None]


def test_a_group_resolves_as_writes_one_after_the_other(tmp_path: Path, detector: Detector) -> None:
    a, b, c = news(3, seed=41)
    first, again = stored_row("x", a.text, detector), stored_row("x", a.text, detector)
    other_text, replacing = stored_row("x", b.text, detector), stored_row("x", c.text, detector)
    bad = stored_row("bad", "A lone surrogate \ud800 is not UTF-8 and cannot be stored.", detector)
    fresh = stored_row("fresh", b.text, detector)
    lead = stored_row("lead", "The first write leads a group of its own behind the lock.", detector)
    store = SqliteStore(tmp_path / "a.db", SPEC)
    try:
        got = _queued(
            store,
            lead,
            [(first, False), (again, False), (other_text, False), (bad, False),
             (replacing, True), (fresh, False)],
        )  # fmt: skip
        (p1, e1, t1), (p2, e2, _), (p3, e3, _), (p4, e4, t4), (p5, e5, _), (p6, e6, t6) = got
        assert isinstance(p1, Put)
        assert (p1.created, e1, t1) == (True, None, c.text)  # replaced later in the group
        assert (p2, e2) == (Put(p1.key, created=False), None)  # the same text again
        assert p3 is None
        assert isinstance(e3, Conflict)  # another text, without replace
        assert (p4, t4) == (None, None)  # refused, nothing of it stored
        assert isinstance(e4, InvalidInput)
        assert isinstance(p5, Put)
        assert (p5.created, p5.key > p1.key, e5) == (True, True, None)
        assert isinstance(p6, Put)
        assert (p6.created, e6, t6) == (True, None, b.text)  # the group went on
        assert store.writes().transactions == 2  # the lead's, then the whole group
        assert _texts(store.path) == {"lead": lead.record.text, "x": c.text, "fresh": b.text}
        # The index holds the replacing article's passages, not the replaced one's.
        assert store.passages() == sum(len(r.passages.units) for r in (lead, replacing, fresh))
        assert store.meta_by_key(p1.key) is None
        x = store.meta_by_id("x")
        assert x is not None
        assert x.key == p5.key
    finally:
        store.close()


def test_a_callback_that_raises_leaves_the_others_settled(
    tmp_path: Path, detector: Detector, caplog: pytest.LogCaptureFixture
) -> None:
    docs = news(4, seed=43)
    rows = [stored_row(d.id, d.text, detector) for d in docs]
    store = SqliteStore(tmp_path / "a.db", SPEC)
    settled: list[str] = []
    try:
        with caplog.at_level(logging.ERROR, logger="wiretrace.store"):
            writes = []
            for i, row in enumerate(rows):

                def then(put: Put | None, error: BaseException | None, i: int = i) -> None:
                    settled.append(rows[i].record.id)
                    if i == 1:
                        raise RuntimeError("a callback's bug")

                writes.append(Submit(row, then))
            store.submit_then(writes)  # one group
        assert settled == [r.record.id for r in rows]
        assert "a write's callback failed" in caplog.text
        assert store.count() == len(rows)
    finally:
        store.close()


def test_metas_by_key_are_meta_by_key_of_the_stored_keys(
    tmp_path: Path, detector: Detector
) -> None:
    store = SqliteStore(tmp_path / "a.db", SPEC)
    try:
        keys = [store.put(stored_row(d.id, d.text, detector)).key for d in news(12, seed=47)]
        assert store.delete(news(12, seed=47)[3].id)
        asked = [*keys[::-1], max(keys) + 5, keys[0], -1, *range(1000, 1600)]
        found = store.metas_by_key(asked)  # over 500 keys: two statements
        expected = {k: m for k in asked if (m := store.meta_by_key(k)) is not None}
        assert found == expected
        assert sorted(found) == sorted(keys[:3] + keys[4:])
    finally:
        store.close()
