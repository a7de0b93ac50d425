"""What a common paragraph costs an ingest (issue 11: boilerplate never makes a lookup
slower).

``sharing`` stored articles each hold a story of their own and the same paragraph (a
newsletter prompt). Then new articles are ingested in turn: one holding that paragraph,
one holding a paragraph of its own of the same length, alternately, each with a story
of its own. The ratio of their median ingest times is the cost of the common paragraph;
it is measured with the index's bucket cap (``boilerplate_articles``) and, in the same
run, without it (a cap above ``sharing``).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from wiretrace.domain import Article, DetectOptions, ReuseService, ServiceSettings, text_sha256
from wiretrace.engine.config import EngineConfig
from wiretrace.store import ArticleRecord, Row, open_store
from wiretrace_bench.synthetic import Writer, vocabulary

__all__ = ["bench_boilerplate"]

PROMPT = (
    "Sign up for the morning briefing: the day's top stories from the region, "
    "delivered to your inbox before seven, free of charge. Reporting by the city desk."
)


def _story(writer: Writer) -> str:
    return "\n\n".join(writer.paragraph() for _ in range(4))


def _ingest_ms(service: ReuseService, article: Article) -> float:
    t = time.perf_counter()
    service.ingest(article, DetectOptions())
    return (time.perf_counter() - t) * 1000


def _run(sharing: int, probes: int, cap: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    writer = Writer(rng, vocabulary(random.Random(seed), 20_000))
    settings = ServiceSettings(engine=EngineConfig(boilerplate_articles=cap))
    with tempfile.TemporaryDirectory(prefix="wiretrace-boilerplate-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'articles.db'}", settings.index)
        service = ReuseService(settings, store)
        rows = []
        for k in range(sharing):
            text = f"{_story(writer)}\n\n{PROMPT}"
            doc = service.detector.prepare(text)
            sigs = doc.stored_signatures
            record = ArticleRecord(f"old{k}", "outlet", "", None, "", text)
            rows.append(Row(record, text_sha256(text), sigs, settings.index.passages(sigs)))
            if len(rows) == 1000:
                store.insert_many(rows)
                rows = []
        if rows:
            store.insert_many(rows)
        shared: list[float] = []
        own: list[float] = []
        for k in range(probes):
            story = _story(writer)
            shared.append(
                _ingest_ms(service, Article(f"s{k}", "", "", None, "", f"{story}\n\n{PROMPT}"))
            )
            mine = " ".join(writer.sentence() for _ in range(3))[: len(PROMPT)]
            own.append(
                _ingest_ms(
                    service, Article(f"o{k}", "", "", None, "", f"{_story(writer)}\n\n{mine}")
                )
            )
        service.close()
    return {
        "shared_ms_p50": round(statistics.median(shared), 2),
        "own_ms_p50": round(statistics.median(own), 2),
        "ratio": round(statistics.median(shared) / statistics.median(own), 3),
    }


def bench_boilerplate(sharing: int = 10_000, probes: int = 60, seed: int = 5) -> dict[str, object]:
    """Median ingest time of an article holding a paragraph that ``sharing`` stored
    articles hold, against one holding a paragraph of its own, with the bucket cap
    and without it."""
    capped = _run(sharing, probes, EngineConfig().boilerplate_articles, seed)
    uncapped = _run(sharing, probes, sharing * 2, seed)
    return {
        "sharing_articles": sharing,
        "probes": probes,
        "cap": EngineConfig().boilerplate_articles,
        "with_cap": capped,
        "without_cap": uncapped,
        "target_ratio": 1.2,
        "met": capped["ratio"] <= 1.2,
    }
