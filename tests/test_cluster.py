"""The Redis Cluster backend on real clusters: slots and URLs, replicas finding each
other's articles, racing writers, a replica killed between claim and commit, and
(marked ``cluster``: slow) a primary killed and slots moved while articles stream in."""

from __future__ import annotations

import binascii
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from redis.crc import key_slot

from wiretrace import Detector, EngineConfig
from wiretrace.domain import index_spec, text_sha256
from wiretrace.errors import InvalidInput
from wiretrace.store import ArticleRecord, Row
from wiretrace.store.cluster import ClusterStore
from wiretrace.store.redis_common import BandRecords
from wiretrace.store.slots import SLOTS, crc16, slot_tags
from wiretrace_bench.launchers import RedisCluster, start_server_process
from wiretrace_client import Client, pb

from .helpers import Running, _sentence, news
from .test_redis import _reworded


def test_slot_tags_hash_to_their_slots_as_redis_computes_them() -> None:
    tags = slot_tags()
    assert len(set(tags.tolist())) == SLOTS
    for slot in range(0, SLOTS, 97):
        assert key_slot(b"wt:{" + bytes(tags[slot]) + b"}b:\x00\x01\x02\x03") == slot
    rng = np.random.default_rng(1)
    keys = rng.integers(ord("a"), ord("z"), size=(500, 9), dtype=np.uint8).view("S9").ravel()
    assert crc16(keys).tolist() == [binascii.crc_hqx(k, 0) for k in keys.tolist()]


def test_bad_cluster_urls_are_refused_without_their_password(redis_cluster: RedisCluster) -> None:
    spec = index_spec(EngineConfig())
    host = redis_cluster.url.removeprefix("redis+cluster://").rstrip("/")
    for bad, words in (
        (f"redis+cluster://:s3cret-pw@{host}/?shard_bits=12", "shard_bits"),
        (f"redis+cluster://:s3cret-pw@{host}/?wait_replicas=x", "wait_replicas"),
        ("redis+cluster://:s3cret-pw@localhost/", "HOST:PORT"),
        (f"redis+cluster://:s3cret-pw@{host}/3", "database"),
    ):
        with pytest.raises(InvalidInput, match=words) as info:
            ClusterStore(bad, spec)
        assert "s3cret" not in str(info.value)


def _replica(tmp: Path, name: str, url: str, **env: str) -> tuple[subprocess.Popen[bytes], Client]:
    port_file = tmp / f"{name}.port"
    proc = start_server_process(
        tmp / name, port_file, extra=["--store", url, "--sweep-seconds", "0.2"], env=env
    )
    return proc, Client(f"127.0.0.1:{port_file.read_text()}", timeout=30, retries=0)


def _stop(proc: subprocess.Popen[bytes], client: Client) -> None:
    client.close()
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def replicas(tmp_path: Path, redis_cluster: RedisCluster) -> Iterator[tuple[Client, Client]]:
    """Two ``wiretrace serve`` processes on the session's cluster, flushed first."""
    redis_cluster.flushall()
    started = [_replica(tmp_path, name, redis_cluster.url) for name in ("a", "b")]
    yield started[0][1], started[1][1]
    for proc, client in started:
        _stop(proc, client)


