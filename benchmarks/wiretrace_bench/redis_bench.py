"""The Redis backend against datasketch's own Redis storage, in one run, on one
``redis-server``; and ingest through one replica against two on that Redis.

- Our backend, its shards sized to the passages (``shard_bits_for``): articles stored
  and indexed with ``RedisStore.insert_many`` (one Lua call per 100 articles), then
  looked up with ``query_bands`` article by article (one call per article, the
  service's pattern) and passage by passage (one call each).
- datasketch: ``MinHashLSH(storage_config={"type": "redis"})`` with the same bands and
  rows, keys inserted one by one, then again in an insertion session; queried one key
  per call.
- Memory: ``used_memory`` from ``INFO memory`` after minus before, per passage or key.
- The Redis ceiling: the same server's rate for bare pipelined ``HSETNX``es of band
  records (no transaction, no article, no client work beyond sending), and for plain
  ``SET``s, the cheapest write there is. Every passage is ``bands`` records, so this
  bounds any design that writes each record on its own.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import redis

from wiretrace.domain import index_spec
from wiretrace.engine.config import EngineConfig
from wiretrace.store import IndexSpec, Row
from wiretrace.store.redis import RedisStore, shard_bits_for
from wiretrace.store.resp import FixedCommand, read_replies
from wiretrace_bench.launchers import RedisServer, start_server_process
from wiretrace_bench.service_bench import bench_ingest, prepared_batches
from wiretrace_bench.synthetic import SyntheticArticle, generate

__all__ = ["bench_redis"]


def _rows(articles: list[SyntheticArticle]) -> list[Row]:
    return [row for rows in prepared_batches(articles, batch=500) for row in rows]


def _used(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _ours(url: str, client: redis.Redis, rows: list[Row], spec: IndexSpec) -> dict[str, object]:
    expected = sum(len(r.passages.units) for r in rows)
    bits = shard_bits_for(expected, spec.bands)
    store = RedisStore(f"{url}?shard_bits={bits}", spec)
    before = _used(client)
    t0 = time.perf_counter()
    for k in range(0, len(rows), 100):
        store.insert_many(rows[k : k + 100])
    insert_s = time.perf_counter() - t0
    passages = store.passages()
    after = _used(client)
    # Queries: the passages of 2,000 articles, one call per article, then one per passage.
    sample = [r.passages.band_keys for r in rows[:2000]]
    queried = sum(len(s) for s in sample)
    t0 = time.perf_counter()
    hits = sum(len(found) for s in sample for found in store.query_bands(s))
    per_article_s = time.perf_counter() - t0
    singles = [row[None, :] for s in sample for row in s][:5000]
    t0 = time.perf_counter()
    for one in singles:
        store.query_bands(one)
    per_passage_s = time.perf_counter() - t0
    store.close()
    return {
        "articles": len(rows),
        "passages": passages,
        "insert_seconds": round(insert_s, 4),
        "inserts_per_s": round(passages / insert_s, 1),
        "queries_per_s_batched_by_article": round(queried / per_article_s, 1),
        "queries_per_s_one_per_call": round(len(singles) / per_passage_s, 1),
        "query_hits": hits,
        "bytes_per_passage": round((after - before) / passages, 1),
        "shard_bits": bits,
    }


def _ceiling(client: redis.Redis, spec: IndexSpec, records: int = 400_000) -> dict[str, object]:
    """Bare pipelined writes on this server: band-record ``HSETNX``es into ``2**20``
    shards, and ``SET``s; records/s, and the passages/s they would allow."""
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**64 - 1, size=records, dtype=np.uint64)
    hsetnx = FixedCommand(
        b"*4\r\n$6\r\nHSETNX\r\n$9\r\nwt:c:", ("shard", ">u4"), b"\r\n$8\r\n",
        ("band", ">u8"), b"\r\n$8\r\n", ("passage", ">u8"), b"\r\n",
    )  # fmt: skip
    setc = FixedCommand(
        b"*3\r\n$3\r\nSET\r\n$8\r\n", ("key", ">u8"), b"\r\n$8\r\n", ("value", ">u8"), b"\r\n"
    )
    out: dict[str, object] = {}
    for name, command, packed in (
        ("hsetnx", hsetnx, hsetnx.pack(shard=keys >> np.uint64(44), band=keys, passage=keys)),
        ("set", setc, setc.pack(key=keys, value=keys)),
    ):
        client.flushdb()
        conn = client.connection_pool.get_connection()
        chunk = 20_000  # commands in flight
        t0 = time.perf_counter()
        for k in range(0, records, chunk):
            sent = packed[k * command.width : (k + chunk) * command.width]
            conn.send_packed_command([sent])  # type: ignore[no-untyped-call]
            read_replies(conn, len(sent) // command.width)
        seconds = time.perf_counter() - t0
        client.connection_pool.release(conn)
        out[f"{name}_per_s"] = round(records / seconds)
        out[f"{name}_passages_per_s"] = round(records / seconds / spec.bands)
    client.flushdb()
    return out


def _datasketch(port: int, rows: list[Row], spec: IndexSpec, keys: int) -> dict[str, object]:
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    sigs = [row for r in rows for row in r.signatures[r.passages.units]][:keys]
    scheme = MinHash(num_perm=spec.num_perm).scheme
    hashes = [
        LeanMinHash(MinHash(num_perm=spec.num_perm, hashvalues=s.astype(np.uint64), scheme=scheme))
        for s in sigs
    ]
    client = redis.Redis(host="127.0.0.1", port=port, db=1)
    config = {"type": "redis", "redis": {"host": "127.0.0.1", "port": port, "db": 1}}

    def fresh(name: str) -> MinHashLSH:
        client.flushdb()
        return MinHashLSH(
            num_perm=spec.num_perm,
            params=(spec.bands, spec.rows),
            storage_config={**config, "basename": name.encode()},
        )

    lsh = fresh("one")
    before = _used(client)
    t0 = time.perf_counter()
    for k, m in enumerate(hashes):
        lsh.insert(k, m)
    insert_s = time.perf_counter() - t0
    after = _used(client)
    t0 = time.perf_counter()
    for m in hashes[:2000]:
        lsh.query(m)
    query_s = time.perf_counter() - t0
    lsh = fresh("session")
    t0 = time.perf_counter()
    with lsh.insertion_session() as session:
        for k, m in enumerate(hashes):
            session.insert(k, m)
    session_s = time.perf_counter() - t0
    client.flushdb()
    client.close()
    return {
        "keys": len(hashes),
        "inserts_per_s": round(len(hashes) / insert_s, 1),
        "inserts_per_s_session": round(len(hashes) / session_s, 1),
        "queries_per_s": round(min(2000, len(hashes)) / query_s, 1),
        "bytes_per_key": round((after - before) / len(hashes), 1),
    }


def _replicas(
    server: RedisServer, articles: list[SyntheticArticle], count: int, tmp: Path
) -> dict[str, object]:
    """Ingest ``articles`` over two streams: both to one replica, then one to each of
    two replicas, on an emptied Redis each time."""
    out: dict[str, object] = {}
    for replicas in (1, 2):
        with server.client() as c:
            c.flushall()
        procs, addresses = [], []
        for k in range(replicas):
            port_file = tmp / f"replica{k}.port"
            procs.append(
                start_server_process(tmp / f"replica{k}", port_file, extra=["--store", server.url])
            )
            addresses.append(f"127.0.0.1:{port_file.read_text()}")
        try:
            report = bench_ingest(addresses, articles[:count], concurrency=2)
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=60)
        out[f"replicas_{replicas}"] = {
            "articles_per_s": report["articles_per_s"],
            "p50_ms": report["p50_ms"],
            "p99_ms": report["p99_ms"],
            "matches": report["matches"],
        }
    one = out["replicas_1"]["articles_per_s"]  # type: ignore[index]
    two = out["replicas_2"]["articles_per_s"]  # type: ignore[index]
    out["speedup"] = round(two / one, 2) if one else None
    return out


def bench_redis(
    passages: int,
    *,
    datasketch_keys: int = 3000,
    replica_articles: int = 1000,
    repeats: int = 1,
    seed: int = 5,
) -> dict[str, object]:
    """Everything on a throwaway ``redis-server`` started here."""
    spec = index_spec(EngineConfig())
    count = max(1, passages // 24)  # generated articles hold ~24 indexable passages
    articles, _ = generate(count, seed=seed)
    rows = _rows(articles)
    with tempfile.TemporaryDirectory(prefix="wiretrace-redis-bench-") as tmp:
        server = RedisServer(Path(tmp) / "redis")
        try:
            client = server.client()
            runs = []
            for _ in range(repeats):
                client.flushall()
                runs.append(_ours(server.url, client, rows, spec))
            ours = {
                key: statistics.median(r[key] for r in runs)  # type: ignore[type-var]
                for key in runs[0]
            }
            client.flushall()
            ceiling = _ceiling(client, spec)
            theirs = _datasketch(server.port, rows, spec, datasketch_keys)
            replicas = (
                _replicas(server, articles, replica_articles, Path(tmp))
                if replica_articles
                else None
            )
            client.close()
        finally:
            server.stop()
    return {
        "wiretrace": ours,
        "redis_ceiling": ceiling,
        "datasketch_redis": theirs,
        "insert_ratio": round(ours["inserts_per_s"] / theirs["inserts_per_s"], 1),  # type: ignore[operator]
        "insert_ratio_vs_session": round(
            ours["inserts_per_s"] / theirs["inserts_per_s_session"],  # type: ignore[operator]
            1,
        ),
        "query_ratio": round(
            ours["queries_per_s_batched_by_article"] / theirs["queries_per_s"],  # type: ignore[operator]
            1,
        ),
        "ingest": replicas,
        "repeats": repeats,
    }
