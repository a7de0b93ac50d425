"""Articles and their passage index behind one interface (``base``), two backends
(``sqlite``, the embedded default, and ``redis``, shared by replicas), and
``open_store``, which picks one from a URL."""

from __future__ import annotations

from pathlib import Path

from wiretrace.errors import InvalidInput
from wiretrace.store.base import (
    UNIT_BITS,
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Lookup,
    Passages,
    Put,
    Row,
    StoredMeta,
)
from wiretrace.store.redis import RedisStore, redact
from wiretrace.store.sqlite import SqliteStore

__all__ = [
    "REDIS_SCHEMES",
    "STORE_SCHEMES",
    "UNIT_BITS",
    "ArticleRecord",
    "ArticleStore",
    "IndexSpec",
    "Lookup",
    "Passages",
    "Put",
    "Row",
    "StoredMeta",
    "open_store",
    "redact",
]

#: URL prefixes of the stores ``open_store`` knows.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
STORE_SCHEMES = ("sqlite:///", *REDIS_SCHEMES)


def open_store(url: str, spec: IndexSpec) -> ArticleStore:
    """A store from a URL: ``sqlite:///path/to/file.db`` or a bare path (embedded),
    or ``redis://host:port/db`` (shared)."""
    if url.startswith(REDIS_SCHEMES):
        return RedisStore(url, spec)
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///") :]), spec)
    if "://" in url:
        raise InvalidInput(
            f"unknown store URL {redact(url)}: use sqlite:///PATH, a file path or "
            "redis://HOST:PORT/DB"
        )
    return SqliteStore(Path(url), spec)
