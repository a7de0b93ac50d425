"""Helpers for the service tests: generated news articles and a running server."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from grpc_health.v1 import health

from wiretrace.domain import Sweeper
from wiretrace.server.config import ServerConfig, min_message_bytes
from wiretrace.server.grpc_app import Guards, create_server, health_reporter, open_service
from wiretrace_client import Client, article, pb

from .conftest import VOCABULARY

MAX_TEXT = 20_000


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.sample(VOCABULARY, 14)).capitalize() + "."


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
        self.service = open_service(config)
        self.health = health.HealthServicer()
        self.guards = Guards.from_config(config, self.service)
        self.server, self.port = create_server(config, self.service, self.health, self.guards)
        metrics = self.guards.metrics
        self.metrics_port = metrics.serve(config.metrics_address) if metrics else None
        self.sweeper = Sweeper(self.service, sweep_seconds, health_reporter(self.health))
        self.sweeper.start()
        self.server.start()
        self.address = f"127.0.0.1:{self.port}"
        self.client = Client(self.address, timeout=30, **(client or {}))

    def stop(self) -> None:
        self.client.close()
        self.server.stop(None).wait()
        self.sweeper.stop()
        self.service.close()
