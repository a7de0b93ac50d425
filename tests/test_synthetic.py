"""The synthetic news generator and the service benchmarks built on it."""

from __future__ import annotations

import json

import pytest

from wiretrace.cli import main
from wiretrace.evaluation.synthetic import generate


def test_generator_is_deterministic_and_its_cases_slice_back() -> None:
    a1, c1 = generate(120, seed=4)
    a2, c2 = generate(120, seed=4)
    assert a1 == a2
    assert c1 == c2
    assert generate(120, seed=5)[0] != a1
    texts = {a.id: a.text for a in a1}
    kinds = {c.kind for c in c1}
    assert kinds == {"verbatim", "reworded", "quote", "repeat"}
    for c in c1:
        mine, theirs = (
            texts[c.article][c.start : c.end],
            texts[c.source][c.source_start : c.source_end],
        )
        assert mine.strip()
        assert theirs.strip()
        if c.kind in ("verbatim", "quote"):
            assert mine == theirs
        if c.kind == "repeat":
            assert c.article == c.source
            assert c.source_end <= c.start
        else:
            assert c.source < c.article  # reuse only from earlier articles


def test_bench_ingest_runs_through_a_real_server_and_scores_quality(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "ingest", "--synthetic", "60", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["articles"] == 60
    assert report["index_articles"] == 60
    assert report["articles_per_s"] > 0
    assert report["p99_ms"] >= report["p50_ms"] > 0
    assert report["server_rss_bytes"] > 0
    assert report["quality"]["cases"] > 0
    assert report["quality"]["recall"] > 0.8


def test_bench_redis_compares_with_datasketch_and_runs_replicas(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "redis", "--passages", "1500", "--datasketch-keys", "200"]
    assert main([*args, "--replica-articles", "30", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ours, theirs = report["wiretrace"], report["datasketch_redis"]
    assert ours["passages"] > 1000
    assert ours["inserts_per_s"] > 0
    assert ours["query_hits"] >= ours["passages"]  # every passage finds at least itself
    assert 0 < ours["bytes_per_passage"] < 100_000
    assert theirs["keys"] == 200
    assert theirs["bytes_per_key"] > 0
    assert report["insert_ratio"] > 0
    for replicas in ("replicas_1", "replicas_2"):
        assert report["ingest"][replicas]["articles_per_s"] > 0
        assert report["ingest"][replicas]["matches"] > 0
