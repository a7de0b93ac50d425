"""The ``wiretrace`` console command.

    wiretrace serve [--address HOST:PORT] [--data-dir DIR | --store redis://...] [...]
    wiretrace compare A.txt B.txt [--json]
    wiretrace demo [DIR]
    wiretrace bench generate OUT [--articles N] [--seed S]
    wiretrace bench quality CORPUS_DIR [--server ADDR | --in-process] [--pairs FILE]
                            [--out DIR] [--json] [--workers N]
    wiretrace bench index [--corpus DIR] [--articles N] [--json]
    wiretrace bench ingest [--synthetic N | --corpus DIR|FILE.jsonl] [--server ADDR]
                           [--concurrency K] [--preload N] [--baseline naive] [--json]
    wiretrace bench query [--server ADDR] [--index-size N] [--requests R]
                          [--concurrency K] [--json]
    wiretrace bench compare [--server ADDR] [--pairs N] [--chars C] [--json]
    wiretrace bench restart [--articles N] [--json]
    wiretrace bench redis [--passages N] [--datasketch-keys K] [--replica-articles M]

Errors of the ``WiretraceError`` family become a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector, Match
from wiretrace.errors import InvalidInput, WiretraceError

if TYPE_CHECKING:
    from wiretrace.evaluation.synthetic import Case, SyntheticArticle

__all__ = ["main"]


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def _excerpt(text: str, start: int, end: int, width: int = 160) -> str:
    s = " ".join(text[start:end].split())
    return s if len(s) <= width else s[: width - 1] + "…"


def print_matches(a: str, b: str, matches: Sequence[Match], *, out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    for m in matches:
        print(
            f"[{m.kind.value}, similarity {m.similarity:.2f}] "
            f"A[{m.a_start}:{m.a_end}] ~ B[{m.b_start}:{m.b_end}]",
            file=stream,
        )
        print(f"  A: {_excerpt(a, m.a_start, m.a_end)}", file=stream)
        print(f"  B: {_excerpt(b, m.b_start, m.b_end)}", file=stream)


def _cmd_compare(args: argparse.Namespace) -> int:
    a, b = _read(args.a), _read(args.b)
    matches = Detector().compare(a, b)
    if args.json:
        json.dump({"matches": [m.as_dict() for m in matches]}, sys.stdout)
        sys.stdout.write("\n")
    elif not matches:
        print("no reuse found")
    else:
        print_matches(a, b, matches)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.dir:
        paths = sorted(Path(args.dir).glob("*.txt"))
        texts = [(p.name, p.read_text(encoding="utf-8")) for p in paths]
    else:
        root = resources.files("wiretrace") / "samples"
        texts = sorted(
            (p.name, p.read_text(encoding="utf-8"))
            for p in root.iterdir()
            if p.name.endswith(".txt")
        )
    if not texts:
        raise InvalidInput("no .txt articles to compare")
    detector = Detector()
    docs = [(name, detector.prepare(text)) for name, text in texts]
    for k, (name_b, doc_b) in enumerate(docs):
        print(f"== {name_b}")
        for name_a, doc_a in docs[: k + 1]:
            matches = detector.compare(doc_b, doc_a)
            if matches:
                label = "repeated inside itself" if name_a == name_b else f"reused from {name_a}"
                print(f"-- {label}:")
                print_matches(doc_b.text, doc_a.text, matches)
    return 0


def _cmd_bench_quality(args: argparse.Namespace) -> int:
    from wiretrace.evaluation.pan import load_corpus, run_quality
    from wiretrace.evaluation.report import quality_table

    corpus = load_corpus(Path(args.corpus), Path(args.pairs) if args.pairs else None)
    out_dir = Path(args.out) if args.out else None
    progress = sys.stderr.isatty() and not args.json
    if args.in_process:
        report = run_quality(
            corpus, config=EngineConfig(), workers=args.workers, out_dir=out_dir, progress=progress
        )
    else:
        from wiretrace.evaluation.service_bench import local_server, rpc_comparer

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
    if args.json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(quality_table(report))
    return 0


def _cmd_bench_index(args: argparse.Namespace) -> int:
    from wiretrace.evaluation.report import index_table
    from wiretrace.evaluation.speed import news_sized_articles, run_index_speed

    articles = news_sized_articles(Path(args.corpus) if args.corpus else None, args.articles)
    report = run_index_speed(articles, EngineConfig(), repeats=args.repeats)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(index_table(report))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from wiretrace.server.config import ServerConfig
    from wiretrace.server.grpc_app import serve
    from wiretrace.server.logs import setup_logging

    setup_logging(args.log_level)
    flags = {
        name: getattr(args, name)
        for name in (
            "address",
            "data_dir",
            "store",
            "retention_days",
            "sweep_seconds",
            "max_text_chars",
            "max_message_bytes",
            "workers",
            "grace_seconds",
            "max_results",
            "max_candidates",
            "cache_articles",
            "min_match_tokens",
        )
    }
    config = ServerConfig.from_sources(flags)

    def ready(port: int) -> None:
        if args.port_file:
            tmp = Path(args.port_file + ".tmp")
            tmp.write_text(str(port))
            tmp.replace(args.port_file)

    serve(config, ready=ready)
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
    from wiretrace.evaluation.speed import news_sized_articles
    from wiretrace.evaluation.synthetic import SyntheticArticle, generate

    if args.corpus:
        path = Path(args.corpus)
        if path.is_file():
            rows = [
                json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line
            ]
            return [
                SyntheticArticle(str(r["id"]), str(r.get("outlet", "")), r["text"]) for r in rows
            ], None
        texts = (
            news_sized_articles(path, args.articles or 10**9)
            if (path / "src").is_dir()
            else [p.read_text(encoding="utf-8") for p in sorted(path.glob("*.txt"))]
        )
        return [SyntheticArticle(f"c{k:07d}", "", t) for k, t in enumerate(texts)], None
    articles, cases = generate(args.synthetic, seed=args.seed)
    return articles, cases


def _cmd_bench_ingest(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        return _bench_ingest(args, stack)


def _bench_ingest(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    import tempfile

    from wiretrace.evaluation.service_bench import bench_ingest, local_server, preload_index

    articles, cases = _bench_articles(args)
    progress = sys.stderr.isatty() and not args.json
    if args.server:
        report = bench_ingest(
            args.server, articles, cases=cases, concurrency=args.concurrency, progress=progress
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
                server_pid=proc.pid,
                progress=progress,
            )
    if args.baseline == "naive":
        from wiretrace.evaluation.naive import bench_naive

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

    from wiretrace.evaluation.service_bench import bench_query, bulk_load, local_server
    from wiretrace.evaluation.synthetic import generate

    articles, _ = generate(args.index_size + 200, seed=args.seed)
    texts = [a.text for a in articles[args.index_size :]]
    if args.server:
        report = bench_query(
            args.server, texts, requests=args.requests, concurrency=args.concurrency
        )
    else:
        with tempfile.TemporaryDirectory(prefix="wiretrace-query-") as tmp:
            bulk_load(Path(tmp), articles[: args.index_size])
            with local_server(Path(tmp)) as (address, _proc):
                report = bench_query(
                    address, texts, requests=args.requests, concurrency=args.concurrency
                )
    _print_report(report, args.json)
    return 0


def _cmd_bench_compare(args: argparse.Namespace) -> int:
    from wiretrace.evaluation.service_bench import bench_compare, compare_pairs, local_server

    pairs = compare_pairs(args.pairs, args.chars, seed=args.seed)
    if args.server:
        report = bench_compare(args.server, pairs)
    else:
        with local_server() as (address, _proc):
            report = bench_compare(address, pairs)
    _print_report(report, args.json)
    return 0


def _cmd_bench_restart(args: argparse.Namespace) -> int:
    from wiretrace.evaluation.service_bench import bench_restart

    _print_report(bench_restart(args.articles, repeats=args.repeats), args.json)
    return 0


def _cmd_bench_generate(args: argparse.Namespace) -> int:
    from wiretrace.evaluation.synthetic import generate, write_corpus

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} is not empty: pick a new folder for the corpus")
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


def _cmd_bench_redis(args: argparse.Namespace) -> int:
    from wiretrace.evaluation.redis_bench import bench_redis

    report = bench_redis(
        args.passages,
        datasketch_keys=args.datasketch_keys,
        replica_articles=args.replica_articles,
        repeats=args.repeats,
    )
    _print_report(report, args.json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wiretrace", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "serve",
        help="run the gRPC service on the embedded store",
        description="Each flag can also be set as WIRETRACE_<NAME> in the environment "
        "(e.g. WIRETRACE_DATA_DIR); flags win.",
    )
    p.add_argument("--address", help="HOST:PORT to listen on (default 127.0.0.1:50051)")
    p.add_argument("--data-dir", help="folder of the SQLite store (default ./wiretrace-data)")
    p.add_argument(
        "--store",
        help="redis://HOST:PORT/DB[?shard_bits=N]: a shared store (default: SQLite)",
    )
    p.add_argument("--retention-days", help="drop articles published longer ago (default: keep)")
    p.add_argument("--sweep-seconds", help="retention and health check period (default 5)")
    p.add_argument("--max-text-chars", help="longest article text (default 200000)")
    p.add_argument("--max-message-bytes", help="largest gRPC message (default 4 MiB)")
    p.add_argument("--workers", help="RPC threads (default 8)")
    p.add_argument("--grace-seconds", help="drain time on SIGTERM (default 10)")
    p.add_argument("--max-results", help="matches per answer by default (default 100)")
    p.add_argument("--max-candidates", help="source articles aligned per article (default 50)")
    p.add_argument("--cache-articles", help="prepared sources kept in memory (default 2048)")
    p.add_argument("--min-match-tokens", help="shortest reported passage in tokens (default 12)")
    p.add_argument("--port-file", help="write the bound port here once serving")
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("compare", help="print the passages two text files share")
    p.add_argument("a", help="first text file (UTF-8)")
    p.add_argument("b", help="second text file; the same file reports internal repeats")
    p.add_argument("--json", action="store_true", help='print {"matches": [...]} only')
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("demo", help="find reuse among sample articles, in-process")
    p.add_argument("dir", nargs="?", help="folder of .txt articles (default: bundled samples)")
    p.set_defaults(func=_cmd_demo)

    bench = sub.add_parser("bench", help="measure quality and speed").add_subparsers(
        dest="bench", required=True
    )
    p = bench.add_parser(
        "quality", help="score every pair of a PAN-13-layout corpus through the service"
    )
    p.add_argument("corpus", help="corpus folder with src/, susp/ and pairs")
    p.add_argument("--pairs", help="pairs file (default: CORPUS/pairs)")
    p.add_argument("--out", help="write one PAN XML of detections per pair here")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
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
    p.set_defaults(func=_cmd_bench_quality)

    p = bench.add_parser(
        "generate", help="write a synthetic news corpus with PAN-layout ground truth"
    )
    p.add_argument("out", help="new folder: src/, susp/, pairs, one folder per kind, JSONL")
    p.add_argument("--articles", type=int, default=2000, help="articles (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
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
    p.add_argument("--concurrency", type=int, default=1, help="parallel streams (default 1)")
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
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_query)

    p = bench.add_parser("compare", help="Compare RPC latency on pairs of articles")
    p.add_argument("--server", help="HOST:PORT of a running server (default: start one)")
    p.add_argument("--pairs", type=int, default=500, help="pairs compared (default 500)")
    p.add_argument("--chars", type=int, default=5000, help="characters per article (default 5000)")
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_compare)

    p = bench.add_parser("restart", help="time to serve again over a store of N articles")
    p.add_argument("--articles", type=int, default=100_000, help="articles in the store")
    p.add_argument("--repeats", type=int, default=3, help="restarts timed; the median is kept")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_restart)

    p = bench.add_parser(
        "redis", help="the Redis backend against datasketch's Redis storage, and replicas"
    )
    p.add_argument("--passages", type=int, default=100_000, help="passages to index")
    p.add_argument("--datasketch-keys", type=int, default=3000, help="keys for datasketch")
    p.add_argument(
        "--replica-articles", type=int, default=1000, help="articles ingested per replica run"
    )
    p.add_argument("--repeats", type=int, default=1, help="runs of ours; medians are kept")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_redis)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except WiretraceError as err:
        print(f"wiretrace: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
