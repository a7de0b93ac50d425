"""The ``wiretrace`` console command.

    wiretrace serve [--address HOST:PORT] [--data-dir DIR] [...]
    wiretrace compare A.txt B.txt [--json]
    wiretrace demo [DIR]
    wiretrace bench quality CORPUS_DIR [--pairs FILE] [--out DIR] [--json] [--workers N]
    wiretrace bench index [--corpus DIR] [--articles N] [--json]

Errors of the ``WiretraceError`` family become a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector, Match
from wiretrace.errors import InvalidInput, WiretraceError

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


def print_matches(a: str, b: str, matches: Sequence[Match], *, out: object = None) -> None:
    stream = out or sys.stdout
    for m in matches:
        print(
            f"[{m.kind.value}, similarity {m.similarity:.2f}] "
            f"A[{m.a_start}:{m.a_end}] ~ B[{m.b_start}:{m.b_end}]",
            file=stream,  # type: ignore[arg-type]
        )
        print(f"  A: {_excerpt(a, m.a_start, m.a_end)}", file=stream)  # type: ignore[arg-type]
        print(f"  B: {_excerpt(b, m.b_start, m.b_end)}", file=stream)  # type: ignore[arg-type]


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
    report = run_quality(
        corpus,
        config=EngineConfig(),
        workers=args.workers,
        out_dir=Path(args.out) if args.out else None,
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
            "max_text_chars",
            "max_message_bytes",
            "workers",
            "grace_seconds",
            "max_results",
            "max_candidates",
            "cache_articles",
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
    p.add_argument("--max-text-chars", help="longest article text (default 200000)")
    p.add_argument("--max-message-bytes", help="largest gRPC message (default 4 MiB)")
    p.add_argument("--workers", help="RPC threads (default 8)")
    p.add_argument("--grace-seconds", help="drain time on SIGTERM (default 10)")
    p.add_argument("--max-results", help="matches per answer by default (default 100)")
    p.add_argument("--max-candidates", help="source articles aligned per article (default 50)")
    p.add_argument("--cache-articles", help="prepared sources kept in memory (default 2048)")
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
    p = bench.add_parser("quality", help="score every pair of a PAN-13-layout corpus")
    p.add_argument("corpus", help="corpus folder with src/, susp/ and pairs")
    p.add_argument("--pairs", help="pairs file (default: CORPUS/pairs)")
    p.add_argument("--out", help="write one PAN XML of detections per pair here")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.set_defaults(func=_cmd_bench_quality)

    p = bench.add_parser("index", help="passages signed and indexed per second, one core")
    p.add_argument("--corpus", help="PAN-layout corpus whose texts are cut into articles")
    p.add_argument("--articles", type=int, default=2000, help="number of articles (default 2000)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is kept")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_bench_index)
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
