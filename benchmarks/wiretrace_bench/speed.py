"""Signing and indexing speed on one core, for news-sized articles.

Passages per second counts everything a new article costs before any query:
normalise, tokenise, terms, units, MinHash signatures, and insertion into the band index.
The signing and indexing alone (signatures, band keys, index insert: the compiled core's
share, from the units' term sets) is timed apart as well.
datasketch's ``MinHashLSH`` is timed on the same signatures in the same run, so the
ratio is immune to how busy the machine is.
"""

from __future__ import annotations

import random
import statistics
import time
from importlib import resources
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

from wiretrace.domain import index_spec
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector
from wiretrace.engine.signature import signatures
from wiretrace.store.band_index import PassageIndex

__all__ = ["news_sized_articles", "run_index_speed"]

ARTICLE_CHARS = 3000


def _cut(text: str, size: int) -> list[str]:
    out, cur = [], ""
    for para in text.split("\n"):
        cur = f"{cur}\n{para}" if cur else para
        if len(cur) >= size:
            out.append(cur)
            cur = ""
    return out


def news_sized_articles(corpus: Path | None, count: int, *, seed: int = 7) -> list[str]:
    """``count`` texts of about 3,000 characters.

    From a PAN-layout corpus when one is given (its documents cut at paragraph ends),
    otherwise built from the bundled sample sentences with a seeded shuffle and
    word swaps, so that every article is different.
    """
    if corpus is not None:
        out: list[str] = []
        for path in sorted((corpus / "susp").glob("*.txt")) + sorted(
            (corpus / "src").glob("*.txt")
        ):
            out.extend(_cut(path.read_text(encoding="utf-8"), ARTICLE_CHARS))
            if len(out) >= count:
                return out[:count]
        return out
    root = resources.files("wiretrace_client") / "samples"
    sentences = [
        s.strip() + "."
        for p in root.iterdir()
        if p.name.endswith(".txt")
        for s in p.read_text(encoding="utf-8").replace("\n", " ").split(". ")
        if s.strip()
    ]
    vocabulary = sorted({w for s in sentences for w in s.split()})
    rng = random.Random(seed)
    articles = []
    for _ in range(count):
        body: list[str] = []
        while sum(len(s) for s in body) < ARTICLE_CHARS:
            words = rng.choice(sentences).split()
            for _ in range(3):
                words[rng.randrange(len(words))] = rng.choice(vocabulary)
            body.append(" ".join(words))
        articles.append("\n".join(body))
    return articles


def run_index_speed(
    articles: list[str], config: EngineConfig, *, repeats: int = 5
) -> dict[str, object]:
    """Time signing + indexing ``articles`` ``repeats`` times; report medians."""
    detector = Detector(config)
    spec = index_spec(config)
    sign_s: list[float] = []
    index_s: list[float] = []
    core_s: list[float] = []
    core_cpu_s: list[float] = []
    passage_count = 0
    sigs_all = np.empty((0, config.num_perm), dtype=np.uint32)
    for _ in range(repeats):
        t0 = time.perf_counter()
        docs = [detector.prepare(text) for text in articles]
        t1 = time.perf_counter()
        index = PassageIndex(bands=spec.bands, num_perm=config.num_perm)
        next_key = 0
        for doc in docs:
            # As the service does: units without content terms are not indexed.
            passages = spec.passages(doc.signatures)
            n = len(passages.units)
            rows = doc.signatures[passages.units]
            index.insert(np.arange(next_key, next_key + n), passages.band_keys, rows)
            next_key += n
        t2 = time.perf_counter()
        c2 = time.process_time()
        again = PassageIndex(bands=spec.bands, num_perm=config.num_perm)
        next_key = 0
        for doc in docs:
            sigs = signatures(doc.units.features, num_perm=config.num_perm, seed=config.seed)
            passages = spec.passages(sigs)
            n = len(passages.units)
            rows = sigs[passages.units]
            again.insert(np.arange(next_key, next_key + n), passages.band_keys, rows)
            next_key += n
        t3 = time.perf_counter()
        core_cpu_s.append(time.process_time() - c2)
        sign_s.append(t1 - t0)
        index_s.append(t2 - t1)
        core_s.append(t3 - t2)
        passage_count = next_key
        sigs_all = np.concatenate([d.signatures for d in docs])

    # datasketch's MinHashLSH on the same signatures, same (b, r).
    sample = sigs_all[: min(len(sigs_all), 20000)]
    template = MinHash(num_perm=config.num_perm, seed=config.seed)
    minhashes = [
        MinHash(hashvalues=row, permutations=template.permutations, scheme=template.scheme)
        for row in sample
    ]
    lsh = MinHashLSH(num_perm=config.num_perm, params=(spec.bands, spec.rows))
    t0 = time.perf_counter()
    for k, m in enumerate(minhashes):
        lsh.insert(k, m, check_duplication=False)
    lsh_s = time.perf_counter() - t0

    sign = statistics.median(sign_s)
    ins = statistics.median(index_s)
    core = statistics.median(core_s)
    core_cpu = statistics.median(core_cpu_s)
    ours_us = ins / passage_count * 1e6 if passage_count else 0.0
    theirs_us = lsh_s / len(sample) * 1e6 if len(sample) else 0.0
    return {
        "articles": len(articles),
        "passages": passage_count,
        "repeats": repeats,
        "median_sign_s": round(sign, 4),
        "median_index_s": round(ins, 4),
        "passages_per_s": round(passage_count / (sign + ins), 1) if passage_count else 0.0,
        "articles_per_s": round(len(articles) / (sign + ins), 1) if articles else 0.0,
        "median_sign_and_index_only_s": round(core, 4),
        "sign_and_index_only_passages_per_s": round(passage_count / core, 1) if core else 0.0,
        # CPU time of this process: on a shared, busy machine, wall time counts the
        # waits for a core too.
        "sign_and_index_only_passages_per_cpu_s": round(passage_count / core_cpu, 1)
        if core_cpu
        else 0.0,
        "index_bytes_per_passage": round(index.memory_bytes() / passage_count, 1)
        if passage_count
        else 0.0,
        "band_index_us_per_passage": round(ours_us, 3),
        "datasketch_lsh_us_per_passage": round(theirs_us, 3),
        "index_speedup_vs_datasketch": round(theirs_us / ours_us, 2) if ours_us else 0.0,
        "bands": spec.bands,
        "rows": spec.rows,
        "num_perm": config.num_perm,
    }
