"""Smoke tests of the benchmark package: the synthetic news generator, and every
``wiretrace bench`` command on small inputs through real servers. A group of their
own (``pytest -m bench``), run by ./scripts/check after the unit suite."""

from __future__ import annotations

import json
import os
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

import grpc
import pytest

from wiretrace import EngineConfig
from wiretrace.cli import main
from wiretrace.domain import index_spec
from wiretrace_bench.pan import load_corpus
from wiretrace_bench.synthetic import generate

from .helpers import rate_of

pytestmark = pytest.mark.bench


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
    low, high = rate_of(60, report["seconds"])
    assert low <= report["articles_per_s"] <= high
    assert report["p99_ms"] >= report["p95_ms"] >= report["p50_ms"]
    assert report["server_rss_bytes"] > 20 * 2**20  # a Python server's resident size
    assert report["server_cpu_ms_per_article"] > 0.1
    assert report["quality"]["cases"] > 0
    assert report["quality"]["recall"] > 0.8
    assert report["articles_written"] == 60
    assert 1 <= report["write_transactions"] <= 60


def test_bench_ingest_sends_batches_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "ingest", "--synthetic", "45", "--concurrency", "2", "--batch", "10"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # 23 and 22 articles a caller: three calls each.
    assert (report["batch"], report["calls"], report["answered"]) == (10, 6, 45)
    assert report["index_articles"] == 45
    assert report["quality"]["recall"] > 0.8
    assert report["p99_ms"] >= report["p50_ms"] > 0


