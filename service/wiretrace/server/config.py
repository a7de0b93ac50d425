"""The server's typed configuration: one table of settings (``SETTINGS``), filled from
flags and ``WIRETRACE_*`` environment variables, validated at start.

``SETTINGS`` is derived from the ``setting`` declarations of ``ServerConfig`` and of
the engine's ``EngineConfig``: the serve command's flags, the environment parsing and
the README's tables all come from it (a test checks the README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from wiretrace.domain import ServiceSettings
from wiretrace.domain.service import (
    DEFAULT_CACHE_ARTICLES,
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_MAX_RESULTS,
    DEFAULT_MAX_TEXT_CHARS,
)
from wiretrace.engine.config import EngineConfig
from wiretrace.errors import InvalidInput
from wiretrace.settings import Setting, setting, settings_of
from wiretrace.store import STORE_SCHEMES, redact

__all__ = ["ENGINE_SETTINGS", "SERVER_SETTINGS", "ServerConfig", "min_message_bytes"]

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_DATA_DIR = Path("wiretrace-data")
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
DEFAULT_WORKERS = 8
DEFAULT_MAX_IN_FLIGHT = 64
#: Articles in one ingest round, at most. Rounds of 3-4 articles kept the quality of
#: 16 concurrent callers (plagdet 0.950-0.960, as with one article a turn), at 1,750-1,875
#: articles/s; uncapped rounds (8-16) were no faster and lost ~0.015 of it (benchmarks/
#: RESULTS.md, "Issue 13: seventh session").
DEFAULT_INGEST_ROUND = 4
DEFAULT_GRACE_SECONDS = 10.0
DEFAULT_SWEEP_SECONDS = 5.0
DEFAULT_LOG_LEVEL = "INFO"
DEFAULT_STREAM_IDLE_SECONDS = 120.0
DEFAULT_STREAM_MAX_SECONDS = 86400.0
DEFAULT_STREAM_WINDOW = 1
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def min_message_bytes(max_text_chars: int) -> int:
    """The message cap that fits a Compare of two texts of ``max_text_chars`` code
    points at 4 UTF-8 bytes each, and the envelope."""
    return 8 * max_text_chars + 64 * 1024


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``wiretrace serve`` is told; ``engine`` holds the detection settings."""

    address: str = setting(DEFAULT_ADDRESS, "where to listen, HOST:PORT; port 0 picks one")
    data_dir: Path = setting(
        DEFAULT_DATA_DIR, "folder of the embedded SQLite store", shown="./wiretrace-data"
    )
    store: str = setting(
        "",
        "`redis://HOST:PORT/DB[?shard_bits=N]` or `redis+cluster://HOST:PORT[,...]/`: "
        "a shared Redis or Redis Cluster store instead",
        shown="(SQLite in the data dir)",
    )
    retention_days: float = setting(
        0.0, "drop articles published longer ago (articles without a date stay)", shown="0 (keep)"
    )
    sweep_seconds: float = setting(
        DEFAULT_SWEEP_SECONDS, "how often retention and store health are checked"
    )
    max_text_chars: int = setting(DEFAULT_MAX_TEXT_CHARS, "longest article text, in code points")
    max_message_bytes: int = setting(
        DEFAULT_MAX_MESSAGE_BYTES, "largest gRPC message", shown="4194304 (4 MiB)"
    )
    workers: int = setting(
        DEFAULT_WORKERS, "threads that run the detection work (a waiting call holds none)"
    )
    ingest_workers: int = setting(
        0,
        "threads that detect ingested articles, each taking its share of those waiting "
        "as one round, and going on to the next while the round waits for its commit",
        shown="0 (one a CPU core)",
    )
    ingest_round: int = setting(
        DEFAULT_INGEST_ROUND,
        "articles an ingest thread detects together, at most: more costs less CPU an "
        "article, but articles detected together do not find each other",
    )
    grace_seconds: float = setting(DEFAULT_GRACE_SECONDS, "drain time on SIGTERM")
    max_results: int = setting(
        DEFAULT_MAX_RESULTS, "matches per answer when a request does not say"
    )
    max_candidates: int = setting(DEFAULT_MAX_CANDIDATES, "source articles aligned per article")
    cache_articles: int = setting(DEFAULT_CACHE_ARTICLES, "prepared sources kept in memory")
    port_file: str = setting("", "write the bound port there once serving", shown="(none)")
    log_level: str = setting(
        DEFAULT_LOG_LEVEL, "DEBUG, INFO, WARNING or ERROR; JSON lines on stderr"
    )
    tls_cert: str = setting("", "PEM certificate chain: serve TLS only", shown="(plaintext)")
    tls_key: str = setting("", "PEM private key of --tls-cert", shown="(none)")
    tls_client_ca: str = setting(
        "", "PEM CA certificates: require client certificates they sign (mutual TLS)",
        shown="(none)",
    )  # fmt: skip
    auth_tokens: str = setting(
        "",
        "file of bearer tokens, `NAME TOKEN read,ingest,admin` a line; re-read on SIGHUP",
        shown="(no auth)",
    )
    no_reflection: bool = setting(False, "turn server reflection off")
    max_in_flight: int = setting(
        DEFAULT_MAX_IN_FLIGHT,
        "calls at once (open streams count); past it RESOURCE_EXHAUSTED with a retry hint",
    )
    stream_idle_seconds: float = setting(
        DEFAULT_STREAM_IDLE_SECONDS, "a stream waiting this long for its next article is cancelled"
    )
    stream_max_seconds: float = setting(
        DEFAULT_STREAM_MAX_SECONDS, "a stream open this long is cancelled (the client reopens it)"
    )
    stream_window: int = setting(
        DEFAULT_STREAM_WINDOW,
        "articles of one IngestStream worked on at once (answers stay in order); above 1 "
        "they can share a commit, and an article may miss the few sent just before it",
    )
    metrics_address: str = setting(
        "", "HOST:PORT to serve Prometheus metrics on (/metrics)", shown="(off)"
    )
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        host, sep, port = self.address.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise InvalidInput(
                f"address must be HOST:PORT with PORT in [0, 65535], got {self.address!r}"
            )
        for name in ("max_message_bytes", "workers", "stream_window", "ingest_round"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.ingest_workers < 0:
            raise InvalidInput(f"ingest_workers must be >= 0, got {self.ingest_workers}")
        if self.sweep_seconds <= 0:
            raise InvalidInput(f"sweep_seconds must be > 0, got {self.sweep_seconds}")
        if self.store and not self.store.startswith(STORE_SCHEMES):
            raise InvalidInput(
                "store must be redis://HOST:PORT/DB, unix:///PATH.sock, "
                "redis+cluster://HOST:PORT[,HOST:PORT...]/ or sqlite:///PATH, "
                f"got {redact(self.store)}"
            )
        if self.grace_seconds < 0:
            raise InvalidInput(f"grace_seconds must be >= 0, got {self.grace_seconds}")
        if self.log_level.upper() not in _LOG_LEVELS:
            raise InvalidInput(f"log_level must be one of {', '.join(_LOG_LEVELS)}")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise InvalidInput("tls_cert and tls_key go together: give both, or neither")
        if self.tls_client_ca and not self.tls_cert:
            raise InvalidInput("tls_client_ca (mutual TLS) needs tls_cert and tls_key")
        for name in ("tls_cert", "tls_key", "tls_client_ca", "auth_tokens"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise InvalidInput(f"{name}: no such file {path!r}")
        if self.max_in_flight < 1:
            raise InvalidInput(f"max_in_flight must be >= 1, got {self.max_in_flight}")
        if self.stream_idle_seconds <= 0 or self.stream_max_seconds <= 0:
            raise InvalidInput("stream_idle_seconds and stream_max_seconds must be > 0")
        if self.metrics_address:
            host, sep, port = self.metrics_address.rpartition(":")
            if not sep or not host or not port.isdigit() or int(port) > 65535:
                raise InvalidInput(
                    f"metrics_address must be HOST:PORT, got {self.metrics_address!r}"
                )
        if self.retention_days < 0:
            raise InvalidInput(f"retention_days must be >= 0, got {self.retention_days}")
        self.service_settings()  # the domain checks its own values
        if self.max_message_bytes < min_message_bytes(self.max_text_chars):
            raise InvalidInput(
                f"max_message_bytes ({self.max_message_bytes}) is too small for "
                f"max_text_chars ({self.max_text_chars}): raise it to at least "
                f"{min_message_bytes(self.max_text_chars)}"
            )

    @property
    def ingest_threads(self) -> int:
        """``ingest_workers``, with 0 as the CPU cores this process may run on."""
        if self.ingest_workers:
            return self.ingest_workers
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite:///{self.data_dir / 'articles.db'}"

    def service_settings(self) -> ServiceSettings:
        """What the domain service is told."""
        return ServiceSettings(
            max_text_chars=self.max_text_chars,
            max_results=self.max_results,
            max_candidates=self.max_candidates,
            cache_articles=self.cache_articles,
            retention_seconds=self.retention_days * 86400.0,
            engine=self.engine,
        )

    @classmethod
    def from_sources(
        cls, flags: dict[str, object], env: dict[str, str] | None = None
    ) -> ServerConfig:
        """Flags (by setting name; None means not given) win over ``WIRETRACE_*``
        environment variables, which win over the defaults."""
        env = dict(os.environ) if env is None else env

        def values(table: tuple[Setting, ...]) -> dict[str, object]:
            out: dict[str, object] = {}
            for s in table:
                raw = flags.get(s.name)
                if raw is None:
                    raw = env.get(s.env)
                if raw is not None:
                    out[s.name] = s.parse(raw)
            return out

        engine = EngineConfig(**values(ENGINE_SETTINGS))  # type: ignore[arg-type]
        return cls(**values(SERVER_SETTINGS), engine=engine)  # type: ignore[arg-type]


#: The server's settings, then the engine's: one table for flags, environment and docs.
SERVER_SETTINGS = settings_of(ServerConfig)
ENGINE_SETTINGS = settings_of(EngineConfig)


if __name__ == "__main__":  # the README's two tables: python -m wiretrace.server.config
    from wiretrace.settings import markdown_table

    print(markdown_table(SERVER_SETTINGS), markdown_table(ENGINE_SETTINGS), sep="\n\n")
