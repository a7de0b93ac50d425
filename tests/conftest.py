"""Shared fixtures. Data under ../shared is optional: tests that need it skip, saying why."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from wiretrace import Detector
from wiretrace_bench.launchers import RedisCluster, RedisServer, redis_server_binary

if TYPE_CHECKING:
    from .helpers import Running

# Deterministic property tests: the same examples on every run and machine, no
# wall-clock limits (CI machines are noisy).
settings.register_profile(
    "wiretrace",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("wiretrace")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEEDS = SHARED / "seeds"
PAN13 = SHARED / "corpora" / "pan13-train"


def _syllables() -> list[str]:
    rng = random.Random(1234)
    cons, vows = "bdfgklmnprstvz", "aeiou"
    words = {
        "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(2, 4)))
        for _ in range(6000)
    }
    return sorted(words)


#: Pseudo-words that are no function word of any language we list.
VOCABULARY = _syllables()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, shared by the session."""
    if redis_server_binary() is None:
        pytest.fail(
            "redis-server is not installed: run ./scripts/check, which installs it, "
            "or `apt-get install -y redis-server`"
        )
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real Redis Cluster (3 primaries, 3 replicas) on loopback, shared by the
    session; tests that kill or add nodes start their own."""
    if redis_server_binary() is None:
        pytest.fail("redis-server is not installed: run ./scripts/check, which installs it")
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "redis", "cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend in turn, empty: a fresh SQLite file, the session's Redis or Redis
    Cluster flushed."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'articles.db'}"
    if request.param == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        cluster.flushall()
        return cluster.url
    server: RedisServer = request.getfixturevalue("redis_server")
    with server.client() as c:
        c.flushall()
    return server.url


@pytest.fixture
def running(tmp_path: Path, store_url: str) -> Iterator[Running]:
    """A real gRPC server on port 0 over a fresh store of each backend, with a client."""
    from .helpers import Running

    r = Running(tmp_path / "data", store=store_url)
    yield r
    r.stop()


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector()


@pytest.fixture(scope="session")
def seeds() -> dict[str, str]:
    if not SEEDS.is_dir():
        pytest.skip(f"seed articles not found at {SEEDS} (they live in ../shared/seeds)")
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="session")
def pan13() -> Path:
    if not (PAN13 / "pairs").is_file():
        pytest.skip(f"PAN-13 corpus not found at {PAN13} (it lives in ../shared/corpora)")
    return PAN13
