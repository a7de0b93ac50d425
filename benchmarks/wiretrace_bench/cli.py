"""``wiretrace bench ...``: the benchmark commands, registered on the ``wiretrace``
console command by ``register``. Every command prints a table, or JSON with --json.

    wiretrace bench generate OUT [--articles N] [--seed S] [--hard]
    wiretrace bench quality CORPUS_DIR [--server ADDR | --in-process] [--pairs FILE]
                            [--out DIR] [--json] [--workers N]
    wiretrace bench labels CORPUS_DIR OUT.jsonl [--server ADDR | --in-process]
    wiretrace bench calibrate CORPUS_DIR LABELS.jsonl [--evaluate]
    wiretrace bench boilerplate [--sharing N] [--probes N]
                           [--pairs FILE] [--json] [--workers N]
    wiretrace bench index [--corpus DIR] [--articles N] [--json]
    wiretrace bench ingest [--synthetic N | --corpus DIR|FILE.jsonl] [--server ADDR]
                           [--server-pid PID] [--concurrency K] [--preload N]
                           [--baseline naive] [--json]
    wiretrace bench query [--server ADDR] [--index-size N] [--requests R]
                          [--concurrency K] [--json]
    wiretrace bench compare [--server ADDR] [--pairs N] [--chars C] [--json]
    wiretrace bench transport [--articles N] [--requests R] [--pairs N] [--json]
    wiretrace bench shapes [--chars C] [--server ADDR | --in-process] [--repeats R] [--json]
    wiretrace bench restart [--articles N] [--json]
    wiretrace bench merge [--passages N] [--merges M] [--delta D] [--json]
    wiretrace bench reopen --store FILE [--repeats R] [--per-article] [--json]
    wiretrace bench commit [--articles N] [--threads K] [--store-file FILE] [--json]
    wiretrace bench redis [--passages N] [--datasketch-keys K] [--replica-articles M]
    wiretrace bench redis --cluster [--passages N] [--masters 1,3]
    wiretrace bench fuzz [--requests N] [--concurrency K] [--seed S] [--json]
    wiretrace bench parity --against REV SPEC... [--json]

The modules behind each command are imported when it runs, so that the console command
starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wiretrace.engine.config import EngineConfig
from wiretrace.errors import InvalidInput

if TYPE_CHECKING:
    from wiretrace_bench.pan import Corpus, QualityReport
    from wiretrace_bench.synthetic import Case, SyntheticArticle

__all__ = ["register"]


def _run_corpus(
    args: argparse.Namespace, *, quiet: bool, out_dir: Path | None = None
) -> tuple[Corpus, QualityReport]:
    """Every pair of ``args.corpus`` through the Compare RPC (``--server``, or a local
    server), or the engine in-process (``--in-process``); PAN XML of the detections
    into ``out_dir`` when given."""
    from wiretrace_bench.pan import load_corpus, run_quality

    corpus = load_corpus(Path(args.corpus), Path(args.pairs) if args.pairs else None)
    progress = sys.stderr.isatty() and not quiet
    if args.in_process:
        report = run_quality(
            corpus, config=EngineConfig(), workers=args.workers, out_dir=out_dir, progress=progress
        )
        return corpus, report
    from wiretrace_bench.launchers import local_server
    from wiretrace_bench.service_bench import rpc_comparer

    longest = max(
        len(p.read_text(encoding="utf-8"))
        for p in [*(corpus.root / "susp").iterdir(), *(corpus.root / "src").iterdir()]
    )
    with contextlib.ExitStack() as stack:
        address = (
            args.server
            or stack.enter_context(local_server(max_text_chars=max(longest, 200_000)))[0]
        )
        report = run_quality(
            corpus,
            comparer=rpc_comparer(address),
            workers=args.workers or 4,
            out_dir=out_dir,
            progress=progress,
        )
    return corpus, report


def _cmd_bench_quality(args: argparse.Namespace) -> int:
    from wiretrace_bench.documents import document_report
    from wiretrace_bench.report import document_table, quality_table

    corpus, report = _run_corpus(
        args, quiet=args.json, out_dir=Path(args.out) if args.out else None
    )
    # Corpora from `bench generate --hard` also get the document-level figures.
    documents = document_report(corpus, report.detections)
    if args.json:
        out = report.as_dict()
        if documents is not None:
            out["documents"] = documents.as_dict()
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(quality_table(report))
        if documents is not None:
            print()
            print(document_table(documents))
    return 0


def _cmd_bench_index(args: argparse.Namespace) -> int:
    from wiretrace_bench.report import index_table
    from wiretrace_bench.speed import news_sized_articles, run_index_speed

    articles = news_sized_articles(Path(args.corpus) if args.corpus else None, args.articles)
    report = run_index_speed(articles, EngineConfig(), repeats=args.repeats)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(index_table(report))
    return 0


def _print_report(report: dict[str, object], as_json: bool) -> None:
    if as_json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for key, value in report.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<34} {v}")
        else:
            print(f"{key:<36} {value}")


def _bench_articles(args: argparse.Namespace) -> tuple[list[SyntheticArticle], list[Case] | None]:
    """The articles to ingest: a corpus (JSONL, a folder of .txt, or a PAN-layout
    corpus cut into news-sized articles), or a generated one with its ground truth."""
    from wiretrace_bench.speed import news_sized_articles
    from wiretrace_bench.synthetic import SyntheticArticle, generate
    from wiretrace_client import articles_from_folder, articles_from_jsonl

    if not args.corpus:
        return generate(args.synthetic, seed=args.seed)
    path = Path(args.corpus)
    if (path / "src").is_dir():
        texts = news_sized_articles(path, args.articles or 10**9)
        return [SyntheticArticle(f"c{k:07d}", "", t) for k, t in enumerate(texts)], None
    read = articles_from_jsonl if path.is_file() else articles_from_folder
    return [SyntheticArticle(a.id, a.outlet, a.text) for a in read(path)], None


def _cmd_bench_ingest(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        return _bench_ingest(args, stack)


def _bench_ingest(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    import tempfile

    from wiretrace_bench.launchers import local_server
    from wiretrace_bench.service_bench import bench_ingest, preload_index

    articles, cases = _bench_articles(args)
    progress = sys.stderr.isatty() and not args.json
    if args.server:
        report = bench_ingest(
            args.server,
            articles,
            cases=cases,
            concurrency=args.concurrency,
            batch=args.batch,
            server_pid=args.server_pid,
            progress=progress,
        )
    else:
        data = stack.enter_context(tempfile.TemporaryDirectory(prefix="wiretrace-ingest-"))
        if args.preload:
            preload_index(Path(data), args.preload, seed=args.seed + 1)
        with local_server(Path(data)) as (address, proc):
            report = bench_ingest(
                address,
                articles,
                cases=cases,
                concurrency=args.concurrency,
                batch=args.batch,
                server_pid=proc.pid,
                progress=progress,
            )
    if args.baseline == "naive":
        from wiretrace_bench.naive import bench_naive

        naive = bench_naive(articles, cases)
        report["baseline_naive"] = naive
        report["speedup_vs_naive"] = round(
            float(report["articles_per_s"]) / float(naive["articles_per_s"]),  # type: ignore[arg-type]
            2,
        )
    _print_report(report, args.json)
    return 0


def _cmd_bench_query(args: argparse.Namespace) -> int:
    import tempfile

    from wiretrace_bench.launchers import local_server
    from wiretrace_bench.service_bench import bench_query, bulk_load
    from wiretrace_bench.synthetic import generate

    articles: list[SyntheticArticle] = []
    if args.texts:  # the query texts saved by an earlier run: no need to generate
        texts = [str(t) for t in json.loads(Path(args.texts).read_text())]
    else:
        articles, _ = generate(args.index_size + 200, seed=args.seed)
        texts = [a.text for a in articles[args.index_size :]]
    if args.server:
        report = bench_query(
            args.server,
            texts,
            requests=args.requests,
            concurrency=args.concurrency,
            server_pid=args.server_pid,
        )
    else:
        with tempfile.TemporaryDirectory(prefix="wiretrace-query-") as tmp:
            bulk_load(Path(tmp), articles[: args.index_size])
            with local_server(Path(tmp)) as (address, proc):
                report = bench_query(
                    address,
                    texts,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    server_pid=proc.pid,
                )
    _print_report(report, args.json)
    return 0


def _cmd_bench_compare(args: argparse.Namespace) -> int:
    from wiretrace_bench.launchers import local_server
    from wiretrace_bench.service_bench import bench_compare, compare_pairs

    pairs = compare_pairs(args.pairs, args.chars, seed=args.seed)
    if args.server:
        report = bench_compare(args.server, pairs)
    else:
        with local_server() as (address, _proc):
            report = bench_compare(address, pairs)
    _print_report(report, args.json)
    return 0


def _cmd_bench_transport(args: argparse.Namespace) -> int:
    from wiretrace_bench.service_bench import compare_pairs
    from wiretrace_bench.synthetic import generate
    from wiretrace_bench.transport import bench_transport

    articles, _ = generate(args.articles + args.query_texts, seed=args.seed)
    report = bench_transport(
        articles[: args.articles],
        [a.text for a in articles[args.articles :]],
        compare_pairs(args.pairs, args.chars, seed=args.seed),
        streams=args.streams,
        requests=args.requests,
        in_flight=args.in_flight,
        ingest_rate=args.ingest_rate,
        query_p99_ms=args.query_p99_ms,
        compare_p50_ms=args.compare_p50_ms,
    )
    _print_report(report, args.json)
    return 0


def _cmd_bench_parity(args: argparse.Namespace) -> int:
    from wiretrace_bench.parity import run_parity

    report = run_parity(args.against, args.specs, python=args.python)
    _print_report(report, args.json)
    same = not report["pairs_with_other_matches"] and not report["pairs_with_other_counters"]
    return 0 if same else 1


def _cmd_bench_shapes(args: argparse.Namespace) -> int:
    from wiretrace_bench.launchers import local_server
    from wiretrace_bench.shapes import bench_shapes, shapes_table

    with contextlib.ExitStack() as stack:
        address = args.server
        if not address and not args.in_process:
            address = stack.enter_context(local_server(max_text_chars=args.chars))[0]
        rows = bench_shapes(args.chars, address=address, repeats=args.repeats)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(shapes_table(rows))
    return 0


def _cmd_bench_merge(args: argparse.Namespace) -> int:
    from wiretrace_bench.store_bench import bench_merge

    _print_report(bench_merge(args.passages, merges=args.merges, delta=args.delta), args.json)
    return 0


def _cmd_bench_reopen(args: argparse.Namespace) -> int:
    from wiretrace_bench.store_bench import bench_reopen

    report = bench_reopen(Path(args.store), repeats=args.repeats, in_core=not args.per_article)
    _print_report(report, args.json)
    return 0


def _cmd_bench_restart(args: argparse.Namespace) -> int:
    from wiretrace_bench.service_bench import bench_restart

    _print_report(bench_restart(args.articles, repeats=args.repeats), args.json)
    return 0


def _cmd_bench_commit(args: argparse.Namespace) -> int:
    from wiretrace_bench.service_bench import bench_commit
    from wiretrace_bench.synthetic import SyntheticArticle, generate

    articles, _ = generate(args.articles, seed=args.seed)
    articles = [SyntheticArticle(f"commit{a.id}", a.outlet, a.text) for a in articles]
    store_file = Path(args.store_file) if args.store_file else None
    _print_report(bench_commit(articles, threads=args.threads, store_file=store_file), args.json)
    return 0


def _cmd_bench_generate(args: argparse.Namespace) -> int:
    from wiretrace_bench.synthetic import generate, write_corpus

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} is not empty: pick a new folder for the corpus")
    if args.hard:
        from wiretrace_bench.events import generate_hard

        articles, cases = generate_hard(args.articles, seed=args.seed)
    else:
        articles, cases = generate(args.articles, seed=args.seed)
    pairs = write_corpus(out, articles, cases, seed=args.seed)
    report: dict[str, object] = {
        "articles": len(articles),
        "cases": len(cases),
        "pairs": pairs,
        "corpus": str(out),
    }
    _print_report(report, args.json)
    return 0


def _cmd_bench_labels(args: argparse.Namespace) -> int:
    from wiretrace_bench.labels import write_labels

    corpus, report = _run_corpus(args, quiet=args.json)
    _print_report(write_labels(Path(args.out), corpus, report.matches), args.json)
    return 0


def _cmd_bench_boilerplate(args: argparse.Namespace) -> int:
    from wiretrace_bench.boilerplate import bench_boilerplate

    report = bench_boilerplate(args.sharing, args.probes)
    _print_report(report, args.json)
    return 0


def _cmd_bench_calibrate(args: argparse.Namespace) -> int:
    from wiretrace_bench.calibrate import calibrate
    from wiretrace_bench.pan import load_corpus

    corpus = load_corpus(Path(args.corpus), None)
    _print_report(calibrate(corpus, Path(args.labels), evaluate=args.evaluate), args.json)
    return 0


def _cmd_bench_redis(args: argparse.Namespace) -> int:
    from wiretrace_bench.redis_bench import bench_redis

    if args.cluster:
        from wiretrace_bench.cluster_bench import bench_cluster

        masters = tuple(int(m) for m in args.masters.split(","))
        _print_report(bench_cluster(args.passages, masters=masters), args.json)
        return 0

    report = bench_redis(
        args.passages,
        datasketch_keys=args.datasketch_keys,
        replica_articles=args.replica_articles,
        repeats=args.repeats,
    )
    _print_report(report, args.json)
    return 0


def _cmd_bench_fuzz(args: argparse.Namespace) -> int:
    from wiretrace_bench.fuzz import bench_fuzz

    report = bench_fuzz(args.requests, seed=args.seed, concurrency=args.concurrency)
    _print_report(report, args.json)
    return 0 if not report["failures"] and report["stored_matches_acknowledged"] else 1


def _add_pair_runner(p: argparse.ArgumentParser) -> None:
    """How a command over a corpus's pairs runs them: a server's Compare RPC (started
    here unless --server), or the engine in this process."""
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--server", help="HOST:PORT whose Compare RPC runs the pairs (default: start one)"
    )
    mode.add_argument(
        "--in-process", action="store_true", help="run the engine here instead of the service"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes in-process (default: all cores), else calls in flight (default 4)",
    )


def register(bench: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the bench commands to the ``wiretrace bench`` subparsers."""
    p = bench.add_parser(
        "quality", help="score every pair of a PAN-13-layout corpus through the service"
    )
    p.add_argument("corpus", help="corpus folder with src/, susp/ and pairs")
    p.add_argument("--pairs", help="pairs file (default: CORPUS/pairs)")
    p.add_argument("--out", help="write one PAN XML of detections per pair here")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_pair_runner(p)
    p.set_defaults(func=_cmd_bench_quality)

    p = bench.add_parser(
        "labels",
        help="one JSONL row per detected match of a corpus: features and a 0/1 label "
        "(overlaps a true case on both sides), for calibrating confidence",
    )
    p.add_argument("corpus", help="corpus folder with ground truth (bench generate --hard)")
    p.add_argument("out", help="JSONL file to write")
    p.add_argument("--pairs", help="pairs file (default: CORPUS/pairs)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_pair_runner(p)
    p.set_defaults(func=_cmd_bench_labels)

    p = bench.add_parser(
        "boilerplate",
        help="ingest cost of an article whose paragraph N stored articles share, against "
        "one of its own, with the index's bucket cap and without",
    )
    p.add_argument("--sharing", type=int, default=10_000, help="stored articles sharing it (10000)")
    p.add_argument("--probes", type=int, default=60, help="articles ingested of each kind (60)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_bench_boilerplate)

    p = bench.add_parser(
        "calibrate",
        help="fit the match confidence (logistic regression) on bench labels rows and "
        "choose the per-source verdict thresholds; prints what to paste into "
        "wiretrace/engine/confidence.py",
    )
    p.add_argument("corpus", help="the corpus the labels were written for")
    p.add_argument("labels", help="JSONL of bench labels")
    p.add_argument(
        "--evaluate",
        action="store_true",
        help="score the engine's coefficients and thresholds instead of fitting new ones",
    )
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_bench_calibrate)

    p = bench.add_parser(
        "generate", help="write a synthetic news corpus with PAN-layout ground truth"
    )
    p.add_argument("out", help="new folder: src/, susp/, pairs, one folder per kind, JSONL")
    p.add_argument("--articles", type=int, default=2000, help="articles (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument(
        "--hard",
        action="store_true",
        help="add issue 11's hard cases: events covered by several outlets (about one "
        "per 25 articles, ~7 articles each; same-event negatives, short quotes, briefs, "
        "quotes inside reworded passages)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_bench_generate)

    p = bench.add_parser("index", help="passages signed and indexed per second, one core")
    p.add_argument("--corpus", help="PAN-layout corpus whose texts are cut into articles")
    p.add_argument("--articles", type=int, default=2000, help="number of articles (default 2000)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is kept")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_index)

    p = bench.add_parser("ingest", help="articles/s and latency through IngestStream")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--synthetic", type=int, default=2000, help="generated articles (default)")
    source.add_argument("--corpus", help="folder of .txt, a PAN-layout corpus, or FILE.jsonl")
    p.add_argument("--articles", type=int, default=0, help="with a PAN corpus: how many articles")
    p.add_argument("--server", help="HOST:PORT of a running server (default: start one)")
    p.add_argument(
        "--server-pid", type=int, help="with --server on this machine: its pid, for CPU and RSS"
    )
    p.add_argument("--concurrency", type=int, default=1, help="parallel streams (default 1)")
    p.add_argument(
        "--batch",
        type=int,
        default=0,
        help="IngestBatch calls of this many articles, one after another on each of the "
        "--concurrency callers, instead of streams (default 0: IngestStream)",
    )
    p.add_argument(
        "--preload",
        type=int,
        default=0,
        help="articles bulk-loaded into the local server's index first (default 0)",
    )
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument(
        "--baseline",
        choices=["naive"],
        help="also run the naive datasketch + rapidfuzz pipeline on the same articles",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_ingest)

    p = bench.add_parser("query", help="Query latency and QPS against an index of a chosen size")
    p.add_argument("--server", help="HOST:PORT of a running, filled server (default: start one)")
    p.add_argument("--index-size", type=int, default=10000, help="articles in the index")
    p.add_argument("--requests", type=int, default=2000, help="Query calls (default 2000)")
    p.add_argument("--concurrency", type=int, default=64, help="calls in flight (default 64)")
    p.add_argument(
        "--server-pid", type=int, help="with --server on this machine: its pid, for its CPU"
    )
    p.add_argument(
        "--texts",
        help="JSON list of query texts (with --server: instead of generating the index's "
        "next articles)",
    )
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_query)

    p = bench.add_parser(
        "parity",
        help="every match and work counter of this engine against a git revision's, on "
        "the same pairs; exits 1 when any differs",
    )
    p.add_argument("--against", required=True, help="git revision of the other engine")
    p.add_argument(
        "--python",
        help="interpreter of an installed build of that revision (another worktree's "
        ".venv/bin/python): needed when it has a compiled core",
    )
    p.add_argument(
        "specs",
        nargs="+",
        help="seeds:DIR (every ordered pair of its texts) or CORPUS_DIR@STEP (every "
        "STEP-th pair of a PAN-layout corpus)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_parity)
    p = bench.add_parser("compare", help="Compare RPC latency on pairs of articles")
    p.add_argument("--server", help="HOST:PORT of a running server (default: start one)")
    p.add_argument("--pairs", type=int, default=500, help="pairs compared (default 500)")
    p.add_argument("--chars", type=int, default=5000, help="characters per article (default 5000)")
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_compare)

    p = bench.add_parser(
        "transport",
        help="the gRPC transport alone (an echo server): its CPU a call, and what the "
        "ingest, query and compare targets leave for the engine",
    )
    p.add_argument("--articles", type=int, default=2000, help="articles streamed")
    p.add_argument("--streams", type=int, default=16, help="IngestStream streams")
    p.add_argument("--query-texts", type=int, default=200, help="distinct query texts")
    p.add_argument("--requests", type=int, default=4000, help="Query calls")
    p.add_argument("--in-flight", type=int, default=64, help="Query calls in flight")
    p.add_argument("--pairs", type=int, default=500, help="Compare calls, one in flight")
    p.add_argument("--chars", type=int, default=5000, help="characters per compared text")
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--ingest-rate", type=float, default=2000, help="target articles/s")
    p.add_argument("--query-p99-ms", type=float, default=25, help="target Query p99")
    p.add_argument("--compare-p50-ms", type=float, default=1, help="target Compare p50")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_transport)

    p = bench.add_parser(
        "shapes", help="the worst text shapes at the limit: engine and Compare RPC time, work"
    )
    p.add_argument("--chars", type=int, default=200_000, help="length of each shape's text")
    p.add_argument("--server", help="a running server's ADDR (default: start one locally)")
    p.add_argument("--in-process", action="store_true", help="the engine only, no RPC")
    p.add_argument("--repeats", type=int, default=1, help="best of this many runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bench_shapes)

    p = bench.add_parser("restart", help="time to serve again over a store of N articles")
    p.add_argument("--articles", type=int, default=100_000, help="articles in the store")
    p.add_argument("--repeats", type=int, default=3, help="restarts timed; the median is kept")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_restart)

    p = bench.add_parser("merge", help="index lookup latency while merges run")
    p.add_argument("--passages", type=int, default=1_000_000, help="passages in the index")
    p.add_argument("--merges", type=int, default=4, help="merges timed")
    p.add_argument(
        "--delta", type=int, help="passages each merge folds in (default: a sixteenth of N)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_merge)

    p = bench.add_parser("reopen", help="open an existing SQLite store: index rebuild time")
    p.add_argument("--store", required=True, help="the store's SQLite file")
    p.add_argument("--repeats", type=int, default=3, help="opens timed; the median is kept")
    p.add_argument("--per-article", action="store_true", help="choose passages in Python")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_reopen)

    p = bench.add_parser(
        "commit", help="the embedded store alone: prepared articles put by K threads"
    )
    p.add_argument("--articles", type=int, default=2000, help="articles put (default 2000)")
    p.add_argument("--threads", type=int, default=8, help="threads putting (default 8)")
    p.add_argument(
        "--store-file", help="an articles.db to copy and put into (an index of its size)"
    )
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_commit)

    p = bench.add_parser(
        "redis", help="the Redis backend against datasketch's Redis storage, and replicas"
    )
    p.add_argument("--passages", type=int, default=100_000, help="passages to index")
    p.add_argument("--datasketch-keys", type=int, default=3000, help="keys for datasketch")
    p.add_argument(
        "--replica-articles", type=int, default=1000, help="articles ingested per replica run"
    )
    p.add_argument("--repeats", type=int, default=1, help="runs of ours; medians are kept")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="the cluster store on Redis Clusters of --masters primaries instead",
    )
    p.add_argument("--masters", default="1,3", help="cluster sizes for --cluster (default 1,3)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_redis)

    p = bench.add_parser("fuzz", help="hostile requests over every RPC, counted by status code")
    p.add_argument("--requests", type=int, default=10_000, help="requests sent (default 10000)")
    p.add_argument("--concurrency", type=int, default=4, help="calls in flight (default 4)")
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_fuzz)
