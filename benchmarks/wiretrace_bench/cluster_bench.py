"""The cluster store on throwaway Redis Clusters of 1 and 3 primaries (no replicas,
no persistence), each primary its own ``redis-server`` on loopback.

- Inserts: ``ClusterStore.insert_many`` of 100 articles at a time (claims, one native
  ``APPEND`` a shard, commits); passages / wall seconds.
- Queries: ``query_bands`` article by article for 2,000 articles (one pipeline a
  primary each, all primaries at once); passages looked up / wall seconds, the
  median of ``QUERY_PASSES`` passes (the machine is shared: one pass can be half
  the next).
- Memory: ``used_memory`` summed over the primaries, after minus before, per passage.
- Redis-side CPU per inserted passage, from each primary during the inserts: the
  ``usec`` of ``INFO commandstats`` for the commands sent (``EVALSHA``, ``INCRBY``:
  time inside them and the scripts, the records' ``APPEND``s included) and the
  process's own ``used_cpu_user + used_cpu_sys`` (parsing and I/O too); the spread of
  that load over the primaries as max / mean; and the insert rate the busiest
  primary's cost allows when every primary has a core of its own
  (``1e6 / max per-primary µs per passage``): this machine has 2 cores for client
  and servers, so the measured rate cannot show the scaling.
- For the queries, the CPU they cost: the client's (``process_time``) and each
  primary's per passage looked up, and the rate those allow when the client and
  every primary have a core of their own (``1e6 / max`` of them): on this shared
  machine the measured rate is mostly how soon four processes get a core back.
- The spread of the commands sent (calls, which do not depend on the machine's
  load the way commandstats' wall-clock ``usec`` does).
- Where that CPU goes: every command of ``INFO commandstats`` over the inserts,
  summed over the primaries, as calls and µs per passage (the commands that scripts
  call appear too, their time inside their script's).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from wiretrace.domain import index_spec
from wiretrace.engine.config import EngineConfig
from wiretrace.store import Row
from wiretrace.store.cluster import ClusterStore
from wiretrace.store.redis_common import shard_bits_for
from wiretrace_bench.launchers import RedisCluster, RedisServer
from wiretrace_bench.redis_bench import _rows
from wiretrace_bench.synthetic import generate

__all__ = ["bench_cluster"]


# The commands a bulk insert sends. Commands that scripts call are counted in
# commandstats as well, inside their script's time: adding them would count twice.
_SENT = ("cmdstat_evalsha", "cmdstat_append", "cmdstat_incrby", "cmdstat_script|load")
QUERY_PASSES = 3


def _usage(node: RedisServer) -> dict[str, Any]:
    """A primary's µs in the commands an insert sends, its process's CPU seconds, its
    memory, and its commandstats (name -> calls, µs)."""
    with node.client() as c:
        stats = c.info("commandstats")
        cpu = c.info("cpu")
        memory = c.info("memory")
    return {
        "usec": float(sum(stats[name]["usec"] for name in _SENT if name in stats)),
        "cpu_s": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
        "sys_s": float(cpu["used_cpu_sys"]),
        "memory": float(memory["used_memory"]),
        "commands": {name: (v["calls"], v["usec"]) for name, v in stats.items()},
    }


def _by_command(
    before: list[dict[str, Any]], after: list[dict[str, Any]], passages: int
) -> dict[str, dict[str, float]]:
    """Calls and µs per passage of each command, over all primaries, busiest first."""
    total: dict[str, list[float]] = {}
    for b, a in zip(before, after, strict=True):
        for name, (calls, usec) in a["commands"].items():
            was = b["commands"].get(name, (0, 0))
            tally = total.setdefault(name.removeprefix("cmdstat_"), [0.0, 0.0])
            tally[0] += calls - was[0]
            tally[1] += usec - was[1]
    ranked = sorted(total.items(), key=lambda item: -item[1][1])
    return {
        name: {"calls": round(calls / passages, 3), "usec": round(usec / passages, 2)}
        for name, (calls, usec) in ranked
        if calls and name not in {"info", "config|resetstat"}
    }


def _reset(node: RedisServer) -> None:
    with node.client() as c:
        c.config_resetstat()


def _spread(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return round(max(values) / mean, 3) if mean else 0.0


def _one(cluster: RedisCluster, rows: list[Row], bits: int) -> dict[str, Any]:
    spec = index_spec(EngineConfig())
    store = ClusterStore(f"{cluster.url}?shard_bits={bits}", spec)
    masters = cluster.masters()
    for node in masters:
        _reset(node)
    before = [_usage(n) for n in masters]
    t0 = time.perf_counter()
    for k in range(0, len(rows), 100):
        store.insert_many(rows[k : k + 100])
    insert_s = time.perf_counter() - t0
    after = [_usage(n) for n in masters]
    passages = store.passages()
    sample = [r.passages.band_keys for r in rows[:2000]]
    queried = sum(len(s) for s in sample)
    rates = []
    looked = [_usage(n) for n in masters]
    client_s = time.process_time()
    for _ in range(QUERY_PASSES):
        t0 = time.perf_counter()
        hits = sum(len(found) for s in sample for found in store.query_bands(s))
        rates.append(queried / (time.perf_counter() - t0))
    client_s = time.process_time() - client_s
    served = [_usage(n) for n in masters]
    store.close()
    lookups = QUERY_PASSES * queried
    query_cpu = [
        1e6 * (a["cpu_s"] - b["cpu_s"]) / lookups for a, b in zip(served, looked, strict=True)
    ]
    client_us = 1e6 * client_s / lookups
    sent = [
        sum(
            a["commands"].get(name, (0, 0))[0] - b["commands"].get(name, (0, 0))[0]
            for name in _SENT
        )
        for a, b in zip(after, before, strict=True)
    ]
    usec = [a["usec"] - b["usec"] for a, b in zip(after, before, strict=True)]
    cpu = [1e6 * (a["cpu_s"] - b["cpu_s"]) for a, b in zip(after, before, strict=True)]
    sys_us = sum(1e6 * (a["sys_s"] - b["sys_s"]) for a, b in zip(after, before, strict=True))
    memory = sum(a["memory"] - b["memory"] for a, b in zip(after, before, strict=True))
    return {
        "masters": len(masters),
        "articles": len(rows),
        "passages": passages,
        "insert_seconds": round(insert_s, 4),
        "inserts_per_s": round(passages / insert_s, 1),
        "queries_per_s": round(statistics.median(rates), 1),
        "queries_per_s_passes": [round(r, 1) for r in rates],
        "query_hits": hits,
        "bytes_per_passage": round(memory / passages, 1),
        "commands_usec_per_passage": round(sum(usec) / passages, 2),
        "process_cpu_usec_per_passage": round(sum(cpu) / passages, 2),
        "process_cpu_kernel_share": round(sys_us / sum(cpu), 3) if sum(cpu) else 0.0,
        "commands_usec_per_passage_by_master": [round(u / passages, 2) for u in usec],
        "process_cpu_usec_per_passage_by_master": [round(u / passages, 2) for u in cpu],
        "load_spread_max_over_mean": _spread(usec),
        "cpu_spread_max_over_mean": _spread(cpu),
        "calls_spread_max_over_mean": _spread([float(n) for n in sent]),
        "query_client_cpu_usec_per_passage": round(client_us, 2),
        "query_redis_cpu_usec_per_passage_by_master": [round(u, 2) for u in query_cpu],
        "implied_queries_per_s": round(1e6 / max(client_us, *query_cpu)),
        "implied_inserts_per_s_commands": round(1e6 * passages / max(usec)),
        "implied_inserts_per_s_process_cpu": round(1e6 * passages / max(cpu)),
        "shard_bits": bits,
        "commandstats_per_passage": _by_command(before, after, passages),
    }


def bench_cluster(
    passages: int, *, masters: tuple[int, ...] = (1, 3), seed: int = 5
) -> dict[str, Any]:
    """The figures above for a cluster of each size in ``masters``."""
    spec = index_spec(EngineConfig())
    articles, _ = generate(max(1, passages // 24), seed=seed)
    rows = _rows(articles)
    bits = max(14, shard_bits_for(sum(len(r.passages.units) for r in rows), spec.bands))
    out: dict[str, Any] = {}
    for count in masters:
        with tempfile.TemporaryDirectory(prefix="wiretrace-cluster-bench-") as tmp:
            cluster = RedisCluster(Path(tmp), masters=count, replicas=0)
            try:
                out[f"masters_{count}"] = _one(cluster, rows, bits)
            finally:
                cluster.stop()
    return out
