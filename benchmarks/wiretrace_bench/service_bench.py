"""Benchmarks through the real service: ingest (IngestStream), Query latency, restart.

Every figure includes what a pipeline pays: protobuf, gRPC, the store's commit and
the engine. A local server is a separate ``wiretrace serve`` process, so its memory
(RSS) is measured on its own.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wiretrace.domain import index_spec, text_sha256
from wiretrace.engine.align import align
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector, Kind, Match
from wiretrace.engine.work import Work
from wiretrace.store import ArticleRecord, Row, open_store
from wiretrace_bench.launchers import process_cpu_seconds, server_rss_bytes, start_server_process
from wiretrace_bench.plagdet import Annotation, score
from wiretrace_bench.progress import Progress
from wiretrace_bench.stats import percentiles
from wiretrace_bench.synthetic import Case, SyntheticArticle, generate

__all__ = [
    "bench_commit",
    "bench_compare",
    "bench_ingest",
    "bench_query",
    "bench_restart",
    "compare_pairs",
    "preload_index",
    "rpc_comparer",
]


def rpc_comparer(address: str) -> Callable[[str, str], list[Match]]:
    """``Detector.compare`` through the service's Compare RPC (for ``run_quality``)."""
    from wiretrace_client import Client, pb

    client = Client(address, timeout=600)
    kinds = {pb.VERBATIM: Kind.VERBATIM, pb.NEAR_VERBATIM: Kind.NEAR_VERBATIM, pb.QUOTE: Kind.QUOTE}

    def compare(text_a: str, text_b: str) -> list[Match]:
        result = client.compare(text_a, text_b)
        return [
            Match(
                m.a.start,
                m.a.end,
                m.b.start,
                m.b.end,
                m.similarity,
                kinds.get(m.kind, Kind.REWORDED),
            )
            for m in result.matches
        ]

    return compare


def quality_scores(cases: list[Case], found: list[Annotation]) -> dict[str, object]:
    """Plagdet of detections ``found`` (pairs are ``(article, source)`` ids) against the
    synthetic ``cases``, overall and recall per kind."""
    truth = [
        Annotation((c.article, c.source), (c.start, c.end), (c.source_start, c.source_end))
        for c in cases
    ]
    s = score(truth, found)
    out: dict[str, object] = {
        "precision": round(s.precision, 4),
        "recall": round(s.recall, 4),
        "granularity": round(s.granularity, 4),
        "plagdet": round(s.plagdet, 4),
        "cases": s.cases,
        "detections": s.detections,
    }
    for kind in sorted({c.kind for c in cases}):
        sub = [t for t, c in zip(truth, cases, strict=True) if c.kind == kind]
        out[f"recall_{kind}"] = round(score(sub, found).recall, 4)
    return out


