"""Articles and their passage index behind one interface; ``open_store`` picks the
backend from a URL."""

from wiretrace.store.base import (
    UNIT_BITS,
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Put,
    StoredMeta,
    open_store,
)

__all__ = [
    "UNIT_BITS",
    "ArticleRecord",
    "ArticleStore",
    "IndexSpec",
    "Put",
    "StoredMeta",
    "open_store",
]
