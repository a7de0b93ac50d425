"""The embedded default: one SQLite file in WAL mode with ``synchronous=FULL``, and an
in-process passage index (``PassageIndex``, in the compiled core) rebuilt from the stored
signatures at open.

A committed transaction survives SIGKILL and power loss; an interrupted one leaves
nothing behind, so an article is either wholly stored or absent. The index is updated
under the same lock right after the commit, so readers never see an article the index
does not hold, or the reverse, for longer than that one step.

SQLite's errors become ours in one place, ``_mapped``: a full disk is ``Exhausted``
(nothing was written; reads go on), a read-only, locked, unreadable or closed store is
``Unavailable``. The cause is in the message.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from wiretrace.errors import Conflict, Exhausted, InvalidInput, Unavailable
from wiretrace.store.band_index import PassageIndex
from wiretrace.store.base import (
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Lookup,
    Put,
    Row,
    StoredMeta,
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


def _mapped(method: F) -> F:
    """Turn SQLite's errors into ours; anything else (a bug) goes up unchanged."""

    @functools.wraps(method)
    def wrapper(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.ProgrammingError as err:  # the connection is closed
            raise Unavailable(f"the SQLite store at {self.path} is closed: {err}") from err
        except sqlite3.Error as err:
            code = (getattr(err, "sqlite_errorcode", None) or 0) & 0xFF
            if code == _SQLITE_FULL:
                log.error("store full", extra={"path": str(self.path), "error": str(err)})
                raise Exhausted(
                    f"the SQLite store at {self.path} is full ({err}): nothing was written; "
                    "free disk space and retry"
                ) from err
            if code in _UNAVAILABLE_CODES:
                log.error("store unavailable", extra={"path": str(self.path), "error": str(err)})
                raise Unavailable(f"the SQLite store at {self.path} cannot be used: {err}") from err
            raise

    return wrapper  # type: ignore[return-value]


class SqliteStore(ArticleStore):
    def __init__(self, path: Path, spec: IndexSpec) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.spec = spec
        self._lock = threading.Lock()
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
        self._index = PassageIndex(bands=spec.bands, num_perm=spec.num_perm)
        self._load()

    def _load(self) -> None:
        """Rebuild the index from the stored signatures, in bulk batches."""
        t0 = time.perf_counter()
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
        self._index.compact()
        log.info(
            "index rebuilt",
            extra={
                "articles": articles,
                "passages": len(self._index),
                "seconds": round(time.perf_counter() - t0, 3),
            },
        )

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
            np.ascontiguousarray(row.signatures, dtype=np.uint32).tobytes(),
        )

    # -- writes ---------------------------------------------------------------------

    @_mapped
    def put(self, row: Row, *, replace: bool = False) -> Put:
        article_id = row.record.id
        with self._lock:
            old = self._db.execute(
                "SELECT key, sha256, units, signatures FROM articles WHERE id = ?", (article_id,)
            ).fetchone()
            if old is not None and old[1] == row.sha256:
                return Put(int(old[0]), created=False)
            if old is not None and not replace:
                raise Conflict.other_text(article_id)
            (key,) = self._commit([row], old[0] if old else None)
            if old is not None:
                self._index_remove(int(old[0]), old[2], old[3])
            self._index_insert(key, row)
        return Put(key, created=True)

    @_mapped
    def insert_many(self, rows: list[Row]) -> list[int]:
        with self._lock:
            keys = self._commit(rows, None)
            if keys:
                self._index.insert(
                    np.concatenate([r.passages.keys(k) for k, r in zip(keys, rows, strict=True)]),
                    np.concatenate([r.passages.band_keys for r in rows]),
                    np.concatenate([r.signatures[r.passages.units] for r in rows]),
                )
        return keys

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

    def _commit(self, rows: list[Row], replace_key: int | None) -> list[int]:
        keys: list[int] = []
        with self._transaction() as cur:
            if replace_key is not None:
                cur.execute("DELETE FROM articles WHERE key = ?", (replace_key,))
            for row in rows:
                cur.execute(self._INSERT, self._values(row))
                keys.append(int(cur.lastrowid or 0))
        return keys

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

    def _meta(self, where: str, value: object) -> StoredMeta | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT key, id, outlet, published_at_ns, sha256 FROM articles WHERE {where} = ?",
                (value,),
            ).fetchone()
        return StoredMeta(*row) if row else None

    @_mapped
    def meta_by_id(self, article_id: str) -> StoredMeta | None:
        return self._meta("id", article_id)

    @_mapped
    def meta_by_key(self, key: int) -> StoredMeta | None:
        return self._meta("key", key)

    @_mapped
    def record(self, article_id: str) -> ArticleRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, outlet, url, published_at_ns, language, text"
                " FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
        return ArticleRecord(*row) if row else None

    @_mapped
    def text(self, key: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM articles WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    @_mapped
    def signatures_many(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        out: dict[int, npt.NDArray[np.uint32]] = {}
        for start in range(0, len(keys), 500):  # SQLite caps the number of parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, units, signatures FROM articles WHERE key IN ({marks})", chunk
                ).fetchall()
            for key, units, blob in rows:
                out[int(key)] = self._signatures(units, blob)
        return out

    @_mapped
    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

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
        with self._lock:
            self._db.close()