def bench_ingest(
    address: str | list[str],
    articles: list[SyntheticArticle],
    *,
    cases: list[Case] | None = None,
    concurrency: int = 1,
    batch: int = 0,
    server_pid: int | None = None,
    progress: bool = False,
) -> dict[str, object]:
    """Stream ``articles`` through IngestStream on ``concurrency`` streams, spread over
    the servers at ``address`` (replicas sharing one store) in turn; with ``batch``,
    ``concurrency`` callers each send IngestBatch calls of ``batch`` articles instead,
    one after another."""
    import asyncio

    import grpc

    from wiretrace_api.v1 import wiretrace_pb2_grpc as stubs
    from wiretrace_client import Client, article, pb

    addresses = [address] if isinstance(address, str) else address
    address = addresses[0]
    slices = [(addresses[k % len(addresses)], articles[k::concurrency]) for k in range(concurrency)]
    # Per-article service time: the interval between consecutive results of a stream
    # (a saturated stream queues requests, so send-to-ack time would measure the queue).
    latencies: list[float] = []
    results: dict[str, list[Any]] = {}
    calls = 0  # streams opened or batches sent

    # The client is lean, since it shares the server's cores here (its CPU is
    # reported as ``client_cpu_ms_per_article``): one thread, gRPC's asyncio API, one
    # channel a stream, every message built before the clock starts.
    options = pb.DetectOptions(offset_unit=pb.CODE_POINTS)
    built = {
        a.id: pb.IngestRequest(article=article(a.id, a.text, outlet=a.outlet), options=options)
        for a in articles
    }

    async def answers(stub: Any, requests: list[Any]) -> AsyncIterator[list[Any]]:
        """One caller's answers as they come: one at a time on a stream, a batch's
        together."""
        nonlocal calls
        if not batch:
            calls += 1
            async for r in stub.IngestStream(iter(requests), timeout=3600):
                yield [r]
            return
        for at in range(0, len(requests), batch):
            calls += 1
            chunk = pb.IngestBatchRequest(articles=requests[at : at + batch])
            yield list((await stub.IngestBatch(chunk, timeout=3600)).results)

    async def send(target: str, part: list[SyntheticArticle]) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = stubs.WiretraceStub(channel)  # type: ignore[no-untyped-call]
            last = time.perf_counter()
            async for got in answers(stub, [built[a.id] for a in part]):
                now = time.perf_counter()
                # A batch's time is shared by its articles.
                latencies.extend([(now - last) * 1e3 / len(got)] * len(got))
                last = now
                for r in got:
                    results[r.id] = list(r.matches)
                bar.advance(len(got))

    async def run() -> None:
        await asyncio.gather(*(send(target, part) for target, part in slices))

    with Client(address) as client:
        before = client.stats()
    bar = Progress(len(articles), "articles", enabled=progress)
    cpu0 = process_cpu_seconds(server_pid) if server_pid else None
    load0 = os.getloadavg()[0]
    t0, own0 = time.perf_counter(), time.process_time()
    asyncio.run(run())
    seconds, own = time.perf_counter() - t0, time.process_time() - own0
    cpu1 = process_cpu_seconds(server_pid) if server_pid else None
    bar.close()
    with Client(address) as client:
        after = client.stats()
    passages = after.passages - before.passages
    report: dict[str, object] = {
        "articles": len(articles),
        "concurrency": concurrency,
        "batch": batch,
        "calls": calls,
        "seconds": round(seconds, 3),
        "articles_per_s": round(len(articles) / seconds, 1),
        "passages_per_s": round(passages / seconds, 1),
        **percentiles(latencies),
        "index_articles": after.articles,
        "index_passages": after.passages,
        "index_bytes": after.index_bytes,
        "index_bytes_per_passage": round(after.index_bytes / after.passages, 1)
        if after.passages
        else 0,
        "server_rss_bytes": server_rss_bytes(server_pid) if server_pid else None,
        # CPU the server spent per article: steadier than wall time on a busy machine.
        "server_cpu_ms_per_article": round((cpu1 - cpu0) * 1e3 / len(articles), 2)
        if cpu0 is not None and cpu1 is not None and articles
        else None,
        # This benchmark's own CPU (the gRPC client) while it streamed: on one machine,
        # it competes with the server for the same cores.
        "client_cpu_ms_per_article": round(own * 1e3 / len(articles), 2) if articles else None,
        "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "answered": len(results),
        "matches": sum(len(v) for v in results.values()),
        # Group commit: how many transactions the stored articles took (0: not counted).
        "write_transactions": after.write_transactions - before.write_transactions,
        "articles_written": after.articles_written - before.articles_written,
    }
    if cases is not None:
        found = [
            Annotation(
                (article_id, m.source_id),
                (m.span.start, m.span.end),
                (m.source_span.start, m.source_span.end),
            )
            for article_id, matches in results.items()
            for m in matches
        ]
        report["quality"] = quality_scores(cases, found)
    return report


