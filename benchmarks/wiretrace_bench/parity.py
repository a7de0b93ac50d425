"""Engine parity: every match and every work counter of this engine and of another
version of it (a git revision), on the same pairs.

``wiretrace bench parity --against REV SPEC...`` extracts ``REV`` into a temporary
folder, runs this file as a script under each engine in a process of its own, and
compares the two dumps. A SPEC is ``seeds:DIR`` (every ordered pair of the texts in
``DIR``, a text with itself giving its repeats) or ``CORPUS_DIR@STEP`` (every STEP-th
pair of a PAN-layout corpus, run as ``bench quality --in-process`` runs it).

The script half imports only what every version has (``Detector``, ``Work``), so that
an engine from before the compiled core runs it unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["compare_dumps", "dump", "run_parity"]


def _jobs(spec: str) -> list[tuple[str, str, str, bool]]:
    if spec.startswith("seeds:"):
        root = Path(spec.removeprefix("seeds:"))
        texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(root.iterdir())}
        return [(f"{spec}/{x}/{y}", texts[x], texts[y], x == y) for x in texts for y in texts]
    root_name, _, step = spec.partition("@")
    root = Path(root_name)
    lines = (root / "pairs").read_text(encoding="utf-8").split("\n")
    pairs = [tuple(line.split()) for line in lines if line.strip()][:: int(step or 1)]
    return [
        (
            f"{spec}/{s}/{r}",
            (root / "susp" / s).read_text(encoding="utf-8"),
            (root / "src" / r).read_text(encoding="utf-8"),
            s == r,
        )
        for s, r in pairs
    ]


def _floats(m: Any) -> tuple[str, str]:
    """Similarity and confidence, exactly (``repr`` round-trips a float)."""
    return repr(m.similarity), repr(m.confidence)


def dump(specs: list[str]) -> dict[str, Any]:
    """Every match (offsets, ``repr`` of similarity and confidence, kind) and the work
    counters of each pair, under the engine this process imports."""
    from wiretrace.engine.detect import Detector
    from wiretrace.engine.work import Work

    detector = Detector()
    out: dict[str, Any] = {}
    for spec in specs:
        for key, a, b, same in _jobs(spec):
            work = Work()
            if same:
                found = detector.compare(a, b, work=work)  # one text: its repeats
            else:
                found = detector.compare(detector.prepare(a), detector.prepare(b), work=work)
            out[key] = {
                "matches": [
                    (m.a_start, m.a_end, m.b_start, m.b_end, str(m.kind), *_floats(m))
                    for m in found
                ],
                "work": work.counters(),
                "limited": sorted(work.limited),
            }
    return out


def compare_dumps(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """How many pairs differ in their matches and in their work counters."""
    keys = sorted(old.keys() | new.keys())
    differ = [k for k in keys if old.get(k, {}).get("matches") != new.get(k, {}).get("matches")]
    counted = [
        k
        for k in keys
        if (old.get(k, {}).get("work"), old.get(k, {}).get("limited"))
        != (new.get(k, {}).get("work"), new.get(k, {}).get("limited"))
    ]
    return {
        "pairs": len(keys),
        "matches": sum(len(v["matches"]) for v in new.values()),
        "pairs_with_other_matches": len(differ),
        "pairs_with_other_counters": len(counted),
        "first_differences": [
            {"pair": k, "old": old.get(k), "new": new.get(k)} for k in (differ or counted)[:3]
        ],
    }


def _dump_in_process(
    specs: list[str], out: Path, pythonpath: str | None, python: str = sys.executable
) -> float:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath  # ahead of the installed package
    t = time.perf_counter()
    subprocess.run([python, __file__, str(out), *specs], check=True, env=env)
    return time.perf_counter() - t


def run_parity(
    against: str, specs: list[str], *, repo: Path | None = None, python: str | None = None
) -> dict[str, Any]:
    """Dump ``specs`` under the engine of git revision ``against`` and under this one,
    and compare. ``python``: the interpreter of an installed build of ``against``
    (another worktree's venv), which a revision with a compiled core needs (its
    sources alone cannot be imported); without it, ``against``'s sources are
    extracted and put ahead of this engine's."""
    repo = repo or Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="wiretrace-parity-") as tmp:
        old_path, new_path = Path(tmp) / "old.json", Path(tmp) / "new.json"
        if python is not None:
            old_s = _dump_in_process(specs, old_path, None, python)
        else:
            base = Path(tmp) / "base"
            archive = Path(tmp) / "base.tar"
            subprocess.run(
                ["git", "-C", str(repo), "archive", "-o", str(archive), against], check=True
            )
            with tarfile.open(archive) as tar:
                tar.extractall(base, filter="data")
            old_s = _dump_in_process(specs, old_path, f"{base / 'service'}:{base / 'benchmarks'}")
        new_s = _dump_in_process(specs, new_path, None)
        old = json.loads(old_path.read_text(encoding="utf-8"))
        new = json.loads(new_path.read_text(encoding="utf-8"))
    report = {"against": against, **compare_dumps(old, new)}
    report["seconds_old"] = round(old_s, 1)
    report["seconds_new"] = round(new_s, 1)
    return report


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(dump(sys.argv[2:])), encoding="utf-8")
