"""Ingest articles in order and print what each one reuses, side by side.

    python -m wiretrace_client.example --address 127.0.0.1:50051 [FOLDER | FILE.jsonl]

Without a source it sends the sample articles bundled with wiretrace. Words of a
passage that also occur in the other passage are highlighted on a terminal.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import textwrap
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import TextIO

import grpc

from wiretrace_client import Client, article, articles_from_folder, articles_from_jsonl, pb

_WORD = re.compile(r"\w+", re.UNICODE)
_KIND = {
    pb.VERBATIM: "verbatim",
    pb.NEAR_VERBATIM: "near-verbatim",
    pb.REWORDED: "reworded",
    pb.QUOTE: "quote",
}


def _highlight(text: str, other: str, color: bool) -> str:
    if not color:
        return text
    shared = {w.casefold() for w in _WORD.findall(other)}
    return _WORD.sub(
        lambda m: f"\x1b[1;33m{m.group()}\x1b[0m" if m.group().casefold() in shared else m.group(),
        text,
    )


def _side_by_side(left: str, right: str, width: int, color: bool) -> Iterator[str]:
    col = max(20, (width - 3) // 2)
    a_lines = textwrap.wrap(" ".join(left.split()), col) or [""]
    b_lines = textwrap.wrap(" ".join(right.split()), col) or [""]
    for k in range(max(len(a_lines), len(b_lines))):
        a = a_lines[k] if k < len(a_lines) else ""
        b = b_lines[k] if k < len(b_lines) else ""
        pad = " " * (col - len(a))
        yield f"{_highlight(a, right, color)}{pad} | {_highlight(b, left, color)}"


def _sample_articles() -> Iterator[pb.Article]:
    root = resources.files("wiretrace_client") / "samples"
    outlets = {"01": "Northwire", "02": "Losberg Daily", "03": "The Valley Weekly"}
    for item in sorted(root.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".txt"):
            yield article(
                item.name[:-4],
                item.read_text(encoding="utf-8"),
                outlet=outlets.get(item.name[:2], ""),
            )


def report(
    client: Client, articles: Iterable[pb.Article], *, color: bool, out: TextIO = sys.stdout
) -> int:
    """Stream ``articles``; print every reuse. Returns the number of matches printed."""
    sent: dict[str, pb.Article] = {}
    width = min(160, shutil.get_terminal_size((120, 20)).columns)
    total = 0

    def remember(items: Iterable[pb.Article]) -> Iterator[pb.Article]:
        for a in items:
            sent[a.id] = a
            yield a

    for result in client.ingest_stream(remember(articles)):
        me = sent[result.id]
        if result.HasField("error"):
            code = grpc.StatusCode
            name = next((c.name for c in code if c.value[0] == result.error.code), "?")
            print(f"\n== {result.id}: not ingested ({name}): {result.error.message}", file=out)
            continue
        print(
            f"\n== {result.id} ({me.outlet or 'no outlet'}): "
            f"{len(result.matches)} reused passage(s), {result.reused_fraction:.0%} of the text "
            f"from {result.source_count} other article(s)",
            file=out,
        )
        for r in result.matches:
            source = (
                me if r.source_id == result.id else sent.get(r.source_id) or client.get(r.source_id)
            )
            where = (
                "repeated inside itself"
                if r.source_id == result.id
                else f"from {r.source_id} ({r.source_outlet})"
            )
            print(f"-- {_KIND.get(r.kind, '?')}, similarity {r.similarity:.2f}, {where}", file=out)
            mine = me.text[r.span.start : r.span.end]
            theirs = source.text[r.source_span.start : r.source_span.end]
            for line in _side_by_side(mine, theirs, width, color):
                print("   " + line, file=out)
            total += 1
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", help="folder of .txt files or a .jsonl file")
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args(argv)
    if args.source is None:
        articles: Iterable[pb.Article] = _sample_articles()
    elif Path(args.source).is_dir():
        articles = articles_from_folder(args.source)
    else:
        articles = articles_from_jsonl(args.source)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    with Client(args.address) as client:
        found = report(client, articles, color=color)
        stats = client.stats()
    print(
        f"\n{found} reused passage(s) found; the index holds {stats.articles} articles, "
        f"{stats.passages} passages."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
