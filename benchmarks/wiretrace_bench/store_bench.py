"""The embedded store's index off the request path: lookups while merges run, and the
index rebuilt when a store opens.

``wiretrace bench merge``: an index of N passages with random signatures; a reader
thread looks up passages one row at a time while the main thread inserts deltas (a
sixteenth of N each, or ``--delta``: the SQLite store merges every 50,000) and merges
them (``PassageIndex.compact``, as the store's merging thread does). Reports the
lookup latency p50/p99/max during merges, and the merges' wall and CPU times.

``wiretrace bench reopen``: open an existing SQLite store (the index rebuilt from its
signatures) and report wall and CPU time.

Both use only the public Python API, so the same file runs under an older checkout's
interpreter for a before/after comparison in one session:
``OLD/.venv/bin/python benchmarks/wiretrace_bench/store_bench.py merge ...``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

__all__ = ["bench_merge", "bench_reopen"]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_merge(
    passages: int, *, merges: int = 4, delta: int | None = None, seed: int = 1
) -> dict[str, object]:
    """Lookup latency from a reader thread while the index merges deltas of ``delta``
    passages each (None: a sixteenth of ``passages``), and what the merges cost: wall
    seconds, and CPU seconds on every thread but the reader's."""
    from wiretrace.domain.candidates import index_spec
    from wiretrace.engine.config import EngineConfig
    from wiretrace.engine.index import band_keys
    from wiretrace.store.band_index import PassageIndex

    spec = index_spec(EngineConfig())
    rng = np.random.default_rng(seed)

    def rows(n: int) -> tuple[np.ndarray, np.ndarray]:
        sigs = rng.integers(0, 2**32, size=(n, spec.num_perm), dtype=np.uint64).astype(np.uint32)
        return sigs, band_keys(sigs, spec.bands, spec.rows)

    index = PassageIndex(
        bands=spec.bands, num_perm=spec.num_perm, delta_limit=500_000, merge_inline=False
    )
    probe_sigs, probe_bands = rows(256)
    next_key = 0
    chunk = 200_000
    t0 = time.perf_counter()
    while next_key < passages:
        n = min(chunk, passages - next_key)
        sigs, bk = rows(n)
        index.insert(np.arange(next_key, next_key + n), bk, sigs)
        next_key += n
    index.compact()
    build_seconds = time.perf_counter() - t0

    latencies: list[float] = []
    idle: list[float] = []
    reader_cpu = [0.0]  # the reader thread's CPU seconds so far
    merging = threading.Event()
    stop = threading.Event()

    def reader() -> None:
        i = 0
        while not stop.is_set():
            j = i % len(probe_bands)
            t = time.perf_counter()
            index.lookup(probe_bands[j : j + 1], probe_sigs[j : j + 1], max_bucket=100)
            took = time.perf_counter() - t
            (latencies if merging.is_set() else idle).append(took)
            reader_cpu[0] = time.thread_time()
            i += 1
            time.sleep(0.0005)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    merge_seconds: list[float] = []
    merge_cpu: list[float] = []
    delta = max(1, passages // 16) if delta is None else delta
    for _ in range(merges):
        sigs, bk = rows(delta)
        for start in range(0, delta, 2000):  # as ingest: small batches into the delta
            end = min(delta, start + 2000)
            index.insert(
                np.arange(next_key + start, next_key + end), bk[start:end], sigs[start:end]
            )
        next_key += delta
        time.sleep(0.2)  # idle lookups between merges
        merging.set()
        t, cpu, read = time.perf_counter(), time.process_time(), reader_cpu[0]
        index.compact()
        merge_seconds.append(time.perf_counter() - t)
        merge_cpu.append(time.process_time() - cpu - (reader_cpu[0] - read))
        merging.clear()
    stop.set()
    thread.join()
    ms = 1000.0
    return {
        "passages": len(index),
        "delta_per_merge": delta,
        "build_seconds": round(build_seconds, 2),
        "merge_seconds_median": round(statistics.median(merge_seconds), 3),
        "merge_seconds_all": [round(s, 3) for s in merge_seconds],
        "merge_cpu_seconds_median": round(statistics.median(merge_cpu), 3),
        # Merges into the middle tier are cheap and into the main tier dear: the mean
        # is what a merge costs an ingest in the long run.
        "merge_cpu_seconds_mean": round(statistics.fmean(merge_cpu), 3),
        "merge_cpu_seconds_all": [round(s, 3) for s in merge_cpu],
        "lookups_during_merges": len(latencies),
        "lookup_ms_during_merges": {
            "p50": round(_pct(latencies, 0.5) * ms, 3),
            "p99": round(_pct(latencies, 0.99) * ms, 3),
            "max": round(max(latencies, default=float("nan")) * ms, 3),
        },
        "lookup_ms_between_merges": {
            "p50": round(_pct(idle, 0.5) * ms, 3),
            "p99": round(_pct(idle, 0.99) * ms, 3),
        },
    }


def bench_reopen(path: Path, *, repeats: int = 3, in_core: bool = True) -> dict[str, object]:
    """Open the SQLite store at ``path`` ``repeats`` times: wall and CPU seconds of the
    index rebuild (``SqliteStore.__init__``), median kept. ``in_core``: passages chosen
    in the core a batch at a time (``IndexSpec.distinct_rows``, where it exists), else
    article by article in Python."""
    import dataclasses
    import resource

    from wiretrace.domain.candidates import index_spec
    from wiretrace.engine.config import EngineConfig
    from wiretrace.store.sqlite import SqliteStore

    spec = index_spec(EngineConfig())
    in_core = in_core and hasattr(spec, "distinct_rows")
    if in_core:
        spec = dataclasses.replace(spec, distinct_rows=True)
    walls: list[float] = []
    cpus: list[float] = []
    passages = 0
    for _ in range(repeats):
        t, c = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        store = SqliteStore(path, spec)
        c2 = resource.getrusage(resource.RUSAGE_SELF)
        walls.append(time.perf_counter() - t)
        cpus.append((c2.ru_utime + c2.ru_stime) - (c.ru_utime + c.ru_stime))
        passages = store.passages()
        store.close()
    return {
        "store": str(path),
        "passages_chosen": "in the core, per batch" if in_core else "in Python, per article",
        "passages": passages,
        "open_wall_seconds_median": round(statistics.median(walls), 2),
        "open_cpu_seconds_median": round(statistics.median(cpus), 2),
        "open_wall_seconds_all": [round(w, 2) for w in walls],
        "open_cpu_seconds_all": [round(c, 2) for c in cpus],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("merge")
    m.add_argument("--passages", type=int, default=1_000_000)
    m.add_argument("--merges", type=int, default=4)
    m.add_argument("--delta", type=int, help="passages a merge folds in (default: N/16)")
    r = sub.add_parser("reopen")
    r.add_argument("--store", type=Path, required=True)
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--per-article", action="store_true", help="choose passages in Python")
    parser.add_argument("--out", type=Path, help="write the report as JSON here too")
    args = parser.parse_args(argv)
    if args.what == "merge":
        report = bench_merge(args.passages, merges=args.merges, delta=args.delta)
    else:
        report = bench_reopen(args.store, repeats=args.repeats, in_core=not args.per_article)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
