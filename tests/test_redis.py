"""The shared Redis backend: replicas on one real redis-server, races on one id,
Redis going away and coming back, AOF durability, and parity with the embedded store
and the cluster store."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given
from hypothesis import strategies as st

from wiretrace import Detector, EngineConfig
from wiretrace.domain import index_spec, text_sha256
from wiretrace.errors import InvalidInput, Unavailable
from wiretrace.store import ArticleRecord, Row
from wiretrace.store.redis import RedisStore, shard_bits_for
from wiretrace.store.redis_common import tally
from wiretrace_bench.launchers import RedisCluster, RedisServer, start_server_process
from wiretrace_client import Client, article, pb

from .helpers import Running, _sentence, news


def _replica(tmp: Path, name: str, url: str) -> tuple[subprocess.Popen[bytes], Client]:
    port_file = tmp / f"{name}.port"
    proc = start_server_process(
        tmp / name, port_file, extra=["--store", url, "--sweep-seconds", "0.2"]
    )
    return proc, Client(f"127.0.0.1:{port_file.read_text()}", timeout=30)


@pytest.fixture
def replicas(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[Client, Client]]:
    """Two ``wiretrace serve`` processes on the session's Redis, flushed first."""
    with redis_server.client() as c:
        c.flushall()
    started = [_replica(tmp_path, name, redis_server.url) for name in ("a", "b")]
    yield started[0][1], started[1][1]
    for proc, client in started:
        client.close()
        proc.terminate()
        proc.wait(timeout=30)


def _reworded(text: str, rng: random.Random) -> str:
    """Every sentence with two of its words replaced and one dropped."""
    out = []
    for sentence in text.split(". "):
        words = sentence.split(" ")
        for _ in range(2):
            words[rng.randrange(1, len(words))] = rng.choice(["vast", "quiet", "rapid", "bold"])
        del words[rng.randrange(1, len(words))]
        out.append(" ".join(words))
    return ". ".join(out)


