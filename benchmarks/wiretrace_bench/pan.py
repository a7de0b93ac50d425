"""Running the engine over a PAN-13-layout corpus and scoring it.

Layout (see ``../shared/corpora/README.md``): ``src/``, ``susp/``, a ``pairs`` file of
``"susp-name src-name"`` lines, and category folders holding their own ``pairs`` and one
ground-truth XML per pair.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from wiretrace.engine.config import EngineConfig
from wiretrace.engine.detect import Detector, Match
from wiretrace.errors import InvalidInput
from wiretrace_bench.plagdet import Annotation, Range, Scores, score
from wiretrace_bench.progress import Progress
from wiretrace_bench.stats import percentiles

__all__ = [
    "Corpus",
    "Pair",
    "QualityReport",
    "load_corpus",
    "run_quality",
    "write_detections",
    "write_features",
]

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Corpus:
    root: Path
    pairs: list[Pair]
    cases: list[Annotation]
    categories: dict[str, set[Pair]]


@dataclass
class QualityReport:
    overall: Scores
    categories: dict[str, Scores]
    pairs: int
    seconds: float
    pair_ms: list[float] = field(repr=False)
    workers: int
    #: Every pair's matches, seen from the pair's first text (a repeat's later
    #: occurrence), and the same as annotations tagged with the match kind.
    matches: dict[Pair, list[Match]] = field(default_factory=dict, repr=False)
    detections: list[Annotation] = field(default_factory=list, repr=False)

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        def s(x: Scores) -> dict[str, float | int]:
            return {
                "precision": round(x.precision, 4),
                "recall": round(x.recall, 4),
                "granularity": round(x.granularity, 4),
                "plagdet": round(x.plagdet, 4),
                "cases": x.cases,
                "detections": x.detections,
            }

        return {
            "overall": s(self.overall),
            "categories": {k: s(v) for k, v in self.categories.items()},
            "pairs": self.pairs,
            "seconds": round(self.seconds, 3),
            "pairs_per_second": round(self.pairs_per_second, 2),
            **percentiles(self.pair_ms, (50, 95)),
            "workers": self.workers,
        }


def _read_pairs(path: Path) -> list[Pair]:
    out: list[Pair] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((parts[0], parts[1]))
    return out


def _read_cases(xml_path: Path, pair: Pair) -> list[Annotation]:
    out: list[Annotation] = []
    for feature in ET.parse(xml_path).getroot().iter("feature"):
        if feature.get("name") != "plagiarism":
            continue
        t0, tl = int(feature.get("this_offset", 0)), int(feature.get("this_length", 0))
        s0, sl = int(feature.get("source_offset", 0)), int(feature.get("source_length", 0))
        out.append(Annotation(pair, (t0, t0 + tl), (s0, s0 + sl), feature.get("type", "")))
    return out


def _xml_name(pair: Pair) -> str:
    return f"{Path(pair[0]).stem}-{Path(pair[1]).stem}.xml"


def load_corpus(root: Path, pairs_file: Path | None = None) -> Corpus:
    """Read pairs, categories and ground truth; raises ``InvalidInput`` if not a corpus."""
    root = Path(root)
    pairs_path = pairs_file or root / "pairs"
    if not (root / "src").is_dir() or not (root / "susp").is_dir() or not pairs_path.is_file():
        raise InvalidInput(
            f"{root} is not a PAN-13-layout corpus: it needs src/, susp/ and a pairs file "
            f"({pairs_path})"
        )
    pairs = _read_pairs(pairs_path)
    wanted = set(pairs)
    categories: dict[str, set[Pair]] = {}
    cases: list[Annotation] = []
    for cat in sorted(p for p in root.iterdir() if p.is_dir() and (p / "pairs").is_file()):
        members = set(_read_pairs(cat / "pairs")) & wanted
        if not members:
            continue
        categories[cat.name] = members
        for pair in sorted(members):
            xml = cat / _xml_name(pair)
            if xml.is_file():
                cases.extend(_read_cases(xml, pair))
    return Corpus(root=root, pairs=pairs, cases=cases, categories=categories)


Comparer = Callable[[str, str], list[Match]]

_worker_detector: Detector | None = None
_worker_root: Path | None = None


def _init_worker(config: EngineConfig, root: Path) -> None:
    global _worker_detector, _worker_root
    _worker_detector = Detector(config)
    _worker_root = root


def _read_pair(root: Path, pair: Pair) -> tuple[str, str]:
    susp = (root / "susp" / pair[0]).read_text(encoding="utf-8")
    src = (root / "src" / pair[1]).read_text(encoding="utf-8")
    return susp, src


def _run_chunk(chunk: list[Pair]) -> list[tuple[Pair, list[Match], float]]:
    assert _worker_detector is not None
    assert _worker_root is not None
    out = []
    for pair in chunk:
        susp, src = _read_pair(_worker_root, pair)
        t0 = time.perf_counter()
        if pair[0] == pair[1]:
            matches = _worker_detector.compare(susp, src)  # one text: its repeats
        else:
            # Two articles, even when their texts are equal (a brief reprinted whole),
            # as the service prepares each article on its own.
            d = _worker_detector
            matches = d.compare(d.prepare(susp), d.prepare(src))
        out.append((pair, matches, (time.perf_counter() - t0) * 1000))
    return out


def _chunks(items: list[Pair], size: int) -> Iterable[list[Pair]]:
    for k in range(0, len(items), size):
        yield items[k : k + size]


def run_quality(
    corpus: Corpus,
    *,
    config: EngineConfig | None = None,
    comparer: Comparer | None = None,
    workers: int | None = None,
    out_dir: Path | None = None,
    progress: bool = False,
) -> QualityReport:
    """Compare every pair and score the detections.

    With ``comparer`` (for example a client of the Compare RPC) pairs run on ``workers``
    threads of this process; otherwise the engine runs in-process on ``workers``
    processes.
    """
    config = config or EngineConfig()
    results: list[tuple[Pair, list[Match], float]] = []
    bar = Progress(len(corpus.pairs), "pairs", enabled=progress)
    t0 = time.perf_counter()
    if comparer is not None:
        workers = workers or 1
        call = comparer

        def one(pair: Pair) -> tuple[Pair, list[Match], float]:
            susp, src = _read_pair(corpus.root, pair)
            t = time.perf_counter()
            matches = call(susp, src)
            bar.advance()
            return pair, matches, (time.perf_counter() - t) * 1000

        with ThreadPoolExecutor(workers) as threads:
            results = list(threads.map(one, corpus.pairs))
    else:
        workers = workers or max(1, os.cpu_count() or 1)
        if workers == 1:
            _init_worker(config, corpus.root)
            for chunk in _chunks(corpus.pairs, 64):
                results.extend(_run_chunk(chunk))
                bar.advance(len(chunk))
        else:
            with ProcessPoolExecutor(
                workers, initializer=_init_worker, initargs=(config, corpus.root)
            ) as pool:
                for part in pool.map(_run_chunk, _chunks(corpus.pairs, 32)):
                    results.extend(part)
                    bar.advance(len(part))
    seconds = time.perf_counter() - t0

    detections: list[Annotation] = []
    by_pair: dict[Pair, list[Match]] = {}
    for pair, found, _ in results:
        # A text compared with itself reports (earlier, later) occurrences; the later
        # one is the reuse, as in the service.
        matches = [m.swapped() for m in found] if pair[0] == pair[1] else found
        by_pair[pair] = matches
        detections.extend(
            Annotation(pair, (m.a_start, m.a_end), (m.b_start, m.b_end), m.kind.value)
            for m in matches
        )
        if out_dir is not None:
            write_detections(out_dir, pair, matches)
    overall = score(corpus.cases, detections)
    categories = {
        name: score(
            [c for c in corpus.cases if c.pair in members],
            [d for d in detections if d.pair in members],
        )
        for name, members in corpus.categories.items()
    }
    return QualityReport(
        overall=overall,
        categories=categories,
        pairs=len(results),
        seconds=seconds,
        pair_ms=[ms for _, _, ms in results],
        workers=workers,
        matches=by_pair,
        detections=detections,
    )


def write_features(
    path: Path, reference: str, name: str, features: Iterable[tuple[str, Range, str, Range]]
) -> None:
    """Write one PAN XML document: ``reference`` and its ``<feature name=...>``s, each
    ``(type, this range, source reference, source range)``; an empty type is left out."""
    root = ET.Element("document", reference=reference)
    for kind, this, source_reference, source in features:
        attrs = {"name": name, **({"type": kind} if kind else {})}
        ET.SubElement(
            root,
            "feature",
            attrs,
            this_offset=str(this[0]),
            this_length=str(this[1] - this[0]),
            source_reference=source_reference,
            source_offset=str(source[0]),
            source_length=str(source[1] - source[0]),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def write_detections(out_dir: Path, pair: Pair, matches: list[Match]) -> Path:
    """Write one PAN XML of ``detected-plagiarism`` features for ``pair``."""
    path = out_dir / _xml_name(pair)
    features = [("", (m.a_start, m.a_end), pair[1], (m.b_start, m.b_end)) for m in matches]
    write_features(path, pair[0], "detected-plagiarism", features)
    return path
