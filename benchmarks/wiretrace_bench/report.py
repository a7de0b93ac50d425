"""Plain-text tables for the benchmark commands."""

from __future__ import annotations

from wiretrace_bench.pan import QualityReport
from wiretrace_bench.plagdet import Scores

__all__ = ["index_table", "quality_table"]


def _row(name: str, s: Scores) -> str:
    return (
        f"{name:<28} {s.precision:>9.4f} {s.recall:>7.4f} {s.granularity:>11.4f} "
        f"{s.plagdet:>8.4f} {s.cases:>6} {s.detections:>6}"
    )


def quality_table(report: QualityReport) -> str:
    head = (
        f"{'category':<28} {'precision':>9} {'recall':>7} {'granularity':>11} "
        f"{'plagdet':>8} {'cases':>6} {'dets':>6}"
    )
    lines = [head, "-" * len(head), _row("overall", report.overall)]
    lines += [_row(name, s) for name, s in report.categories.items()]
    d = report.as_dict()
    lines += [
        "",
        f"pairs {d['pairs']}  in {d['seconds']} s on {d['workers']} worker(s): "
        f"{d['pairs_per_second']} pairs/s, p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms per pair",
    ]
    return "\n".join(lines)


def index_table(r: dict[str, object]) -> str:
    rows = [
        ("articles", r["articles"]),
        ("passages (units)", r["passages"]),
        ("median sign time (s)", r["median_sign_s"]),
        ("median index time (s)", r["median_index_s"]),
        ("passages signed+indexed / s", r["passages_per_s"]),
        ("articles / s", r["articles_per_s"]),
        ("band index us / passage", r["band_index_us_per_passage"]),
        ("datasketch MinHashLSH us / passage", r["datasketch_lsh_us_per_passage"]),
        ("index speed-up vs datasketch", r["index_speedup_vs_datasketch"]),
        ("bands x rows (num_perm)", f"{r['bands']} x {r['rows']} ({r['num_perm']})"),
    ]
    return "\n".join(f"{k:<36} {v}" for k, v in rows)
