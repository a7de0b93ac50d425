"""The pipeline a newcomer would write with the same libraries, as the baseline.

- one datasketch ``MinHash`` per paragraph, fed token by token with ``update``;
- a datasketch ``MinHashLSH`` over every paragraph seen (paragraphs of the same
  article included, so repeats inside an article are found too);
- ``rapidfuzz.fuzz.partial_ratio_alignment`` between a paragraph and each candidate
  for the spans, kept when its score reaches ``min_score``.

It runs in this process, without gRPC or storage, so it is measured at its fastest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH
from rapidfuzz import fuzz

from wiretrace_bench.synthetic import Case, SyntheticArticle

__all__ = ["NaiveMatch", "NaivePipeline", "bench_naive"]


@dataclass(frozen=True, slots=True)
class NaiveMatch:
    source_id: str
    start: int
    end: int
    source_start: int
    source_end: int


class NaivePipeline:
    def __init__(
        self, *, threshold: float = 0.5, num_perm: int = 64, min_score: float = 80.0
    ) -> None:
        self.num_perm = num_perm
        self.min_score = min_score
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.paragraphs: dict[str, tuple[str, int, str]] = {}

    def ingest(self, article_id: str, text: str) -> list[NaiveMatch]:
        """Matches of ``text`` against every paragraph seen, then remember its own."""
        found: list[NaiveMatch] = []
        offset = 0
        for k, paragraph in enumerate(text.split("\n")):
            start = offset
            offset += len(paragraph) + 1
            tokens = paragraph.lower().split()
            if not tokens:
                continue
            m = MinHash(num_perm=self.num_perm)
            for token in tokens:
                m.update(token.encode("utf-8"))
            for key in self.lsh.query(m):
                source_id, source_start, source_text = self.paragraphs[key]
                a = fuzz.partial_ratio_alignment(paragraph, source_text)
                if a is None or a.score < self.min_score:
                    continue
                found.append(
                    NaiveMatch(
                        source_id,
                        start + a.src_start,
                        start + a.src_end,
                        source_start + a.dest_start,
                        source_start + a.dest_end,
                    )
                )
            key = f"{article_id}\x00{k}"
            self.lsh.insert(key, m)
            self.paragraphs[key] = (article_id, start, paragraph)
        return found


def bench_naive(
    articles: list[SyntheticArticle], cases: list[Case] | None = None
) -> dict[str, object]:
    """Articles per second of the naive pipeline, and its quality on ``cases``."""
    from wiretrace_bench.plagdet import Annotation
    from wiretrace_bench.service_bench import quality_scores
    from wiretrace_bench.stats import percentiles

    pipeline = NaivePipeline()
    found: list[Annotation] = []
    latencies: list[float] = []
    t0 = time.perf_counter()
    for a in articles:
        t = time.perf_counter()
        matches = pipeline.ingest(a.id, a.text)
        latencies.append((time.perf_counter() - t) * 1e3)
        found.extend(
            Annotation((a.id, m.source_id), (m.start, m.end), (m.source_start, m.source_end))
            for m in matches
        )
    seconds = time.perf_counter() - t0
    report: dict[str, object] = {
        "articles": len(articles),
        "seconds": round(seconds, 3),
        "articles_per_s": round(len(articles) / seconds, 1),
        **percentiles(latencies),
        "matches": len(found),
    }
    if cases is not None:
        report["quality"] = quality_scores(cases, found)
    return report