def bench_query(
    address: str,
    texts: list[str],
    *,
    requests: int,
    concurrency: int,
    server_pid: int | None = None,
) -> dict[str, object]:
    """``requests`` Query calls, ``concurrency`` in flight, over ``texts`` in turn.

    The client is lean, since it shares the machine's cores with the server: one
    thread, gRPC's asyncio API (``concurrency`` coroutines on one channel), every
    request built before the clock starts. Its CPU is reported beside the server's
    (``server_pid``) per query."""
    import asyncio

    import grpc

    from wiretrace_api.v1 import wiretrace_pb2_grpc as stubs
    from wiretrace_client import Client, pb

    with Client(address, timeout=60) as client:
        stats = client.stats()
    options = pb.DetectOptions(offset_unit=pb.CODE_POINTS)
    built = [pb.QueryRequest(article=pb.Article(text=t), options=options) for t in texts]
    latencies: list[float] = []

    async def run() -> tuple[float, float, float | None]:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = stubs.WiretraceStub(channel)  # type: ignore[no-untyped-call]

            async def one(k: int) -> None:
                t = time.perf_counter()
                await stub.Query(built[k % len(built)], timeout=60)
                latencies.append((time.perf_counter() - t) * 1e3)

            for k in range(min(20, requests)):  # warm-up: caches, connections
                await one(k)
            latencies.clear()
            left = iter(range(requests))

            async def caller() -> None:
                for k in left:
                    await one(k)

            cpu0 = process_cpu_seconds(server_pid) if server_pid else None
            t0, own0 = time.perf_counter(), time.process_time()
            await asyncio.gather(*(caller() for _ in range(concurrency)))
            seconds, own = time.perf_counter() - t0, time.process_time() - own0
            cpu1 = process_cpu_seconds(server_pid) if server_pid else None
            cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
            return seconds, own, cpu

    load0 = os.getloadavg()[0]
    seconds, own, server_cpu = asyncio.run(run())
    return {
        "requests": requests,
        "concurrency": concurrency,
        "index_articles": stats.articles,
        "index_passages": stats.passages,
        "qps": round(requests / seconds, 1),
        **percentiles(latencies),
        "server_cpu_ms_per_query": round(server_cpu * 1e3 / requests, 3)
        if server_cpu is not None
        else None,
        "client_cpu_ms_per_query": round(own * 1e3 / requests, 3),
        "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def _prepare(batch: list[SyntheticArticle]) -> list[Row]:
    config = EngineConfig()
    detector, spec = Detector(config), index_spec(config)
    out = []
    for a in batch:
        sigs = detector.prepare(a.text).signatures
        record = ArticleRecord(a.id, a.outlet, "", None, "", a.text)
        out.append(Row(record, text_sha256(a.text), sigs, spec.passages(sigs)))
    return out


def prepared_batches(
    articles: list[SyntheticArticle], *, batch: int = 1000, workers: int | None = None
) -> Iterator[list[Row]]:
    """The store rows of ``articles`` (for ``ArticleStore.insert_many``), prepared on
    every core, one batch at a time."""
    batches = [articles[k : k + batch] for k in range(0, len(articles), batch)]
    with ProcessPoolExecutor(workers or os.cpu_count() or 1) as pool:
        yield from pool.map(_prepare, batches)


def compare_pairs(count: int, chars: int, *, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` pairs of generated articles of about ``chars`` characters each, the
    second holding a paragraph of the first copied or reworded."""
    articles, _ = generate(4 * count + 8, seed=seed)
    rng = random.Random(seed)
    texts = []
    for k in range(0, len(articles) - 1, 2):  # two articles joined, cut at a paragraph
        paragraphs = (articles[k].text + "\n" + articles[k + 1].text).split("\n")
        out: list[str] = []
        while paragraphs and sum(len(p) + 1 for p in out) + len(paragraphs[0]) <= chars:
            out.append(paragraphs.pop(0))
        texts.append(out)
    pairs = []
    for k in range(count):
        source, target = texts[2 * k], list(texts[2 * k + 1])
        target.insert(rng.randrange(len(target)), rng.choice(source))
        pairs.append(("\n".join(source), "\n".join(target)))
    return pairs


def compare_rpc(
    address: str, pairs: list[tuple[str, str]], between: Callable[[str, str], object] | None = None
) -> tuple[list[float], int]:
    """The latency of each Compare RPC (ms), one call in flight, and the matches they
    found; ``between`` runs after each call, outside the clock."""
    from wiretrace_client import Client

    latencies: list[float] = []
    found = 0
    with Client(address, timeout=60) as client:
        for a, b in pairs[:10]:  # warm-up
            client.compare(a, b)
        for a, b in pairs:
            t = time.perf_counter()
            found += len(client.compare(a, b).matches)
            latencies.append((time.perf_counter() - t) * 1e3)
            if between is not None:
                between(a, b)
    return latencies, found


def bench_compare(address: str, pairs: list[tuple[str, str]]) -> dict[str, object]:
    """Compare RPC latency, one call in flight, beside the engine in this process: the
    whole ``Detector.compare`` of two texts, and its alignment alone (two prepared
    documents, the core's copy of each made once); then the threads' scaling."""
    detector = Detector(EngineConfig())
    local: list[float] = []

    def in_process(a: str, b: str) -> None:
        t = time.perf_counter()
        detector.compare(a, b)
        local.append((time.perf_counter() - t) * 1e3)

    remote, found = compare_rpc(address, pairs, in_process)
    docs = [(detector.prepare(a), detector.prepare(b)) for a, b in pairs]
    prepared: list[float] = []
    core: list[float] = []
    for da, db in docs:
        da.aligned(), db.aligned()
        t = time.perf_counter()
        detector.compare(da, db)
        prepared.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        align(da, db, same_text=False, config=detector.config, work=Work())
        core.append((time.perf_counter() - t) * 1e3)
    return {
        "pairs": len(pairs),
        "chars_mean": round(statistics.mean(len(a) + len(b) for a, b in pairs) / 2),
        **percentiles(remote),
        "in_process_p50_ms": percentiles(local)["p50_ms"],
        # Two prepared documents: the alignment and the matches' confidences.
        "prepared_p50_ms": percentiles(prepared)["p50_ms"],
        # The alignment alone: one call into the compiled core.
        "align_p50_ms": percentiles(core)["p50_ms"],
        "matches": found,
        "threads": thread_scaling(detector, pairs, docs),
    }


def thread_scaling(
    detector: Detector,
    pairs: list[tuple[str, str]],
    docs: list[tuple[Any, Any]],
    *,
    rounds: int = 5,
) -> dict[str, object]:
    """The same CPU-bound batch of comparisons on one thread and on two, interleaved
    ``rounds`` times (this machine is shared): the median time of each, their ratio of
    work per second, and the CPU seconds the process used per second with two threads
    (above 1: both threads computed at once). ``align``: the alignment alone, one core
    call per pair (the GIL released); ``prepared``: ``Detector.compare`` of two
    prepared documents (the alignment, the matches, the summary stage and the
    confidences, all in one core call; Python builds the ``Match`` list); ``texts``: of
    two texts (their prepare included, both on the calling thread: with a core to
    spare, one compare would otherwise prepare its second text on a helper thread, and
    "one thread" would use two cores). Each batch runs ~0.15-0.3 s on one thread."""

    def timed(batch: Callable[[int], object], threads: int, size: int) -> tuple[float, float]:
        def run(chunk: range) -> None:
            for i in chunk:
                batch(i)

        workers = [
            threading.Thread(target=run, args=(range(k, size, threads),)) for k in range(threads)
        ]
        t, cpu = time.perf_counter(), time.process_time()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.perf_counter() - t, time.process_time() - cpu

    def aligned(i: int) -> object:
        da, db = docs[i % len(docs)]
        return align(da, db, same_text=False, config=detector.config, work=Work())

    out: dict[str, object] = {}
    batches: dict[str, tuple[Callable[[int], object], int]] = {
        "align": (aligned, 10 * len(docs)),
        "prepared": (lambda i: detector.compare(*docs[i % len(docs)]), 8 * len(docs)),
        "texts": (
            lambda i: detector.compare(*pairs[i % len(pairs)], parallel=False),
            3 * len(pairs),
        ),
    }
    for name, (batch, size) in batches.items():
        one, two, busy = [], [], []
        for _ in range(rounds):
            one.append(timed(batch, 1, size)[0])
            wall, cpu = timed(batch, 2, size)
            two.append(wall)
            busy.append(cpu / wall)
        t1, t2 = statistics.median(one), statistics.median(two)
        out[f"{name}_one_thread_s"] = round(t1, 3)
        out[f"{name}_two_threads_s"] = round(t2, 3)
        out[f"{name}_speedup"] = round(t1 / t2, 2)
        out[f"{name}_speedup_range"] = f"{min(one) / max(two):.2f}-{max(one) / min(two):.2f}"
        out[f"{name}_two_threads_cpu_per_s"] = round(statistics.median(busy), 2)
    out["cpus"] = os.cpu_count()
    out["load_average_1min"] = round(os.getloadavg()[0], 1)
    return out


def preload_index(data_dir: Path, count: int, *, seed: int) -> None:
    """Fill the store in ``data_dir`` with ``count`` generated articles (ids ``pre…``,
    apart from the benchmark's own), as a bulk import."""
    articles, _ = generate(count, seed=seed)
    bulk_load(data_dir, [SyntheticArticle(f"pre{a.id}", a.outlet, a.text) for a in articles])


def bulk_load(
    data_dir: Path, articles: list[SyntheticArticle], *, workers: int | None = None
) -> None:
    """Store ``articles`` with their signatures directly (a bulk import, no detection)."""
    store = open_store(f"sqlite:///{data_dir / 'articles.db'}", index_spec(EngineConfig()))
    try:
        for rows in prepared_batches(articles, workers=workers):
            store.insert_many(rows)
    finally:
        store.close()


def bench_commit(
    articles: list[SyntheticArticle],
    *,
    threads: int,
    store_file: Path | None = None,
    workers: int | None = None,
) -> dict[str, object]:
    """The store's side of ingest alone: ``threads`` threads ``put`` prepared rows (no
    detection) into an embedded store, a copy of ``store_file`` when given (its index
    loaded first), as the gRPC workers do. Puts per second, put latency, and the
    transactions they took."""
    import shutil

    rows = [row for batch in prepared_batches(articles, workers=workers) for row in batch]
    with tempfile.TemporaryDirectory(prefix="wiretrace-commit-") as tmp:
        path = Path(tmp) / "articles.db"
        if store_file is not None:
            shutil.copyfile(store_file, path)
        t0 = time.perf_counter()
        store = open_store(f"sqlite:///{path}", index_spec(EngineConfig()))
        open_seconds = time.perf_counter() - t0
        latencies: list[float] = []
        lock = threading.Lock()

        def run(part: list[Row]) -> None:
            for row in part:
                t = time.perf_counter()
                store.put(row)
                ms = (time.perf_counter() - t) * 1e3
                with lock:
                    latencies.append(ms)

        try:
            before = store.writes()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(run, [rows[k::threads] for k in range(threads)]))
            seconds = time.perf_counter() - t0
            after = store.writes()
            passages = store.passages()
        finally:
            store.close()
    transactions = after.transactions - before.transactions if after and before else None
    return {
        "articles": len(rows),
        "threads": threads,
        "store_open_seconds": round(open_seconds, 1),
        "index_passages": passages,
        "seconds": round(seconds, 3),
        "articles_per_s": round(len(rows) / seconds, 1),
        **percentiles(latencies),
        "transactions": transactions,
        "articles_per_transaction": round(len(rows) / transactions, 2) if transactions else None,
    }


def bench_restart(count: int, *, seed: int = 3, repeats: int = 3) -> dict[str, object]:
    """Time from process start to serving, over a store of ``count`` articles."""
    with tempfile.TemporaryDirectory(prefix="wiretrace-restart-") as tmp:
        data = Path(tmp) / "data"
        articles, _ = generate(count, seed=seed)
        t0 = time.perf_counter()
        bulk_load(data, articles)
        load_seconds = time.perf_counter() - t0
        timings = []
        rss = None
        passages = 0
        for _ in range(repeats):
            port_file = Path(tmp) / "port"
            t = time.perf_counter()
            proc = start_server_process(data, port_file)
            timings.append(time.perf_counter() - t)
            rss = server_rss_bytes(proc.pid)
            from wiretrace_client import Client

            with Client(f"127.0.0.1:{port_file.read_text()}") as client:
                passages = client.stats().passages
            proc.terminate()
            proc.wait(timeout=60)
    return {
        "articles": count,
        "passages": passages,
        "bulk_load_seconds": round(load_seconds, 1),
        "restart_seconds_median": round(statistics.median(timings), 3),
        "restart_seconds_all": [round(t, 3) for t in timings],
        "server_rss_bytes": rss,
    }
