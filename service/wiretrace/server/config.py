"""Typed server configuration, filled from flags and environment, validated at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wiretrace.engine.config import DEFAULT_MIN_REWORDED_TOKENS, EngineConfig
from wiretrace.errors import InvalidInput
from wiretrace.store.base import STORE_SCHEMES

__all__ = ["ENV_PREFIX", "ServerConfig", "min_message_bytes"]

ENV_PREFIX = "WIRETRACE_"
DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_DATA_DIR = Path("wiretrace-data")
DEFAULT_MAX_TEXT_CHARS = 200_000
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
DEFAULT_WORKERS = 8
DEFAULT_GRACE_SECONDS = 10.0
DEFAULT_MAX_RESULTS = 100
DEFAULT_MAX_CANDIDATES = 50
DEFAULT_CACHE_ARTICLES = 2048
DEFAULT_SWEEP_SECONDS = 5.0
MAX_ID_CHARS = 256
MAX_OPTION_LIMIT = 10_000


def min_message_bytes(max_text_chars: int) -> int:
    """The message cap that fits a Compare of two texts of ``max_text_chars`` code
    points at 4 UTF-8 bytes each, and the envelope."""
    return 8 * max_text_chars + 64 * 1024


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Attributes:
    address: host:port to listen on; port 0 picks a free one.
    data_dir: where the embedded SQLite store lives (``articles.db``).
    store: where articles and the index live instead: ``redis://HOST:PORT/DB`` shares
        them between replicas; empty means the embedded store in ``data_dir``.
    retention_days: articles published longer ago leave the store and the index
        (0 keeps them all; articles without a publication time are kept).
    sweep_seconds: how often retention and the store's health are checked.
    max_text_chars: longest accepted article text, in code points.
    max_message_bytes: largest gRPC message accepted or sent.
    workers: threads serving RPCs.
    grace_seconds: how long SIGTERM waits for calls in flight.
    max_results: matches returned when a request does not say.
    max_candidates: source articles aligned per detection, most LSH hits first.
    cache_articles: prepared source articles kept in memory.
    engine: detection engine settings.
    """

    address: str = DEFAULT_ADDRESS
    data_dir: Path = DEFAULT_DATA_DIR
    store: str = ""
    retention_days: float = 0.0
    sweep_seconds: float = DEFAULT_SWEEP_SECONDS
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    workers: int = DEFAULT_WORKERS
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    max_results: int = DEFAULT_MAX_RESULTS
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    cache_articles: int = DEFAULT_CACHE_ARTICLES
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        host, sep, port = self.address.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise InvalidInput(
                f"address must be HOST:PORT with PORT in [0, 65535], got {self.address!r}"
            )
        for name in ("max_text_chars", "max_message_bytes", "workers", "max_results"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_candidates < 1 or self.cache_articles < 0:
            raise InvalidInput("max_candidates must be >= 1 and cache_articles >= 0")
        if self.retention_days < 0 or self.sweep_seconds <= 0:
            raise InvalidInput(
                f"retention_days must be >= 0 and sweep_seconds > 0, got "
                f"{self.retention_days} and {self.sweep_seconds}"
            )
        if self.store and not self.store.startswith(STORE_SCHEMES):
            raise InvalidInput(
                f"store must be redis://HOST:PORT/DB or sqlite:///PATH, got {self.store!r}"
            )
        if self.grace_seconds < 0:
            raise InvalidInput(f"grace_seconds must be >= 0, got {self.grace_seconds}")
        if self.max_results > MAX_OPTION_LIMIT:
            raise InvalidInput(f"max_results must be <= {MAX_OPTION_LIMIT}, got {self.max_results}")
        if self.max_message_bytes < min_message_bytes(self.max_text_chars):
            raise InvalidInput(
                f"max_message_bytes ({self.max_message_bytes}) is too small for "
                f"max_text_chars ({self.max_text_chars}): raise it to at least "
                f"{min_message_bytes(self.max_text_chars)}"
            )

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite:///{self.data_dir / 'articles.db'}"

    @property
    def retention_seconds(self) -> float:
        return self.retention_days * 86400.0

    @classmethod
    def from_sources(
        cls, flags: dict[str, object], env: dict[str, str] | None = None
    ) -> ServerConfig:
        """Flags win over ``WIRETRACE_*`` environment variables, which win over defaults."""
        env = dict(os.environ) if env is None else env

        def read(name: str, kind: type) -> Any:
            raw = flags.get(name)
            if raw is None:
                raw = env.get(ENV_PREFIX + name.upper())
            if raw is None:
                return None
            try:
                return kind(raw)
            except ValueError:
                raise InvalidInput(
                    f"{name} (flag --{name.replace('_', '-')} or {ENV_PREFIX}{name.upper()})"
                    f" must be a {kind.__name__}, got {raw!r}"
                ) from None

        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "engine":
                continue
            kind = {
                "data_dir": Path,
                "address": str,
                "store": str,
                "grace_seconds": float,
                "retention_days": float,
                "sweep_seconds": float,
            }.get(f.name, int)
            value = read(f.name, kind)
            if value is not None:
                values[f.name] = value
        min_tokens = read("min_match_tokens", int)
        if min_tokens is not None:
            # Shorter exact quotes (news headlines quoting 8-11 words) at the price of
            # more boilerplate matches; reworded passages keep their own minimum.
            values["engine"] = EngineConfig(
                min_match_tokens=min_tokens,
                min_reworded_tokens=max(DEFAULT_MIN_REWORDED_TOKENS, min_tokens),
            )
        return cls(**values)  # type: ignore[arg-type]