def test_replicas_on_one_cluster_find_each_others_articles_and_race_fairly(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    rng = random.Random(7)
    wire = " ".join(_sentence(rng) for _ in range(5))
    assert a.ingest("wire-1", wire, outlet="wire").created
    result = b.ingest("paper-1", _reworded(wire, rng), outlet="paper")
    assert [m.source_id for m in result.matches] == ["wire-1"]
    assert result.matches[0].kind in (pb.NEAR_VERBATIM, pb.REWORDED)
    # Eight callers over both replicas with one text, eight with eight texts, one id each.
    same = " ".join(_sentence(rng) for _ in range(6))
    texts = [" ".join(_sentence(rng) for _ in range(6)) for _ in range(8)]
    created: list[bool] = []
    refused: list[grpc.StatusCode] = []
    barrier = threading.Barrier(16)

    def race(client: Client, text: str, doc_id: str) -> None:
        barrier.wait()
        try:
            created.append(client.ingest(doc_id, text).created)
        except grpc.RpcError as err:
            refused.append(err.code())

    jobs = [(replicas[k % 2], same, "same") for k in range(8)]
    jobs += [(replicas[k % 2], text, "contested") for k, text in enumerate(texts)]
    threads = [threading.Thread(target=race, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == [False] * 7 + [True] * 2
    assert refused == [grpc.StatusCode.ALREADY_EXISTS] * 7
    assert b.get("contested").text in texts
    assert a.stats().articles == 4


def _pending(cluster: RedisCluster) -> tuple[int, int]:
    """Entries in the pending sets, and index shards, over the cluster's primaries."""
    pending = shards = 0
    for node in cluster.masters():
        with node.client() as c:
            for key in c.scan_iter(b"wt:*", count=10_000):
                if key.endswith(b"}pend"):
                    pending += int(c.zcard(key))
                elif b"}b:" in key:
                    shards += 1
    return pending, shards


@pytest.mark.parametrize("point", ["after-claim", "after-index"])
def test_a_replica_killed_before_its_commit_leaves_nothing_visible_and_repair_finishes_it(
    tmp_path: Path, redis_cluster: RedisCluster, point: str
) -> None:
    redis_cluster.flushall()
    url = redis_cluster.url
    watcher = _replica(tmp_path, "watcher", url + "?repair_after=600")
    doomed = _replica(tmp_path, "doomed", url, WIRETRACE_FAULT=point)
    doc = news(1, seed=31)[0]
    try:
        with pytest.raises(grpc.RpcError) as info:
            doomed[1].ingest(doc)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert doomed[0].wait(timeout=30) == -9  # SIGKILLed at the fault point
        pending, shards = _pending(redis_cluster)
        assert pending == 1
        assert (shards > 0) == (point == "after-index")
        w = watcher[1]
        with pytest.raises(grpc.RpcError) as info:
            w.get(doc.id)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert (w.stats().articles, w.stats().passages) == (0, 0)
        assert not w.query(doc.text).matches  # its index records, if any, are ignored
        # A replica started again repairs at open; the retried ingest succeeds.
        again = _replica(tmp_path, "again", url + "?repair_after=0")
        try:
            assert _pending(redis_cluster)[0] == 0
            assert not again[1].ingest(doc).created  # repair completed it
            assert w.get(doc.id).text == doc.text
            assert w.stats().articles == 1
            assert [m.source_id for m in w.query(doc.text).matches] == [doc.id]
        finally:
            _stop(*again)
    finally:
        _stop(*doomed)
        _stop(*watcher)


def _records(cluster: RedisCluster) -> list[bytes]:
    """Every band record in the index: (band key, passage key) pairs as 16 bytes."""
    out = []
    for node in cluster.masters():
        with node.client() as c:
            for key in c.scan_iter(b"wt:*}b:*", count=10_000):
                value = c.get(key)
                assert len(value) % 16 == 0
                out += [value[i : i + 16] for i in range(0, len(value), 16)]
    return out


def test_index_records_are_stored_once_and_a_record_stored_twice_counts_once(
    redis_cluster: RedisCluster,
) -> None:
    """The first write appends a batch's records blind; a repeat (repair, a retry)
    goes through the script and stores nothing twice; a record appended twice anyway
    (a finish racing the first writer) is counted once, and removal takes every copy."""
    redis_cluster.flushall()
    spec = index_spec(EngineConfig())
    store = ClusterStore(redis_cluster.url, spec)
    rows = []
    for d in news(12, seed=5):
        sigs = Detector().prepare(d.text).signatures
        record = ArticleRecord(d.id, "o", "", None, "en", d.text)
        rows.append(Row(record, text_sha256(d.text), sigs, spec.passages(sigs)))
    keys = store.insert_many(rows)
    probe = np.concatenate([r.passages.band_keys for r in rows])
    parts = [
        BandRecords.of(k, r.passages, spec.bands, store.shard_bits)
        for k, r in zip(keys, rows, strict=True)
    ]

    def expected(stored: list[BandRecords], cap: int = 1 << 30) -> tuple[list[Any], list[int]]:
        """Per probe row, passage key -> bands shared, and the buckets over ``cap``."""
        index: dict[int, set[int]] = {}
        for part in stored:
            for band_key, passage in zip(part.field.tolist(), part.passage.tolist(), strict=True):
                index.setdefault(band_key, set()).add(passage)
        found, capped = [], []
        for row in probe.tolist():
            buckets = [index.get(b, set()) for b in row]
            found.append(dict(Counter(p for b in buckets if len(b) <= cap for p in b)))
            capped.append(sum(len(b) > cap for b in buckets))
        return found, capped

    def looked_up(cap: int | None = None) -> tuple[list[Any], list[int]]:
        got = store.lookup(probe, max_bucket=cap)
        return got.found, got.capped

    total = sum(p.field.size for p in parts)
    assert looked_up() == expected(parts)
    assert len(set(_records(redis_cluster))) == len(_records(redis_cluster)) == total
    store._index("add", BandRecords.join(parts))  # a repair: the script, idempotent
    assert len(_records(redis_cluster)) == total
    store._index("add", parts[0], first=True)  # blind again: the rare race
    assert len(_records(redis_cluster)) == total + parts[0].field.size
    assert looked_up() == expected(parts)
    assert looked_up(1) == expected(parts, 1)  # a bucket of 1 held twice is not over 1
    assert sum(expected(parts, 1)[1]) > 0  # the cap was tried: some buckets hold two
    assert store.delete(rows[0].record.id)
    left = _records(redis_cluster)
    assert len(left) == total - parts[0].field.size
    assert not set(parts[0].passage.tolist()) & {int.from_bytes(r[8:], "little") for r in left}
    assert looked_up() == expected(parts[1:])
    # A cluster holding an index in another layout is refused.
    store._rc.hdel(b"wt:meta", b"layout")
    store.close()
    with pytest.raises(InvalidInput, match="layout"):
        ClusterStore(redis_cluster.url, spec)


def _ingest_all(
    client: Client, docs: list[pb.Article], codes: list[grpc.StatusCode], acked: list[str]
) -> None:
    """Ingest each article, as a pipeline would: again after a retryable failure."""
    for doc in docs:
        while True:
            try:
                client.ingest(doc)
                acked.append(doc.id)
                break
            except grpc.RpcError as err:
                codes.append(err.code())
                if err.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                time.sleep(0.1)


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path / "cluster", node_timeout_ms=1000)
    yield cluster
    cluster.stop()


def _kill_a_master_midway(cluster: RedisCluster, acked: list[str], after: int) -> None:
    while len(acked) < after:
        time.sleep(0.02)
    victim = cluster.masters()[0]
    cluster.fail_over(victim)  # SIGKILL; its replica takes over
    victim.restart()  # and it comes back as the new primary's replica
    cluster.wait_ok()


@pytest.mark.cluster
def test_failover_under_load_loses_nothing_acknowledged_with_the_replica_wait(
    tmp_path: Path, own_cluster: RedisCluster, request: pytest.FixtureRequest
) -> None:
    docs = news(160, seed=41)
    lost: dict[str, int] = {}
    for wait, part in ((1, docs[:80]), (0, docs[80:])):
        running = Running(
            tmp_path / f"data{wait}",
            store=f"{own_cluster.url}?wait_replicas={wait}",
            client={"retries": 0},
        )
        codes: list[grpc.StatusCode] = []
        acked: list[str] = []
        try:
            killer = threading.Thread(target=_kill_a_master_midway, args=(own_cluster, acked, 25))
            killer.start()
            _ingest_all(running.client, part, codes, acked)
            killer.join()
            assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}
            missing = []
            for doc_id in acked:
                try:
                    running.client.get(doc_id)
                except grpc.RpcError as err:
                    missing.append(f"{doc_id} {err.code()} {err.details()}")
            lost[f"wait_replicas={wait}"] = len(missing)
            if wait:
                assert not missing
                assert len(set(acked)) == len(part)
        finally:
            running.stop()
    # The figure the issue asks for: shown in the test report, kept in user_properties.
    request.node.user_properties.append(("acknowledged_articles_lost", lost))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"failover: acknowledged articles lost {lost}")


@pytest.mark.cluster
def test_resharding_under_load_fails_nothing_but_retryably_and_loses_nothing(
    tmp_path: Path, own_cluster: RedisCluster
) -> None:
    docs = news(150, seed=43)
    running = Running(tmp_path / "data", store=own_cluster.url, client={"retries": 0})
    codes: list[grpc.StatusCode] = []
    acked: list[str] = []
    try:
        feeder = threading.Thread(target=_ingest_all, args=(running.client, docs, codes, acked))
        feeder.start()
        while len(acked) < 20:
            time.sleep(0.02)
        fourth = own_cluster.add_master()
        own_cluster.rebalance()
        feeder.join()
        assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}
        assert len(acked) == len(docs)
        with fourth.client() as c:
            assert c.dbsize() > 0  # slots, and their keys, did move
        stats = running.client.stats()
        assert stats.articles == len(docs)
        for doc in docs:
            assert running.client.get(doc.id).text == doc.text
        records = _records(own_cluster)
        assert (
            len(records) == len(set(records)) == stats.passages * index_spec(EngineConfig()).bands
        )
        assert [m.source_id for m in running.client.query(docs[-1].text).matches][:1] == [
            docs[-1].id
        ]
    finally:
        running.stop()
