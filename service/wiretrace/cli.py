"""The ``wiretrace`` console command.

    wiretrace serve [--address HOST:PORT] [--data-dir DIR | --store redis://...] [...]
    wiretrace compare A.txt B.txt [--json]
    wiretrace demo [DIR]
    wiretrace bench ...      (the benchmarks: wiretrace_bench.cli)

Errors of the ``WiretraceError`` family become a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TextIO

from wiretrace.engine.confidence import derived_share, verdict
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


def print_matches(a: str, b: str, matches: Sequence[Match], *, out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    for m in matches:
        print(
            f"[{m.kind.value}, similarity {m.similarity:.2f}, confidence {m.confidence:.2f}] "
            f"A[{m.a_start}:{m.a_end}] ~ B[{m.b_start}:{m.b_end}]",
            file=stream,
        )
        print(f"  A: {_excerpt(a, m.a_start, m.a_end)}", file=stream)
        print(f"  B: {_excerpt(b, m.b_start, m.b_end)}", file=stream)


def _cmd_compare(args: argparse.Namespace) -> int:
    a, b = _read(args.a), _read(args.b)
    matches = Detector().compare(a, b)
    # Equal texts are compared as one text (its repeats): nothing derives.
    share = derived_share(len(a), matches) if a != b else 0.0
    judged = verdict(share)
    if args.json:
        json.dump(
            {
                "matches": [m.as_dict() for m in matches],
                "derived_share": round(share, 4),
                "verdict": judged.value,
            },
            sys.stdout,
        )
        sys.stdout.write("\n")
        return 0
    if not matches:
        print("no reuse found")
    else:
        print_matches(a, b, matches)
    print(f"A derives from B: {judged.value} (derived share {share:.3f})")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.dir:
        paths = sorted(Path(args.dir).glob("*.txt"))
        texts = [(p.name, p.read_text(encoding="utf-8")) for p in paths]
    else:
        root = resources.files("wiretrace_client") / "samples"
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


def _cmd_serve(args: argparse.Namespace) -> int:
    from wiretrace.server.config import ENGINE_SETTINGS, SERVER_SETTINGS, ServerConfig
    from wiretrace.server.grpc_app import serve
    from wiretrace.server.logs import setup_logging

    flags = {s.name: getattr(args, s.name) for s in (*SERVER_SETTINGS, *ENGINE_SETTINGS)}
    config = ServerConfig.from_sources(flags)
    setup_logging(config.log_level.upper())

    def ready(port: int) -> None:
        if config.port_file:
            tmp = Path(config.port_file + ".tmp")
            tmp.write_text(str(port))
            tmp.replace(config.port_file)

    left = serve(config, ready=ready)
    # Everything of ours is closed and logged. The interpreter's own teardown (gRPC's
    # core threads, a worker thread that ignored its cancellation) took up to a second
    # more on a loaded machine, and SIGTERM must end the server within its grace.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if left else 0)


def _add_settings(p: argparse.ArgumentParser) -> None:
    """One flag per setting of the server's table; values are parsed and checked by
    ``ServerConfig.from_sources``, with the environment as fallback."""
    from wiretrace.server.config import ENGINE_SETTINGS, SERVER_SETTINGS

    for title, table in (("server", SERVER_SETTINGS), ("engine", ENGINE_SETTINGS)):
        group = p.add_argument_group(f"{title} settings")
        for s in table:
            help = f"{s.help} (default {s.shown}; env {s.env})"
            if s.kind is bool:  # a switch: present means true
                group.add_argument(s.flag, dest=s.name, action="store_const", const=True, help=help)
            else:
                group.add_argument(s.flag, dest=s.name, metavar=s.kind.__name__.upper(), help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wiretrace", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "serve",
        help="run the gRPC service (embedded SQLite store, or Redis with --store)",
        description="Each flag can also be set as WIRETRACE_<NAME> in the environment "
        "(e.g. WIRETRACE_DATA_DIR); flags win.",
    )
    _add_settings(p)
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
    try:
        from wiretrace_bench.cli import register
    except ImportError as err:  # an install without the benchmark package
        missing = str(err)

        def unavailable(_args: argparse.Namespace) -> int:
            raise InvalidInput(f"the benchmarks are not installed ({missing})")

        bench.add_parser("generate", help="(not installed)").set_defaults(func=unavailable)
    else:
        register(bench)
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
