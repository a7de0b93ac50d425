"""The embedded default: one SQLite file in WAL mode with ``synchronous=FULL``.

A committed transaction survives SIGKILL and power loss; an interrupted one leaves
nothing behind, so an article is either wholly stored or absent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wiretrace.errors import InvalidInput
from wiretrace.store.base import ArticleRecord, ArticleStore, StoredMeta

__all__ = ["SqliteStore"]

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
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteStore(ArticleStore):
    def __init__(self, path: Path, *, num_perm: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.num_perm = num_perm
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
            self._db.execute("INSERT INTO settings VALUES ('num_perm', ?)", (str(num_perm),))
        elif int(stored[0]) != num_perm:
            raise InvalidInput(
                f"the store at {path} holds signatures of num_perm={stored[0]}, "
                f"but the server runs with num_perm={num_perm}; use the same value"
            )

    _INSERT = (
        "INSERT INTO articles (id, outlet, url, published_at_ns, language, text,"
        " sha256, units, signatures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    @staticmethod
    def _row(
        record: ArticleRecord, sha256: str, signatures: npt.NDArray[np.uint32]
    ) -> tuple[object, ...]:
        return (
            record.id,
            record.outlet,
            record.url,
            record.published_at_ns,
            record.language,
            record.text,
            sha256,
            int(signatures.shape[0]),
            np.ascontiguousarray(signatures, dtype=np.uint32).tobytes(),
        )

    def insert(
        self,
        record: ArticleRecord,
        sha256: str,
        signatures: npt.NDArray[np.uint32],
        *,
        replace_key: int | None = None,
    ) -> int:
        return self._transaction([(record, sha256, signatures)], replace_key)[0]

    def insert_many(
        self, rows: list[tuple[ArticleRecord, str, npt.NDArray[np.uint32]]]
    ) -> list[int]:
        return self._transaction(rows, None)

    def _transaction(
        self,
        rows: list[tuple[ArticleRecord, str, npt.NDArray[np.uint32]]],
        replace_key: int | None,
    ) -> list[int]:
        keys: list[int] = []
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if replace_key is not None:
                    cur.execute("DELETE FROM articles WHERE key = ?", (replace_key,))
                for row in rows:
                    cur.execute(self._INSERT, self._row(*row))
                    keys.append(int(cur.lastrowid or 0))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return keys

    def _meta(self, where: str, value: object) -> StoredMeta | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT key, id, outlet, published_at_ns, sha256 FROM articles WHERE {where} = ?",
                (value,),
            ).fetchone()
        return StoredMeta(*row) if row else None

    def meta_by_id(self, article_id: str) -> StoredMeta | None:
        return self._meta("id", article_id)

    def meta_by_key(self, key: int) -> StoredMeta | None:
        return self._meta("key", key)

    def record(self, article_id: str) -> ArticleRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, outlet, url, published_at_ns, language, text"
                " FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
        return ArticleRecord(*row) if row else None

    def text(self, key: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM articles WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _decode(self, units: int, blob: bytes) -> npt.NDArray[np.uint32]:
        return np.frombuffer(blob, dtype=np.uint32).reshape(units, self.num_perm)

    def signatures(self, key: int) -> npt.NDArray[np.uint32] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT units, signatures FROM articles WHERE key = ?", (key,)
            ).fetchone()
        return self._decode(row[0], row[1]) if row else None

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
                out[int(key)] = self._decode(units, blob)
        return out

    def delete(self, key: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM articles WHERE key = ?", (key,))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def scan_signatures(self) -> Iterator[tuple[int, npt.NDArray[np.uint32]]]:
        # A separate connection: the scan must not hold the writer's lock for its length.
        db = sqlite3.connect(self.path)
        try:
            for key, units, blob in db.execute("SELECT key, units, signatures FROM articles"):
                yield int(key), self._decode(units, blob)
        finally:
            db.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()
