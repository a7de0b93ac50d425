"""Plain-text tables for the benchmark commands."""

from __future__ import annotations

from wiretrace_bench.documents import DocumentReport
from wiretrace_bench.pan import QualityReport
from wiretrace_bench.plagdet import Scores

__all__ = ["document_table", "index_table", "quality_table"]


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


def document_table(d: DocumentReport) -> str:
    """The document-level block: wiretrace beside the word 5-gram baseline."""
    head = f"{'document level':<44} {'wiretrace':>9} {'5-gram':>9}"
    pairs = f"{d.derived_pairs} derived / {d.same_event_pairs} same-event pairs"
    lines = [
        head,
        "-" * len(head),
        f"{'ROC AUC of the derived share':<44} {d.auc:>9.4f} {d.auc_baseline:>9.4f}",
        f"  ({pairs}); derived pairs by category:",
    ]
    for name, auc in d.auc_by_category.items():
        baseline = d.auc_baseline_by_category[name]
        lines.append(f"{'    ' + name:<44} {auc:>9.4f} {baseline:>9.4f}")
    lines += [
        f"{'same-event characters flagged':<44} {d.same_event_flagged:>9.2%} "
        f"{d.same_event_flagged_baseline:>9.2%}",
        f"{'same-event pairs with anything flagged':<44} {d.same_event_pairs_flagged:>9.2%}",
        "",
        f"{'recall by case kind':<28} {'recall':>7} {'not reworded':>13} {'cases':>6}",
    ]
    for kind, r in d.recall.items():
        lines.append(
            f"{kind:<28} {r['recall']:>7.4f} {r['recall_not_reworded']:>13.4f} {r['cases']:>6}"
        )
    return "\n".join(lines)


def index_table(r: dict[str, object]) -> str:
    rows = [
        ("articles", r["articles"]),
        ("passages (units)", r["passages"]),
        ("median sign time (s)", r["median_sign_s"]),
        ("median index time (s)", r["median_index_s"]),
        ("passages signed+indexed / s", r["passages_per_s"]),
        ("articles / s", r["articles_per_s"]),
        ("signatures + index only, passages / s", r["sign_and_index_only_passages_per_s"]),
        ("  the same per CPU second", r["sign_and_index_only_passages_per_cpu_s"]),
        ("index + sketch bytes / passage", r["index_bytes_per_passage"]),
        ("band index us / passage", r["band_index_us_per_passage"]),
        ("datasketch MinHashLSH us / passage", r["datasketch_lsh_us_per_passage"]),
        ("index speed-up vs datasketch", r["index_speedup_vs_datasketch"]),
        ("bands x rows (num_perm)", f"{r['bands']} x {r['rows']} ({r['num_perm']})"),
    ]
    return "\n".join(f"{k:<36} {v}" for k, v in rows)
