"""Every answer of ``ReuseService.ingest`` and ``query`` over generated articles, as
text to compare between two builds: ``python -m wiretrace_bench.ingest_dump OUT.json``
under each build's interpreter, then ``cmp`` the two files (the check of RESULTS.md,
"Issue 13: ingest and query, second pass").

1,200 articles (seed 7) ingested one after another into an empty embedded store, 150
queries with varied options (offset units, ``min_tokens``, ``exclude_same_outlet``),
30 ingests again of stored articles and 15 replacements: the ``repr`` of every match
and verdict, and the store's counts at the end.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from wiretrace.domain import (
    Article,
    Detection,
    DetectOptions,
    OffsetUnit,
    ReuseService,
    ServiceSettings,
)
from wiretrace.store import open_store
from wiretrace_bench.synthetic import generate

__all__ = ["dump_answers"]

UNITS = [OffsetUnit.CODE_POINTS, OffsetUnit.UTF16_CODE_UNITS, OffsetUnit.UTF8_BYTES]


def dump_answers(articles: int = 1200, queries: int = 150, *, seed: int = 7) -> list[object]:
    """The answers described above, as JSON-ready lists."""
    out: list[object] = []

    def add(tag: object, d: Detection) -> None:
        out.append(
            [
                tag,
                repr(d.reused_fraction),
                d.source_count,
                d.boilerplate_suppressed,
                [repr(m) for m in d.matches],
                [repr(s) for s in d.sources],
            ]
        )

    generated, _ = generate(articles + queries, seed=seed)
    with tempfile.TemporaryDirectory(prefix="wiretrace-dump-") as tmp:
        settings = ServiceSettings()
        service = ReuseService(
            settings, open_store(f"sqlite:///{Path(tmp) / 'a.db'}", settings.index)
        )
        try:
            for a in generated[:articles]:
                o = service.ingest(Article(a.id, a.outlet, "", None, "", a.text), DetectOptions())
                add([a.id, o.created], o.detection)
            for k, a in enumerate(generated[articles:]):
                options = DetectOptions(
                    offset_unit=UNITS[k % 3], min_tokens=k % 7, exclude_same_outlet=bool(k % 2)
                )
                query = Article("", a.outlet, "", None, "", a.text)
                add(["q", a.id], service.query(query, options))
            for a in generated[:30]:  # stored already: created False
                o = service.ingest(Article(a.id, a.outlet, "", None, "", a.text), DetectOptions())
                add([a.id, o.created], o.detection)
            for a, b in zip(generated[30:45], generated[45:60], strict=True):
                replaced = Article(a.id, a.outlet, "", None, "", b.text)
                o = service.ingest(replaced, DetectOptions(), replace=True)
                add([a.id, o.created, "replaced"], o.detection)
            stats = service.stats()
            out.append(["stats", stats.articles, stats.passages])
        finally:
            service.close()
    return out


if __name__ == "__main__":
    answers = dump_answers()
    Path(sys.argv[1]).write_text(json.dumps(answers))
    matches = sum(len(x[4]) for x in answers if isinstance(x, list) and len(x) > 4)
    print(f"{len(answers)} answers, {matches} matches")