def test_bench_redis_compares_with_datasketch_and_runs_replicas(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "redis", "--passages", "1500", "--datasketch-keys", "200"]
    assert main([*args, "--replica-articles", "30", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ours, theirs = report["wiretrace"], report["datasketch_redis"]
    assert ours["passages"] > 1000
    low, high = rate_of(ours["passages"], ours["insert_seconds"], error=5e-5)
    assert low <= ours["inserts_per_s"] <= high
    assert ours["query_hits"] >= ours["passages"]  # every passage finds at least itself
    assert 0 < ours["bytes_per_passage"] < 100_000
    assert theirs["keys"] == 200
    ceiling = report["redis_ceiling"]
    assert ceiling["hsetnx_passages_per_s"] * 21 == pytest.approx(ceiling["hsetnx_per_s"], rel=0.01)
    assert theirs["bytes_per_key"] > 0
    for replicas in ("replicas_1", "replicas_2"):
        assert report["ingest"][replicas]["matches"] > 0


def test_bench_redis_cluster_reports_cost_and_spread_per_primary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "redis", "--cluster", "--passages", "1500", "--masters", "1,3", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    for masters in (1, 3):
        run = report[f"masters_{masters}"]
        assert run["masters"] == masters
        assert len(run["commands_usec_per_passage_by_master"]) == masters
        assert run["passages"] > 1000
        low, high = rate_of(run["passages"], run["insert_seconds"], error=5e-5)
        assert low <= run["inserts_per_s"] <= high
        assert run["query_hits"] >= run["passages"]  # every passage finds at least itself
        # The keys spread evenly; the time each primary spends on them is timing, noisy.
        assert 1.0 <= run["calls_spread_max_over_mean"] < 1.2
        assert run["load_spread_max_over_mean"] >= 1.0
        assert run["commands_usec_per_passage"] > 0
        assert len(run["process_cpu_usec_per_passage_by_master"]) == masters
        passes = run["queries_per_s_passes"]
        assert run["queries_per_s"] == sorted(passes)[len(passes) // 2]
        # Band records go as native APPENDs, one a shard a batch: fewer than one a
        # record; no script writes them.
        stats = run["commandstats_per_passage"]
        assert 0 < stats["append"]["calls"] < index_spec(EngineConfig()).bands
        assert "hsetnx" not in stats
        assert stats["evalsha"]["calls"] < 1
        assert 1.0 <= run["calls_spread_max_over_mean"] < 2.0
        assert len(run["query_redis_cpu_usec_per_passage_by_master"]) == masters
        slowest = max(
            run["query_client_cpu_usec_per_passage"],
            *run["query_redis_cpu_usec_per_passage_by_master"],
        )
        assert run["implied_queries_per_s"] == pytest.approx(1e6 / slowest, rel=0.01)
    # Three primaries share the CPU a bulk insert costs. (commandstats is wall time
    # inside commands: on a machine with fewer cores than processes it is inflated.)
    shares = report["masters_3"]["process_cpu_usec_per_passage_by_master"]
    assert max(shares) < report["masters_1"]["process_cpu_usec_per_passage"]


def _words(text: str) -> set[str]:
    return {w.strip(".,").lower() for w in text.split()}


def test_generated_corpus_is_pan_layout_and_its_truth_slices_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "corpus"
    assert main(["bench", "generate", str(root), "--articles", "150", "--seed", "2"]) == 0
    _, cases = generate(150, seed=2)
    corpus = load_corpus(root)
    assert len(corpus.cases) == len(cases)
    assert set(corpus.categories) == {"verbatim", "reworded", "quote", "repeat", "none"}
    assert len(corpus.pairs) == sum(len(v) for v in corpus.categories.values())
    for case in corpus.cases:
        pair = cast(tuple[str, str], case.pair)
        susp = (root / "susp" / pair[0]).read_text(encoding="utf-8")
        src = (root / "src" / pair[1]).read_text(encoding="utf-8")
        mine, theirs = susp[slice(*case.susp)], src[slice(*case.src)]
        kind = next(k for k, members in corpus.categories.items() if case.pair in members)
        if kind in ("verbatim", "quote"):
            assert mine == theirs
        else:  # reworded copies and repeats share most of their words
            wa, wb = _words(mine), _words(theirs)
            assert len(wa & wb) / len(wa | wb) > 0.3, (mine, theirs)
        if kind == "repeat":
            assert pair[0] == pair[1]
            assert case.src[1] <= case.susp[0]
    for a, b in corpus.categories["none"]:
        assert not [c for c in corpus.cases if c.pair in ((a, b), (b, a))]
    lines = (root / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 150
    assert main(["bench", "generate", str(root)]) == 2  # refuses to write over it
    assert "not empty" in capsys.readouterr().err


def test_generate_hard_writes_each_hard_case_as_its_own_category(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wiretrace_bench.events import generate_hard

    root = tmp_path / "corpus"
    assert main(["bench", "generate", str(root), "--articles", "100", "--hard", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    articles, cases = generate_hard(100)
    assert report["articles"] == len(articles) > 100
    assert report["cases"] == len(cases)
    corpus = load_corpus(root)
    assert len(corpus.cases) == len(cases)
    hard = {"same_event", "brief", "short_quote", "quote_in_reworded"}
    assert hard <= set(corpus.categories)
    # Old folders hold the same pairs as without --hard (their figures stay comparable).
    plain = tmp_path / "plain"
    assert main(["bench", "generate", str(plain), "--articles", "100"]) == 0
    for kind in ("verbatim", "reworded", "quote", "repeat"):
        assert (root / kind / "pairs").read_text() == (plain / kind / "pairs").read_text()
    event = {a.id: a.event for a in articles}
    for a, b in corpus.categories["same_event"]:
        assert event[a[:-4]] == event[b[:-4]] != ""
        assert not [c for c in corpus.cases if c.pair in ((a, b), (b, a))]
    assert not corpus.categories["same_event"] & corpus.categories["none"]
    kinds = {
        name: {c.kind for c in corpus.cases if c.pair in members}
        for name, members in corpus.categories.items()
    }
    assert kinds["quote_in_reworded"] == {"reworded", "verbatim_in_reworded"}
    assert kinds["brief"] == {"brief"}
    assert kinds["short_quote"] == {"short_quote"}


def test_bench_quality_through_the_service_scores_as_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "corpus"
    assert main(["bench", "generate", str(root), "--articles", "80", "--hard", "--json"]) == 0
    capsys.readouterr()
    reports = []
    for mode in (["--in-process", "--workers", "1"], []):
        assert main(["bench", "quality", str(root), *mode, "--json"]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    in_process, served = reports
    assert served["overall"] == in_process["overall"]
    assert served["categories"] == in_process["categories"]
    assert served["documents"] == in_process["documents"]
    old_kinds = ("verbatim", "reworded", "quote", "repeat")
    assert sum(served["categories"][k]["cases"] for k in old_kinds) > 25
    assert served["categories"]["verbatim"]["plagdet"] > 0.8
    assert served["categories"]["repeat"]["recall"] > 0.8
    assert served["pairs_per_second"] > 0
    documents = served["documents"]
    corpus = load_corpus(root)
    assert documents["same_event_pairs"] == len(corpus.categories["same_event"])
    derived = {c.pair for c in corpus.cases if c.pair[0] != c.pair[1]}  # type: ignore[index]
    assert documents["derived_pairs"] == len(derived)
    hard = {"brief", "short_quote", "quote_in_reworded"}
    assert set(documents["auc_by_category"]) == {*old_kinds, *hard} - {"repeat"}
    assert 0.5 < documents["auc"] <= 1
    assert 0.5 < documents["auc_baseline_5gram"] <= 1
    assert 0 <= documents["same_event_flagged_share"] < 0.5
    assert set(documents["recall"]) == {"short_quote", "verbatim_in_reworded", "brief"}
    for r in documents["recall"].values():
        assert 0 <= r["recall_not_reworded"] <= r["recall"] <= 1
    assert main(["bench", "quality", str(root), "--in-process", "--workers", "1"]) == 0
    table = capsys.readouterr().out
    assert "plagdet" in table
    assert "ROC AUC of the derived share" in table
    assert "same-event characters flagged" in table
    # The served mode really goes through a server: with none listening, it fails.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    one = tmp_path / "one-pair"
    one.write_text((root / "pairs").read_text().splitlines()[0] + "\n")
    with pytest.raises(grpc.RpcError) as info:
        main(["bench", "quality", str(root), "--pairs", str(one), "--server", closed])
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_bench_labels_writes_one_labelled_row_per_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "corpus"
    assert main(["bench", "generate", str(root), "--articles", "50", "--hard"]) == 0
    capsys.readouterr()
    out = tmp_path / "labels.jsonl"
    args = ["bench", "labels", str(root), str(out), "--in-process", "--workers", "1"]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert summary["rows"] == len(rows) > 10
    assert summary["positives"] == sum(r["label"] for r in rows) > 0
    assert not list(tmp_path.glob("*.xml"))  # no detection XML beside the labels
    corpus = load_corpus(root)
    truth: dict[object, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for c in corpus.cases:
        truth.setdefault(c.pair, []).append((c.susp, c.src))
    for r in rows:
        held = truth.get((r["article"], r["source"]), [])
        hit = any(
            r["a_start"] < a1 and a0 < r["a_end"] and r["b_start"] < b1 and b0 < r["b_end"]
            for (a0, a1), (b0, b1) in held
        )
        assert r["label"] == int(hit)
        if r["category"] in ("same_event", "none"):
            assert r["label"] == 0
        assert r["a_tokens"] > 0
        assert r["b_tokens"] > 0
        assert 0 <= r["shared_5gram_share"] <= 1


def test_bench_ingest_runs_the_naive_baseline_on_the_same_articles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "ingest", "--synthetic", "60", "--baseline", "naive", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    naive = report["baseline_naive"]
    assert naive["articles"] == 60
    assert naive["articles_per_s"] > 0
    assert naive["quality"]["cases"] == report["quality"]["cases"]
    assert 0 < naive["quality"]["recall"] <= 1
    assert report["speedup_vs_naive"] == pytest.approx(
        report["articles_per_s"] / naive["articles_per_s"], rel=0.01
    )


def test_bench_query_and_restart_report_their_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "query", "--index-size", "60", "--requests", "30", "--concurrency", "4"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["requests"] == 30
    assert report["index_articles"] == 60
    assert report["qps"] > 0
    assert report["p99_ms"] >= report["p50_ms"] > 0
    assert main(["bench", "restart", "--articles", "60", "--repeats", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["articles"] == 60
    assert report["passages"] > 60
    assert report["restart_seconds_median"] > 0
    assert report["server_rss_bytes"] > 0


def test_bench_compare_and_ingest_over_a_preloaded_index(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "compare", "--pairs", "15", "--chars", "2000", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pairs"] == 15
    assert 1000 < report["chars_mean"] <= 2000
    assert report["p99_ms"] >= report["p50_ms"] > 0
    assert report["in_process_p50_ms"] > report["prepared_p50_ms"] > 0
    assert report["matches"] >= 15  # each pair shares one paragraph
    threads = report["threads"]
    assert threads["prepared_one_thread_s"] > 0
    assert threads["prepared_two_threads_s"] > 0
    args = ["bench", "ingest", "--synthetic", "30", "--preload", "40", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["index_articles"] == 70
    assert report["articles"] == 30


def test_bench_transport_measures_an_echo_server_and_the_budget_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "transport", "--articles", "40", "--streams", "4", "--query-texts", "5"]
    args += ["--requests", "60", "--in-flight", "8", "--pairs", "12", "--chars", "1500"]
    assert main([*args, "--ingest-rate", "500", "--query-p99-ms", "40", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ingest, query, compare = report["ingest_stream"], report["query"], report["compare"]
    assert ingest["answered"] == 40  # the echo answered every article of every stream
    assert ingest["articles_per_s"] > 0
    assert query["qps"] > 0
    cores = report["cores"]
    spent = ingest["server_cpu_ms"] + ingest["client_cpu_ms"]
    assert ingest["cpu_ms_left_per_article"] == pytest.approx(cores * 2.0 - spent, abs=1e-3)
    assert query["qps_needed"] == 200.0  # 8 in flight, each within 40 ms
    spent = query["server_cpu_ms"] + query["client_cpu_ms"]
    assert query["cpu_ms_left_per_query"] == pytest.approx(cores * 5.0 - spent, abs=1e-3)
    assert compare["pairs"] == 12
    assert compare["ms_left_per_call"] == pytest.approx(1 - compare["p50_ms"], abs=1e-3)


def test_bench_commit_puts_prepared_articles_from_many_threads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "commit", "--articles", "40", "--threads", "4", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["articles"] == 40
    assert report["index_passages"] > 40
    assert 1 <= report["transactions"] <= 40
    assert report["articles_per_transaction"] == pytest.approx(40 / report["transactions"], 0.01)
    assert report["p99_ms"] >= report["p50_ms"] > 0


def test_progress_bar_draws_on_a_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from wiretrace_bench.progress import Progress

    out = io.StringIO()
    bar = Progress(4, "articles", enabled=True, out=out)
    for _ in range(4):
        bar.advance()
    bar.close()
    last = out.getvalue().split("\r")[-1]
    assert last.startswith("[" + "#" * 30 + "] 4/4 articles")
    assert last.endswith(" s\n")
    quiet = io.StringIO()
    silent = Progress(4, "articles", enabled=False, out=quiet)
    silent.advance(4)
    silent.close()
    assert quiet.getvalue() == ""
    # The CLI only enables it when stderr is a terminal: piped (as here), it is quiet.
    assert main(["bench", "ingest", "--synthetic", "5", "--json"]) == 0
    assert "articles  " not in capsys.readouterr().err


@pytest.mark.corpus
def test_bench_quality_scores_a_pan_subset_and_writes_xml(
    pan13: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    verbatim = (pan13 / "02-no-obfuscation" / "pairs").read_text().splitlines()[:6]
    negative = (pan13 / "01-no-plagiarism" / "pairs").read_text().splitlines()[:4]
    pairs = tmp_path / "pairs"
    pairs.write_text("\n".join(verbatim + negative) + "\n")
    out = tmp_path / "det"
    args = ["bench", "quality", str(pan13), "--pairs", str(pairs), "--out", str(out)]
    assert main([*args, "--json", "--workers", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pairs"] == 10
    assert report["categories"]["01-no-plagiarism"]["cases"] == 0
    assert report["categories"]["02-no-obfuscation"]["cases"] >= 6
    assert report["overall"]["plagdet"] > 0.6
    low, high = rate_of(10, report["seconds"])
    assert low <= report["pairs_per_second"] <= high
    assert report["p95_ms"] >= report["p50_ms"]
    files = sorted(out.glob("*.xml"))
    assert len(files) == 10
    first = verbatim[0].split()
    root = ET.parse(out / f"{first[0][:-4]}-{first[1][:-4]}.xml").getroot()
    assert root.get("reference") == first[0]
    features = root.findall("feature")
    assert features
    assert all(f.get("name") == "detected-plagiarism" for f in features)
    assert main([*args, "--workers", "1"]) == 0
    table = capsys.readouterr().out
    assert "plagdet" in table
    assert "pairs/s" in table


def test_bench_quality_rejects_a_folder_that_is_not_a_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "quality", str(tmp_path)]) == 2
    assert "not a PAN-13-layout corpus" in capsys.readouterr().err


def test_bench_index_reports_passages_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "index", "--articles", "20", "--repeats", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["articles"] == 20
    assert report["passages"] > 20
    seconds = report["median_sign_s"] + report["median_index_s"]
    low, high = rate_of(report["passages"], seconds, error=1e-4)  # two times, each rounded
    assert low <= report["passages_per_s"] <= high


def test_bench_merge_times_merges_of_the_delta_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "merge", "--passages", "20000", "--merges", "2", "--delta", "3000"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passages"] == 20_000 + 2 * 3_000
    assert report["delta_per_merge"] == 3_000
    assert len(report["merge_seconds_all"]) == len(report["merge_cpu_seconds_all"]) == 2
    cores = os.cpu_count() or 1
    for wall, cpu in zip(report["merge_seconds_all"], report["merge_cpu_seconds_all"], strict=True):
        assert wall > 0
        assert 0 < cpu <= wall * cores + 0.05  # the merge's own threads, the reader's left out


def test_bench_fuzz_counts_every_answer_and_checks_the_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "fuzz", "--requests", "80", "--seed", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["requests"] == 80 == sum(report["by_code"].values())
    assert report["failures"] == 0
    assert report["server_alive"]
    assert report["stored_matches_acknowledged"]
    assert report["stored_articles"] == report["expected_articles"]
    assert len(report["server_rss_by_quarter_bytes"]) == 4
    assert report["sigterm_exit_seconds"] is not None
