"""Labelled matches for calibrating a match's ``confidence`` (issue 11).

One row per match a detector reported on a PAN-layout corpus with ground truth (best
one from ``bench generate --hard``): where it is, what the detector said of it, features
computed from the two texts, and its label: 1 when it overlaps a true case of its pair
on both sides, else 0. Offsets are half-open code-point ranges, so every feature can be
recomputed from the corpus.

Row fields:

- ``article``, ``source``, ``category``: the pair's file names and corpus category;
- ``a_start``, ``a_end``, ``b_start``, ``b_end``: the match in the article and source;
- ``similarity``, ``kind``: as the detector reported them;
- ``a_tokens``, ``b_tokens``: words (``\\w+`` runs) in each span;
- ``a_share``: the span's share of the article's characters;
- ``shared_5gram_share``: share of the article span's words inside word 5-grams that
  also occur in the source span (exact runs of five words or more);
- ``longest_run``: the longest run of identical words the two spans share;
- ``a_quoted_share``, ``b_quoted_share``: share of each span's characters inside
  quotation marks of any style in ``events.QUOTE_MARKS``; ``in_quotes`` when the
  article side's share is at least half;
- ``label``; ``case_kind``: the kind of the true case it overlaps most ("" for none).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import cast

from wiretrace.engine.detect import Match
from wiretrace.engine.spans import overlaps, union_length
from wiretrace_bench.events import QUOTE_MARKS
from wiretrace_bench.ngrams import shared_spans, word_spans, words
from wiretrace_bench.pan import Corpus, Pair
from wiretrace_bench.plagdet import Annotation, Range

__all__ = ["label_rows", "quoted_regions", "write_labels"]

_CLOSER = dict(QUOTE_MARKS)


def quoted_regions(text: str) -> list[Range]:
    """The ranges inside quotation marks (marks excluded), scanned left to right: an
    opening mark of any style opens a quote that the first closing mark of the same
    style ends (no nesting; a quote never closed is dropped). „…“ and ‚…‘ close with
    marks that open other styles, which the scan allows for."""
    out: list[Range] = []
    k = 0
    while k < len(text):
        closer = _CLOSER.get(text[k])
        if closer is not None:
            end = text.find(closer, k + 1)
            if end < 0:
                k += 1
                continue
            out.append((k + 1, end))
            k = end + 1
        else:
            k += 1
    return out


def _share_inside(span: Range, regions: Sequence[Range]) -> float:
    length = span[1] - span[0]
    if length <= 0:
        return 0.0
    clipped = ((max(s, span[0]), min(e, span[1])) for s, e in regions)
    return union_length(clipped) / length


def _word_share(text: str, covered: Sequence[Range]) -> float:
    spans = word_spans(text)
    if not spans:
        return 0.0
    inside = sum(any(s >= c0 and e <= c1 for c0, c1 in covered) for s, e in spans)
    return inside / len(spans)


def _longest_run(a: str, b: str) -> int:
    wa, wb = words(a), words(b)
    return SequenceMatcher(None, wa, wb, autojunk=False).find_longest_match().size


def _label(m: Match, truth: Sequence[Annotation]) -> tuple[int, str]:
    hits = [
        c
        for c in truth
        if overlaps(m.a_start, m.a_end, *c.susp) and overlaps(m.b_start, m.b_end, *c.src)
    ]
    if not hits:
        return 0, ""
    best = max(hits, key=lambda c: min(m.a_end, c.susp[1]) - max(m.a_start, c.susp[0]))
    return 1, best.kind


def label_rows(
    corpus: Corpus, matches: Mapping[Pair, Sequence[Match]]
) -> Iterator[dict[str, object]]:
    """One row per match of ``matches`` (pairs of ``corpus``, matches seen from the
    pair's first text), in the corpus's pair order."""
    category = {p: name for name, members in corpus.categories.items() for p in members}
    truth: dict[Pair, list[Annotation]] = {}
    for c in corpus.cases:
        truth.setdefault(cast(Pair, c.pair), []).append(c)
    for pair in corpus.pairs:
        found = matches.get(pair, ())
        if not found:
            continue
        a = (corpus.root / "susp" / pair[0]).read_text(encoding="utf-8")
        b = (corpus.root / "src" / pair[1]).read_text(encoding="utf-8")
        quoted_a, quoted_b = quoted_regions(a), quoted_regions(b)
        for m in found:
            mine, theirs = a[m.a_start : m.a_end], b[m.b_start : m.b_end]
            label, case_kind = _label(m, truth.get(pair, []))
            a_quoted = _share_inside((m.a_start, m.a_end), quoted_a)
            yield {
                "article": pair[0],
                "source": pair[1],
                "category": category.get(pair, ""),
                "a_start": m.a_start,
                "a_end": m.a_end,
                "b_start": m.b_start,
                "b_end": m.b_end,
                "similarity": round(m.similarity, 4),
                "kind": m.kind.value,
                "a_tokens": len(words(mine)),
                "b_tokens": len(words(theirs)),
                "a_share": round((m.a_end - m.a_start) / len(a), 4) if a else 0.0,
                "shared_5gram_share": round(_word_share(mine, shared_spans(mine, theirs)), 4),
                "longest_run": _longest_run(mine, theirs),
                "a_quoted_share": round(a_quoted, 4),
                "b_quoted_share": round(_share_inside((m.b_start, m.b_end), quoted_b), 4),
                "in_quotes": a_quoted >= 0.5,
                "label": label,
                "case_kind": case_kind,
            }


def write_labels(
    path: Path, corpus: Corpus, matches: Mapping[Pair, Sequence[Match]]
) -> dict[str, object]:
    """Write ``label_rows`` as JSONL to ``path``; return a summary: rows, positives,
    and rows and positives per detected kind."""
    rows = 0
    positives = 0
    by_kind: dict[str, dict[str, int]] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for row in label_rows(corpus, matches):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows += 1
            positives += cast(int, row["label"])
            counts = by_kind.setdefault(cast(str, row["kind"]), {"rows": 0, "positives": 0})
            counts["rows"] += 1
            counts["positives"] += cast(int, row["label"])
    return {"rows": rows, "positives": positives, "by_kind": by_kind, "labels": str(path)}
