"""The embedded default: one SQLite file in WAL mode with ``synchronous=FULL``, and an
in-process passage index (``PassageIndex``, in the compiled core) rebuilt from the stored
signatures at open.

A committed transaction survives SIGKILL and power loss; an interrupted one leaves
nothing behind, so an article is either wholly stored or absent. The index is updated
under the same lock right after the commit, so readers never see an article the index
does not hold, or the reverse, for longer than that one step.

Group commit: ``put``s that arrive while a transaction commits wait, and the next
transaction holds all of them (one fsync for the group). The group's ids are looked
up in one statement; then each article is written in arrival order, a new one by a
single ``INSERT`` (which SQLite undoes whole when it fails), a replacement under a
savepoint of its own, so one that fails (a conflict, bad input) leaves nothing behind
and the group goes on; two writes of one id in a group resolve as they would one
after the other. A ``put`` returns only after the commit
that holds it. The index's delta is merged into its sorted arrays by a thread of the
store's, off the write path (``PassageIndex.compact``, with the GIL released; the
index's lock is held only to freeze the delta and to swap the merged arrays in, so
lookups and writes go on while a merge runs).

SQLite's errors become ours in one place, ``_mapped``: a full disk is ``Exhausted``
(nothing was written; reads go on), a read-only, locked, unreadable or closed store is
``Unavailable``. The cause is in the message.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from wiretrace.errors import Conflict, Exhausted, InvalidInput, Unavailable, WiretraceError
from wiretrace.store.band_index import DEFAULT_DELTA_LIMIT, PassageIndex
from wiretrace.store.base import (
    UNIT_BITS,
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Lookup,
    Put,
    Ranked,
    Row,
    Settle,
    StoredMeta,
    Submit,
    Writes,
)

__all__ = ["SqliteStore"]

log = logging.getLogger("wiretrace.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    outlet TEXT NOT NULL,
    url TEXT NOT NULL,
    published_at_ns INTEGER,
    language TEXT NOT NULL,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    units INTEGER NOT NULL,
    signatures BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published_at_ns);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_LOAD_BATCH = 500_000

# Primary result codes (https://sqlite.org/rescode.html); extended codes keep them in
# their low byte.
_SQLITE_FULL = 13
_UNAVAILABLE_CODES = {
    3,  # PERM
    5,  # BUSY
    6,  # LOCKED
    8,  # READONLY
    10,  # IOERR
    11,  # CORRUPT
    14,  # CANTOPEN
    26,  # NOTADB
}

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _error(path: Path, err: sqlite3.Error) -> Exception:
    """Ours for SQLite's error ``err`` (``err`` itself when it is a bug)."""
    if isinstance(err, sqlite3.ProgrammingError):  # the connection is closed
        return Unavailable(f"the SQLite store at {path} is closed: {err}")
    code = (getattr(err, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _SQLITE_FULL:
        log.error("store full", extra={"path": str(path), "error": str(err)})
        return Exhausted(
            f"the SQLite store at {path} is full ({err}): nothing was written; "
            "free disk space and retry"
        )
    if code in _UNAVAILABLE_CODES:
        log.error("store unavailable", extra={"path": str(path), "error": str(err)})
        return Unavailable(f"the SQLite store at {path} cannot be used: {err}")
    return err


def _mapped(method: F) -> F:
    """Turn SQLite's errors into ours; anything else (a bug) goes up unchanged."""

    @functools.wraps(method)
    def wrapper(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as err:
            mapped = _error(self.path, err)
            if mapped is err:
                raise
            raise mapped from err

    return wrapper  # type: ignore[return-value]


def _own(err: BaseException) -> BaseException:
    """A copy of ``err`` for one writer of a failed group to raise: an exception raised
    on several threads at once would gather all their tracebacks."""
    if isinstance(err, WiretraceError):
        copy = type(err)(str(err))
        copy.__cause__ = err
        return copy
    return err  # a bug: raised as it is


def _settle(then: Settle, put: Put | None, error: BaseException | None) -> None:
    """Call a write's ``then``; what it raises is logged, as a future's callbacks' is,
    so that the group's other writes are settled too."""
    try:
        if error is not None:
            then(None, error)
        else:
            then(put, None)
    except Exception:
        log.exception("a write's callback failed")


def _in_chunks(values: list[T]) -> Iterator[tuple[str, list[T]]]:
    """``values`` in chunks for ``IN (...)``, each with its ``?`` marks: at most 500 a
    statement, as SQLite caps the number of parameters."""
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        yield ",".join("?" * len(chunk)), chunk


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(slots=True, eq=False)
class _Write:
    """One write waiting for the transaction that holds it: a ``put``, whose thread
    waits on ``wake``, released once, by the thread that wrote its group (``done``),
    or by the one before it to have it lead the next group; or a ``submit_then``,
    whose ``then`` is called once its group has committed (its caller leads the group
    when the store was idle; the store's committer thread when it came meanwhile)."""

    row: Row
    replace: bool
    wake: threading.Lock | None = None  # a put's (held until it is released)
    done: bool = False
    put: Put | None = None
    error: BaseException | None = None
    #: The article this write replaced: its key, units and signature bytes.
    replaced: tuple[int, int, bytes] | None = None
    then: Settle | None = None

    def outcome(self) -> Put:
        if self.error is not None:
            raise self.error
        assert self.put is not None  # done without an error
        return self.put


class SqliteStore(ArticleStore):
    """``merge_after``: passages the index's delta gathers before the merging thread
    folds them into the sorted arrays."""

    def __init__(
        self, path: Path, spec: IndexSpec, *, merge_after: int = DEFAULT_DELTA_LIMIT
    ) -> None:
        if merge_after < 1:
            raise InvalidInput(f"merge_after must be >= 1, got {merge_after}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.spec = spec
        self.merge_after = merge_after
        self._lock = threading.Lock()  # the connection, and the index's writer
        # Group commit: writes waiting for a transaction, and whether one is running.
        self._waiting: list[_Write] = []
        self._turn = threading.Lock()
        self._committing = False  # a leader is writing a group (or about to)
        self._writes = Writes(0, 0)
        # ``submit_then``s have no thread of their own to lead a group: this one does.
        self._lead_wanted: queue.SimpleQueue[None] = queue.SimpleQueue()  # wake-ups
        self._handed = False  # the committer thread is to lead the next group
        self._committer: threading.Thread | None = None
        self._readers = threading.local()
        self._readers_lock = threading.Lock()
        self._reader_dbs: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as err:
            raise InvalidInput(f"cannot open the SQLite store at {path}: {err}") from err
        stored = self._db.execute("SELECT value FROM settings WHERE name='num_perm'").fetchone()
        if stored is None:
            self._db.execute("INSERT INTO settings VALUES ('num_perm', ?)", (str(spec.num_perm),))
        elif int(stored[0]) != spec.num_perm:
            raise InvalidInput(
                f"the store at {path} holds signatures of num_perm={stored[0]}, "
                f"but the server runs with num_perm={spec.num_perm}; use the same value"
            )
        # The load's batches go to the index in bulk; new articles wait in its delta
        # until the merging thread folds them in (``_merge_loop``).
        self._index = PassageIndex(
            bands=spec.bands, num_perm=spec.num_perm, delta_limit=_LOAD_BATCH, merge_inline=False
        )
        self._load()
        self._merge_wanted = threading.Condition()
        self._closing = False
        self._merger = threading.Thread(target=self._merge_loop, name="index-merge", daemon=True)
        self._merger.start()

    def _load(self) -> None:
        """Rebuild the index from the stored signatures, in bulk batches."""
        t0 = time.perf_counter()
        articles = self._load_in_core() if self.spec.distinct_rows else self._load_by_article()
        self._index.compact()
        log.info(
            "index rebuilt",
            extra={
                "articles": articles,
                "passages": len(self._index),
                "seconds": round(time.perf_counter() - t0, 3),
            },
        )

    def _load_in_core(self) -> int:
        """The stored articles' passages chosen and indexed in the core, one call per
        batch of about ``_LOAD_BATCH`` signature rows (``spec.distinct_rows``)."""
        articles = 0
        db = sqlite3.connect(self.path)  # the scan must not hold the writer's lock
        try:
            cur = db.execute("SELECT key, units, signatures FROM articles")
            while True:
                keys: list[int] = []
                units: list[int] = []
                blobs: list[bytes] = []
                rows = 0
                while rows < _LOAD_BATCH:
                    got = cur.fetchmany(2000)
                    if not got:
                        break
                    for key, n, blob in got:
                        keys.append(key)
                        units.append(n)
                        blobs.append(blob)
                        rows += n
                if not keys:
                    return articles
                offsets = np.zeros(len(units) + 1, dtype=np.int64)
                np.cumsum(units, out=offsets[1:])
                sigs = np.frombuffer(b"".join(blobs), dtype=np.uint32)
                self._index.insert_articles(
                    np.array(keys, dtype=np.int64),
                    offsets,
                    sigs.reshape(-1, self.spec.num_perm),
                    rows=self.spec.rows,
                    unit_bits=UNIT_BITS,
                )
                articles += len(keys)
        finally:
            db.close()

    def _load_by_article(self) -> int:
        """The stored articles' passages chosen by ``spec.passages``, one by one."""
        articles = 0
        keys: list[npt.NDArray[np.int64]] = []
        bands: list[npt.NDArray[np.uint64]] = []
        rows: list[npt.NDArray[np.uint32]] = []
        pending = 0
        for key, sigs in self._scan_signatures():
            passages = self.spec.passages(sigs)
            keys.append(passages.keys(key))
            bands.append(passages.band_keys)
            rows.append(sigs[passages.units])
            pending += len(passages.units)
            articles += 1
            if pending >= _LOAD_BATCH:  # merged straight into the sorted arrays
                self._index.insert(
                    np.concatenate(keys), np.concatenate(bands), np.concatenate(rows)
                )
                keys, bands, rows, pending = [], [], [], 0
        if pending:
            self._flush(keys, bands, rows)
        return articles

    def _flush(
        self,
        keys: list[npt.NDArray[np.int64]],
        bands: list[npt.NDArray[np.uint64]],
        rows: list[npt.NDArray[np.uint32]],
    ) -> None:
        self._index.insert(np.concatenate(keys), np.concatenate(bands), np.concatenate(rows))

    def _index_insert(self, key: int, row: Row) -> None:
        passages = row.passages
        self._index.insert(passages.keys(key), passages.band_keys, row.signatures[passages.units])

    def _index_rows(self, keys: list[int], rows: list[Row]) -> None:
        """Index the stored articles ``keys`` (``rows``) in one insert."""
        if len(rows) == 1:
            self._index_insert(keys[0], rows[0])
            return
        self._index.insert(
            np.concatenate([r.passages.keys(k) for k, r in zip(keys, rows, strict=True)]),
            np.concatenate([r.passages.band_keys for r in rows]),
            np.concatenate([r.signatures[r.passages.units] for r in rows]),
        )

    def _index_remove(self, key: int, units: int, blob: bytes) -> None:
        """Drop a stored article's passages, found again from its stored signatures."""
        passages = self.spec.passages(self._signatures(units, blob))
        self._index.remove(passages.keys(key), passages.band_keys)

    _INSERT = (
        "INSERT INTO articles (id, outlet, url, published_at_ns, language, text,"
        " sha256, units, signatures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    @staticmethod
    def _values(row: Row) -> tuple[object, ...]:
        record = row.record
        return (
            record.id,
            record.outlet,
            record.url,
            record.published_at_ns,
            record.language,
            record.text,
            row.sha256,
            int(row.signatures.shape[0]),
            # Bound as a blob through the buffer protocol: SQLite copies the bytes.
            np.ascontiguousarray(row.signatures, dtype=np.uint32),
        )

    # -- writes ---------------------------------------------------------------------

    def put(self, row: Row, *, replace: bool = False) -> Put:
        write = _Write(row, replace, wake=_held())
        with self._turn:
            self._waiting.append(write)
            lead = not self._committing
            self._committing = True
        if not lead:
            assert write.wake is not None
            write.wake.acquire()  # released once: its group is done, or it leads the next
            if write.done:
                return write.outcome()
        self._lead()
        return write.outcome()

    def submit_then(self, writes: Sequence[Submit]) -> None:
        """The writes join the next group together, and each one's ``then`` is called
        once that group has committed, on the thread that wrote it. The store's
        committer thread leads the groups that form while one commits, so the caller's
        thread is free meanwhile and a few threads can keep many articles waiting for
        one commit. When no group is in progress, the caller writes its own at once, as
        ``put`` does (no hand-off to another thread), and the ``then``s are called
        before this returns."""
        group = [_Write(w.row, w.replace, then=w.then) for w in writes]
        if not group:
            return
        with self._turn:
            if self._closing:
                raise Unavailable(f"the SQLite store at {self.path} is closed")
            self._waiting.extend(group)
            lead = not self._committing
            self._committing = True
        if lead:
            self._lead()

    def _commit_loop(self) -> None:
        """Lead the groups that a ``submit_then`` starts, until the store closes."""
        while True:
            self._lead_wanted.get()
            with self._turn:
                handed, self._handed = self._handed, False
            if not handed:  # woken by ``close``
                return
            self._lead()

    def _lead(self) -> None:
        """Write every waiting write as one group, settle them, and hand the writes
        that came meanwhile to their leader: the first of them when it is a ``put``,
        or the committer thread (started on the first such hand-off)."""
        with self._turn:
            group, self._waiting = self._waiting, []
        nxt = None
        try:
            self._write_group(group)
        finally:
            with self._turn:
                for w in group:
                    w.done = True
                if self._waiting:
                    nxt = self._waiting[0]  # it leads the writes that came meanwhile
                    self._handed = nxt.then is not None
                    if self._handed and self._committer is None:
                        self._committer = threading.Thread(
                            target=self._commit_loop, name="group-commit", daemon=True
                        )
                        self._committer.start()
                else:
                    self._committing = False
            for w in group:
                if w.then is None:
                    assert w.wake is not None  # a put's
                    w.wake.release()  # the leader's own lock too: nobody waits on it
                else:
                    _settle(w.then, w.put, w.error)
            if nxt is not None:
                if nxt.then is None:
                    assert nxt.wake is not None
                    nxt.wake.release()
                else:
                    self._lead_wanted.put(None)

    def _write_group(self, group: list[_Write]) -> None:
        """Store ``group`` in one transaction, then index what it stored. Sets each
        write's ``put`` or ``error``; raises nothing."""
        try:
            with self._lock:
                try:
                    with self._transaction() as cur:
                        known = self._stored_ids(cur, group)
                        for write in group:
                            self._stage(cur, write, known)
                except BaseException:
                    for write in group:
                        write.put = write.replaced = None
                    raise
                created = [(w.put.key, w) for w in group if w.put is not None and w.put.created]
                self._writes = Writes(
                    self._writes.transactions + 1, self._writes.articles + len(created)
                )
                if any(w.replaced is not None for _, w in created):
                    for key, write in created:  # in arrival order: a replaced article first
                        if write.replaced is not None:
                            self._index_remove(*write.replaced)
                        self._index_insert(key, write.row)
                elif created:  # in one call
                    self._index_rows([key for key, _ in created], [w.row for _, w in created])
        except BaseException as err:
            mapped = _error(self.path, err) if isinstance(err, sqlite3.Error) else err
            for write in group:
                if write.put is None and write.error is None:
                    write.error = _own(mapped)
            if not isinstance(err, Exception):
                raise
        self._wake_merger()

    def _stored_ids(self, cur: sqlite3.Cursor, group: list[_Write]) -> dict[str, tuple[int, str]]:
        """The key and text hash of each article of ``group``'s ids stored already, read
        in one statement (``_in_chunks``)."""
        ids = list({w.row.record.id: None for w in group})
        found: dict[str, tuple[int, str]] = {}
        for marks, chunk in _in_chunks(ids):
            query = f"SELECT id, key, sha256 FROM articles WHERE id IN ({marks})"
            for article_id, key, sha256 in cur.execute(query, chunk):
                found[article_id] = (int(key), sha256)
        return found

    def _stage(
        self, cur: sqlite3.Cursor, write: _Write, stored: dict[str, tuple[int, str]]
    ) -> None:
        """Write one article, the group's earlier ones already written (``stored``: the
        key and text hash of each id of the group stored so far, kept up to date here).
        A new article is one ``INSERT``, which SQLite undoes whole when it fails; a
        replacement deletes and inserts under a savepoint of its own. An error that
        concerns the article alone leaves nothing of it and is kept for its caller."""
        row = write.row
        article_id = row.record.id
        old = stored.get(article_id)
        if old is not None and old[1] == row.sha256:
            write.put = Put(old[0], created=False)
            return
        if old is not None and not write.replace:
            write.error = Conflict.other_text(article_id)
            return
        savepoint = old is not None
        try:
            if old is not None:
                cur.execute("SAVEPOINT article")
                units, blob = cur.execute(
                    "SELECT units, signatures FROM articles WHERE key = ?", (old[0],)
                ).fetchone()
                cur.execute("DELETE FROM articles WHERE key = ?", (old[0],))
                write.replaced = (old[0], int(units), bytes(blob))
            cur.execute(self._INSERT, self._values(row))
            write.put = Put(int(cur.lastrowid or 0), created=True)
            if savepoint:
                cur.execute("RELEASE article")
        except (sqlite3.Error, ValueError) as err:
            # ValueError: a text SQLite cannot take (a lone surrogate is not UTF-8).
            write.put = write.replaced = None
            if not self._db.in_transaction:
                raise  # SQLite rolled the whole transaction back: the group fails
            if savepoint:
                cur.execute("ROLLBACK TO article")
                cur.execute("RELEASE article")
            if isinstance(err, sqlite3.Error):
                write.error = _error(self.path, err)
            else:
                write.error = InvalidInput(f"article {article_id!r} cannot be stored: {err}")
            return
        stored[article_id] = (write.put.key, row.sha256)

    @_mapped
    def insert_many(self, rows: list[Row]) -> list[int]:
        with self._lock:
            keys = self._commit(rows)
            if keys:
                self._index_rows(keys, rows)
        self._wake_merger()
        return keys

    def writes(self) -> Writes:
        return self._writes

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """All or nothing; the caller holds the lock."""
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself on some errors (SQLITE_FULL among them); a
            # second ROLLBACK would fail and hide the real cause.
            if self._db.in_transaction:
                try:
                    cur.execute("ROLLBACK")
                except sqlite3.Error as err:
                    log.error("rollback failed", extra={"path": str(self.path), "error": str(err)})
            raise

    def _commit(self, rows: list[Row]) -> list[int]:
        keys: list[int] = []
        with self._transaction() as cur:
            for row in rows:
                cur.execute(self._INSERT, self._values(row))
                keys.append(int(cur.lastrowid or 0))
        self._writes = Writes(self._writes.transactions + 1, self._writes.articles + len(rows))
        return keys

    # -- the index's merges, on a thread of their own --------------------------------

    def _wake_merger(self) -> None:
        if self._index.pending >= self.merge_after:
            with self._merge_wanted:
                self._merge_wanted.notify()

    def _merge_loop(self) -> None:
        while True:
            with self._merge_wanted:
                self._merge_wanted.wait_for(
                    lambda: self._closing or self._index.pending >= self.merge_after
                )
                if self._closing:
                    return
            try:
                t0 = time.perf_counter()
                self._index.compact()
                log.debug(
                    "index merged",
                    extra={
                        "passages": len(self._index),
                        "seconds": round(time.perf_counter() - t0, 3),
                    },
                )
            except Exception:  # a bug: the delta keeps answering, the next merge retries
                log.exception("index merge failed")
                time.sleep(1.0)

    def _remove_where(self, where: str, value: object) -> int:
        """Delete the matching articles and their passages; the caller holds the lock."""
        found = self._db.execute(
            f"SELECT key, units, signatures FROM articles WHERE {where}", (value,)
        ).fetchall()
        if not found:
            return 0
        with self._transaction() as cur:
            cur.executemany("DELETE FROM articles WHERE key = ?", [(k,) for k, _, _ in found])
        for key, units, blob in found:
            self._index_remove(int(key), units, blob)
        return len(found)

    @_mapped
    def delete(self, article_id: str) -> bool:
        with self._lock:
            return self._remove_where("id = ?", article_id) > 0

    @_mapped
    def expire(self, before_ns: int) -> int:
        with self._lock:
            return self._remove_where("published_at_ns < ?", before_ns)

    # -- reads ----------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection: reads see the last commit and never wait for
        the writer (WAL), whose lock is held through each group's fsync."""
        db: sqlite3.Connection | None = getattr(self._readers, "db", None)
        if db is None:
            with self._readers_lock:
                if self._closed:
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                db = sqlite3.connect(self.path, check_same_thread=False)
                self._reader_dbs.append(db)
            self._readers.db = db
        return db

    def lookup(self, band_keys: npt.NDArray[np.uint64], *, max_bucket: int | None) -> Lookup:
        return self._index.lookup(band_keys, max_bucket=max_bucket)

    def lookup_sketched(
        self,
        band_keys: npt.NDArray[np.uint64],
        signatures: npt.NDArray[np.uint32],
        *,
        max_bucket: int | None,
    ) -> Lookup:
        return self._index.lookup(band_keys, signatures, max_bucket=max_bucket)

    def ranked(
        self,
        band_keys: list[npt.NDArray[np.uint64]],
        signatures: list[npt.NDArray[np.uint32]],
        *,
        max_bucket: int | None,
        min_jaccard: float,
        exclude_keys: list[int | None],
    ) -> list[Ranked]:
        return self._index.ranked(
            band_keys,
            signatures,
            max_bucket=max_bucket,
            min_jaccard=min_jaccard,
            exclude_keys=exclude_keys,
        )

    _META = "SELECT key, id, outlet, published_at_ns, sha256 FROM articles WHERE "

    def meta_by_id(self, article_id: str) -> StoredMeta | None:
        return self.metas_by_id([article_id]).get(article_id)

    def meta_by_key(self, key: int) -> StoredMeta | None:
        return self.metas_by_key([key]).get(key)

    @_mapped
    def metas_by_id(self, ids: list[str]) -> dict[str, StoredMeta]:
        return {meta.id: meta for meta in self._metas("id", ids)}

    @_mapped
    def metas_by_key(self, keys: list[int]) -> dict[int, StoredMeta]:
        return {meta.key: meta for meta in self._metas("key", keys)}

    def _metas(self, column: str, values: list[Any]) -> Iterator[StoredMeta]:
        """The metadata of the stored articles whose ``column`` is among ``values``,
        in as few statements as ``_in_chunks`` allows."""
        reader = self._reader()
        for marks, chunk in _in_chunks(values):
            for row in reader.execute(self._META + f"{column} IN ({marks})", chunk):
                yield StoredMeta(*row)

    @_mapped
    def record(self, article_id: str) -> ArticleRecord | None:
        row = (
            self._reader()
            .execute(
                "SELECT id, outlet, url, published_at_ns, language, text"
                " FROM articles WHERE id = ?",
                (article_id,),
            )
            .fetchone()
        )
        return ArticleRecord(*row) if row else None

    @_mapped
    def text(self, key: int) -> str | None:
        row = self._reader().execute("SELECT text FROM articles WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    @_mapped
    def signatures_many(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        out: dict[int, npt.NDArray[np.uint32]] = {}
        for start in range(0, len(keys), 500):  # SQLite caps the number of parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, units, signatures FROM articles WHERE key IN ({marks})"
            rows = self._reader().execute(query, chunk).fetchall()
            for key, units, blob in rows:
                out[int(key)] = self._signatures(units, blob)
        return out

    @_mapped
    def count(self) -> int:
        return int(self._reader().execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def passages(self) -> int:
        return len(self._index)

    def index_bytes(self) -> int:
        return self._index.memory_bytes()

    def ping(self) -> None:
        """The file is local: reachable whenever the process runs."""

    def _scan_signatures(self) -> Iterator[tuple[int, npt.NDArray[np.uint32]]]:
        # A separate connection: the scan must not hold the writer's lock for its length.
        db = sqlite3.connect(self.path)
        try:
            for key, units, blob in db.execute("SELECT key, units, signatures FROM articles"):
                yield int(key), self._signatures(units, blob)
        finally:
            db.close()

    def close(self) -> None:
        with self._merge_wanted:
            self._closing = True
            self._merge_wanted.notify()
        self._merger.join()
        with self._turn:
            committer = self._committer
        if committer is not None:  # it writes what was submitted, then ends
            self._lead_wanted.put(None)
            committer.join()
        with self._readers_lock:
            self._closed = True
            for db in self._reader_dbs:
                db.close()
        with self._lock:
            self._db.close()
