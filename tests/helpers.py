"""Helpers for the service tests: generated news articles and a running server."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]

from wiretrace.domain import Sweeper, index_spec, text_sha256
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector
from wiretrace.server.config import ServerConfig, min_message_bytes
from wiretrace.server.grpc_app import Guards, create_server, health_reporter, open_service
from wiretrace.store import ArticleRecord, Row
from wiretrace.store.sqlite import SqliteStore
from wiretrace_client import Client, article, pb

from .conftest import VOCABULARY

MAX_TEXT = 20_000
#: The default engine's index shape, as the store tests write with.
SPEC = index_spec(EngineConfig())

T = TypeVar("T")


def rate_of(count: float, seconds: float, error: float = 5e-4) -> tuple[float, float]:
    """The range a rate of ``count / seconds`` may report when seconds are rounded.

    A benchmark reports its seconds rounded (off by at most ``error``) and its rate
    from the unrounded time, so a short run's rate may sit well off the quotient.
    """
    return 0.99 * count / (seconds + error), 1.01 * count / max(seconds - error, 1e-9)


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.sample(VOCABULARY, 14)).capitalize() + "."


def stored_row(article_id: str, text: str, detector: Detector) -> Row:
    """``text`` as a store takes it under ``article_id``, signed by ``detector``."""
    sigs = detector.prepare(text).stored_signatures
    record = ArticleRecord(article_id, "outlet", "", None, "", text)
    return Row(record, text_sha256(text), sigs, SPEC.passages(sigs))


def committed_text(path: Path, article_id: str) -> str | None:
    """The text of ``article_id`` as a new connection sees it: committed data only."""
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT text FROM articles WHERE id = ?", (article_id,)).fetchone()
    finally:
        db.close()
    return None if row is None else str(row[0])


@contextmanager
def group_held(store: SqliteStore, lead: Row) -> Iterator[None]:
    """A group that waits: another connection holds SQLite's write lock, and ``lead``
    is put from a thread of its own, leading a group held behind that lock, so that
    writes made inside the block queue for the next group. Leaving lets the lock go
    and waits for the put."""
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    putter = threading.Thread(target=store.put, args=(lead,))
    putter.start()
    try:
        deadline = time.monotonic() + 10
        while not store._committing and time.monotonic() < deadline:
            time.sleep(0.01)
        yield
    finally:
        other.execute("COMMIT")
        other.close()
        putter.join(30)


def news(n: int, seed: int = 5) -> list[pb.Article]:
    """``n`` articles; every third one repeats a paragraph of the one before it."""
    rng = random.Random(seed)
    out: list[pb.Article] = []
    for k in range(n):
        paragraphs = [" ".join(_sentence(rng) for _ in range(3)) for _ in range(4)]
        if k % 3 == 2:
            paragraphs.insert(2, out[-1].text.split("\n")[1])
        out.append(
            article(
                f"a{k:04d}",
                "\n".join(paragraphs),
                outlet=f"outlet{k % 4}",
                published_at=f"2024-05-{1 + k % 28:02d}T12:00:00+00:00",
            )
        )
    return out


class Running:
    def __init__(
        self,
        data_dir: Path,
        address: str = "127.0.0.1:0",
        *,
        store: str = "",
        sweep_seconds: float = 0.2,
        retention_days: float = 0.0,
        max_text_chars: int = MAX_TEXT,
        client: dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        """``settings`` go to ``ServerConfig``, ``client`` to the ``Client``."""
        config = ServerConfig(
            address=address,
            data_dir=data_dir,
            store=store,
            sweep_seconds=sweep_seconds,
            retention_days=retention_days,
            max_text_chars=max_text_chars,
            max_message_bytes=min_message_bytes(max_text_chars),
            **settings,
        )
        self.config = config
        # The asyncio server runs in a loop of its own, on a thread of its own.
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.service = open_service(config)
        self.guards = Guards.from_config(config, self.service)

        async def build() -> Any:
            self.health = health_aio.HealthServicer()
            built = create_server(config, self.service, self.health, self.guards)
            await built.server.start()
            return built

        self.built = self._on_loop(build())
        self.port = self.built.port
        metrics = self.guards.metrics
        self.metrics_port = metrics.serve(config.metrics_address) if metrics else None
        self.sweeper = Sweeper(self.service, sweep_seconds, health_reporter(self.health, self.loop))
        self.sweeper.start()  # returns after its first sweep, as serve() does
        self.address = f"127.0.0.1:{self.port}"
        self.client = Client(self.address, timeout=30, **(client or {}))

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def stop(self) -> None:
        self.client.close()
        self._on_loop(self.built.server.stop(None))
        self.sweeper.stop()
        self.built.shutdown_pools(wait=True)
        self.service.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
