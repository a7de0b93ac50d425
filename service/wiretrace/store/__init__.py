"""Durable article storage behind one interface; ``open_store`` picks the backend."""

from wiretrace.store.base import ArticleRecord, ArticleStore, StoredMeta, open_store

__all__ = ["ArticleRecord", "ArticleStore", "StoredMeta", "open_store"]
