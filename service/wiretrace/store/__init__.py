"""Articles and their passage index behind one interface (``base``), three backends
(``sqlite``, the embedded default; ``redis``, shared by replicas; ``cluster``, shared
on Redis Cluster), and ``open_store``, which picks one from a URL."""

from __future__ import annotations

from pathlib import Path

from wiretrace.errors import InvalidInput
from wiretrace.store.base import (
    UNIT_BITS,
    ArticleRecord,
    ArticleStore,
    Hits,
    IndexSpec,
    Lookup,
    Passages,
    Put,
    Ranked,
    Row,
    Settle,
    StoredMeta,
    Submit,
    Writes,
)
from wiretrace.store.cluster import ClusterStore
from wiretrace.store.redis import RedisStore, redact
from wiretrace.store.sqlite import SqliteStore

__all__ = [
    "CLUSTER_SCHEME",
    "REDIS_SCHEMES",
    "STORE_SCHEMES",
    "UNIT_BITS",
    "ArticleRecord",
    "ArticleStore",
    "Hits",
    "IndexSpec",
    "Lookup",
    "Passages",
    "Put",
    "Ranked",
    "Row",
    "Settle",
    "StoredMeta",
    "Submit",
    "Writes",
    "open_store",
    "redact",
]

#: URL prefixes of the stores ``open_store`` knows.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
CLUSTER_SCHEME = "redis+cluster://"
STORE_SCHEMES = ("sqlite:///", *REDIS_SCHEMES, CLUSTER_SCHEME)


def open_store(url: str, spec: IndexSpec) -> ArticleStore:
    """A store from a URL: ``sqlite:///path/to/file.db`` or a bare path (embedded),
    ``redis://host:port/db`` (shared), or ``redis+cluster://host:port[,host:port...]/``
    (shared, on Redis Cluster)."""
    if url.startswith(CLUSTER_SCHEME):
        return ClusterStore(url, spec)
    if url.startswith(REDIS_SCHEMES):
        return RedisStore(url, spec)
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///") :]), spec)
    if "://" in url:
        raise InvalidInput(
            f"unknown store URL {redact(url)}: use sqlite:///PATH, a file path or "
            "redis://HOST:PORT/DB or redis+cluster://HOST:PORT[,HOST:PORT...]/"
        )
    return SqliteStore(Path(url), spec)
