"""The candidate check from the embedded store's sketches ranks as the check from the
stored signatures does (the path every store without sketches takes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from wiretrace.domain.candidates import index_spec, rank_candidates
from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector
from wiretrace.store.base import ArticleRecord, Row
from wiretrace.store.sqlite import SqliteStore
from wiretrace_bench.synthetic import generate


def test_sketched_candidates_equal_the_candidates_from_stored_signatures(
    tmp_path: Path, detector: Detector
) -> None:
    config = EngineConfig()
    spec = index_spec(config)
    articles, _ = generate(80, seed=11)
    store = SqliteStore(tmp_path / "s.db", spec)
    rows = []
    for a in articles:
        sigs = detector.prepare(a.text).stored_signatures
        record = ArticleRecord(a.id, a.outlet, "", None, "en", a.text)
        sha = hashlib.sha256(a.text.encode()).hexdigest()
        rows.append(Row(record, sha, sigs, spec.passages(sigs)))
    keys = store.insert_many(rows)
    nonempty = 0
    for key, row in zip(keys, rows, strict=True):
        bands, units = row.passages.band_keys, row.passages.units
        sketched = store.lookup_sketched(bands, row.signatures[units], max_bucket=500)
        plain = store.lookup(bands, max_bucket=500)
        assert sketched.agree is not None
        assert plain.agree is None
        assert sketched.found == plain.found
        assert sketched.capped == plain.capped
        ours = rank_candidates(
            row.signatures,
            row.passages,
            sketched,
            store.signatures_many,
            min_jaccard=config.candidate_threshold,
            exclude_key=key,
        )
        theirs = rank_candidates(
            row.signatures,
            row.passages,
            plain,
            store.signatures_many,
            min_jaccard=config.candidate_threshold,
            exclude_key=key,
        )
        assert ours == theirs
        nonempty += bool(ours)
    assert nonempty > 20  # the generator copies passages between articles
    store.close()