def test_an_article_ingested_on_one_replica_is_the_source_on_the_other(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    rng = random.Random(7)
    wire = " ".join(_sentence(rng) for _ in range(5))
    filler = " ".join(_sentence(rng) for _ in range(4))
    assert a.ingest("wire-1", f"{wire}\n{filler}", outlet="wire").created
    copy = f"{' '.join(_sentence(rng) for _ in range(3))}\n{_reworded(wire, rng)}"
    result = b.ingest("paper-1", copy, outlet="paper")
    found = [m for m in result.matches if m.source_id == "wire-1"]
    assert found, result
    m = found[0]
    assert m.kind in (pb.NEAR_VERBATIM, pb.REWORDED)
    assert m.span.end - m.span.start > len(wire) // 2
    assert m.source_outlet == "wire"
    assert b.get("wire-1").text == f"{wire}\n{filler}"
    assert a.stats().articles == b.stats().articles == 2


def test_two_replicas_ingesting_at_once_lose_nothing_and_duplicate_nothing(
    replicas: tuple[Client, Client], redis_server: RedisServer
) -> None:
    docs = news(120, seed=21)
    halves = (docs[0::2], docs[1::2])
    results: dict[str, list[pb.IngestResult]] = {}

    def run(client: Client, part: list[pb.Article], name: str) -> None:
        results[name] = list(client.ingest_stream(part))

    threads = [
        threading.Thread(target=run, args=(client, part, name))
        for client, part, name in zip(replicas, halves, "ab", strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.created for rs in results.values() for r in rs)
    a, b = replicas
    stats = a.stats()
    assert stats.articles == 120
    for d in docs:
        assert b.get(d.id).text == d.text
    with redis_server.client() as c:
        assert len(list(c.scan_iter(b"wt:a:*", count=1000))) == 120
    # The index holds each article's passages exactly once: ingesting everything
    # again changes nothing.
    again = list(b.ingest_stream(docs))
    assert not any(r.created for r in again)
    assert a.stats().passages == stats.passages


def test_racing_ingests_of_one_id_have_one_winner(replicas: tuple[Client, Client]) -> None:
    rng = random.Random(3)
    same = " ".join(_sentence(rng) for _ in range(6))
    texts = [" ".join(_sentence(rng) for _ in range(6)) for _ in range(8)]
    created: list[bool] = []
    conflicts: list[tuple[grpc.StatusCode, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def race(client: Client, text: str, doc_id: str) -> None:
        barrier.wait()
        try:
            result = client.ingest(doc_id, text)
        except grpc.RpcError as err:
            with lock:
                conflicts.append((err.code(), text))
            return
        with lock:
            created.append(result.created)

    jobs: list[tuple[Callable[..., None], tuple[object, ...]]] = []
    for k in range(8):  # the same text from 8 callers over both replicas
        jobs.append((race, (replicas[k % 2], same, "same")))
    for k, text in enumerate(texts):  # 8 different texts under one id
        jobs.append((race, (replicas[k % 2], text, "contested")))
    threads = [threading.Thread(target=fn, args=args) for fn, args in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # "same": one created it, the seven others found it stored (idempotent).
    # "contested": one created it, the seven others got ALREADY_EXISTS.
    assert sorted(created) == [False] * 7 + [True] * 2
    assert [code for code, _ in conflicts] == [grpc.StatusCode.ALREADY_EXISTS] * 7
    stored = replicas[0].get("contested").text
    assert stored in texts
    assert stored not in [text for _, text in conflicts]
    assert replicas[1].stats().articles == 2


def _health(client: Client) -> int:
    stub = health_pb2_grpc.HealthStub(client.channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service="wiretrace.v1.Wiretrace"), timeout=5)
    return int(reply.status)


def _until(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, to stop and restart."""
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own that fsyncs every write to its AOF."""
    server = RedisServer(tmp_path / "redis-aof", aof=True)
    yield server
    server.stop()


def test_redis_down_fails_fast_reports_not_serving_and_recovers(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    running = Running(tmp_path / "data", store=own_redis.url, sweep_seconds=0.1)
    docs = news(4, seed=2)
    try:
        c = running.client
        c.ingest(docs[0])
        own_redis.stop()
        t0 = time.monotonic()
        with pytest.raises(grpc.RpcError) as info:
            c.ingest(docs[1])
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "Redis" in (info.value.details() or "")
        assert time.monotonic() - t0 < 10  # a refused connection, not a hang
        with pytest.raises(grpc.RpcError) as info:
            c.get(docs[0].id)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert _until(lambda: _health(c) == health_pb2.HealthCheckResponse.NOT_SERVING)
        own_redis.restart()  # no persistence configured: it comes back empty
        assert _until(lambda: _health(c) == health_pb2.HealthCheckResponse.SERVING)
        assert c.ingest(docs[1]).created
        assert c.stats().articles == 1
    finally:
        running.stop()


def test_with_aof_nothing_acknowledged_is_lost_across_a_redis_kill(
    tmp_path: Path, aof_redis: RedisServer
) -> None:
    running = Running(tmp_path / "data", store=aof_redis.url)
    docs = news(30, seed=4)
    try:
        acked = [r.id for r in running.client.ingest_stream(docs) if r.created]
        assert len(acked) == 30
        before = running.client.stats()
        aof_redis.kill()  # SIGKILL: only what was fsynced survives
        aof_redis.restart()
        c = running.client
        assert _until(lambda: _health(c) == health_pb2.HealthCheckResponse.SERVING)
        after = c.stats()
        assert (after.articles, after.passages) == (before.articles, before.passages)
        for d in docs:
            assert c.get(d.id).text == d.text
        # The index came back too: a copy of the last article finds it.
        result = c.query(docs[-1].text)
        assert any(m.source_id == docs[-1].id for m in result.matches)
    finally:
        running.stop()


def _summary(result: pb.IngestResult | pb.QueryResult) -> list[tuple[object, ...]]:
    return [
        (m.source_id, m.span.start, m.span.end, m.source_span.start, m.source_span.end,
         round(m.similarity, 6), m.kind)
        for m in result.matches
    ]  # fmt: skip


def test_every_backend_gives_identical_results(
    tmp_path: Path, redis_server: RedisServer, redis_cluster: RedisCluster
) -> None:
    with redis_server.client() as c:
        c.flushall()
    redis_cluster.flushall()
    docs = news(45, seed=8)
    rng = random.Random(9)
    docs.append(article("reworded", _reworded(docs[10].text, rng), outlet="x"))
    outputs = []
    for store in (f"sqlite:///{tmp_path / 'one.db'}", redis_server.url, redis_cluster.url):
        running = Running(tmp_path / "data", store=store)
        try:
            outputs.append([_summary(r) for r in running.client.ingest_stream(docs)])
            outputs[-1].append(_summary(running.client.query(docs[20].text)))
            stats = running.client.stats()
            outputs[-1].append([(stats.articles, stats.passages)])
        finally:
            running.stop()
    assert outputs[0] == outputs[1] == outputs[2]
    assert sum(len(x) for x in outputs[0]) >= 20  # the comparison compared something


def _records(c: redis.Redis) -> int:
    """Band records in the index: 8 bytes of passage key each, under their band key."""
    return sum(len(v) // 8 for k in c.scan_iter(b"wt:b:*", count=10_000) for v in c.hvals(k))


def test_the_index_stays_compact_and_writes_are_whole(redis_server: RedisServer) -> None:
    """The shards stay compact listpacks; an article and its band records come and go
    together, and a write that Redis refuses leaves nothing."""
    with redis_server.client() as c:
        c.flushall()
    spec = index_spec(EngineConfig())
    store = RedisStore(f"{redis_server.url}?shard_bits=10", spec)
    docs = news(30, seed=4)
    rows = []
    for d in docs:
        sigs = Detector().prepare(d.text).signatures
        record = ArticleRecord(d.id, "o", "", None, "en", d.text)
        rows.append(Row(record, text_sha256(d.text), sigs, spec.passages(sigs)))
    store.insert_many(rows[:20])
    with redis_server.client() as c:
        shards = list(c.scan_iter(b"wt:b:*", count=10_000))
        assert 0 < len(shards) <= 2**10
        assert {c.object("encoding", k) for k in shards} == {b"listpack"}
        records = _records(c)
    assert records == store.passages() * spec.bands
    assert store.count() == 20
    # Redis refuses writes past maxmemory: the put fails as Unavailable, and nothing
    # of the article (text, id, records, counters) is left behind.
    with redis_server.client() as c:
        c.config_set("maxmemory", str(int(c.info("memory")["used_memory"]) // 2))
        try:
            with pytest.raises(Unavailable, match="maxmemory"):
                store.put(rows[20])
        finally:
            c.config_set("maxmemory", "0")
        assert _records(c) == records
    assert store.meta_by_id(docs[20].id) is None
    assert store.count() == 20
    # Deleting removes exactly that article's records.
    assert store.delete(docs[0].id)
    with redis_server.client() as c:
        assert _records(c) == store.passages() * spec.bands < records
    store.close()


def test_the_store_refuses_other_settings_and_bad_urls(redis_server: RedisServer) -> None:
    with redis_server.client() as c:
        c.flushall()
    spec = index_spec(EngineConfig())
    RedisStore(f"{redis_server.url}?shard_bits=12", spec).close()
    with pytest.raises(InvalidInput, match="shard_bits=12, but this server uses 18"):
        RedisStore(redis_server.url, spec)
    other = index_spec(EngineConfig(num_perm=128))
    with pytest.raises(InvalidInput, match="num_perm=64, but this server uses 128"):
        RedisStore(f"{redis_server.url}?shard_bits=12", other)
    for bad in ("x", "40"):
        with pytest.raises(InvalidInput, match="shard_bits"):
            RedisStore(f"{redis_server.url}?shard_bits={bad}", spec)
    assert shard_bits_for(1_000_000, 21) == 20  # ~32 fields a shard
    assert shard_bits_for(10, 21) == 8


def test_a_unix_socket_url_and_a_password_that_never_shows(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", password="hunter2-secret")
    try:
        spec = index_spec(EngineConfig())
        over_socket = f"unix://:hunter2-secret@{server.socket}?db=0&shard_bits=10"
        store = RedisStore(over_socket, spec)
        store.ping()
        store.close()
        with pytest.raises(InvalidInput) as info:
            RedisStore(f"{server.url}?shard_bits=x", spec)
        assert "hunter2" not in str(info.value)
        assert "***" in str(info.value)
        with pytest.raises(InvalidInput) as info:
            RedisStore(f"{server.url}?shard_bits=12", spec)  # the store was made with 10
        assert "shard_bits=10" in str(info.value)
        assert "hunter2" not in str(info.value)
        # The server's own start-up line names the store without its password.
        log = tmp_path / "serve.log"
        proc = start_server_process(
            tmp_path / "data",
            tmp_path / "port",
            log_file=log,
            extra=["--store", over_socket],
        )
        try:
            with Client(f"127.0.0.1:{(tmp_path / 'port').read_text()}") as client:
                assert client.ingest(news(1)[0]).created
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        text = log.read_text()
        assert "serving" in text
        assert "hunter2" not in text
    finally:
        server.stop()


def _tally_reference(
    replies: list[bytes | None], rows: int, bands: int, max_bucket: int | None
) -> tuple[list[dict[int, int]], list[int]]:
    """``tally`` bucket by bucket, as it was written before it was vectorised."""
    found: list[dict[int, int]] = [{} for _ in range(rows)]
    capped = [0] * rows
    for index, value in enumerate(replies):
        if value is None:
            continue
        if max_bucket is not None and len(value) > 8 * max_bucket:
            capped[index // bands] += 1
            continue
        for passage in np.frombuffer(value, "<i8").tolist():
            row = found[index // bands]
            row[passage] = row.get(passage, 0) + 1
    return found, capped


@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 5)),
    pool=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6),
    data=st.data(),
    max_bucket=st.one_of(st.none(), st.integers(0, 4)),
)
def test_tally_counts_as_the_bucket_by_bucket_reference(
    shape: tuple[int, int], pool: list[int], data: st.DataObject, max_bucket: int | None
) -> None:
    rows, bands = shape
    bucket = st.lists(st.sampled_from(pool), min_size=1, max_size=6).map(
        lambda keys: np.asarray(keys, dtype="<i8").tobytes()
    )
    replies = data.draw(st.lists(st.none() | bucket, min_size=rows * bands, max_size=rows * bands))
    got = tally(replies, rows, bands, max_bucket)
    assert (got.found, got.capped) == _tally_reference(replies, rows, bands, max_bucket)
