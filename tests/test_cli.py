"""The console command, run as users run it (a real subprocess for the entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from wiretrace.cli import main

SAMPLES = resources.files("wiretrace_client") / "samples"


def _sample(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text((SAMPLES / name).read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_compare_json_is_exactly_the_documented_shape(tmp_path: Path) -> None:
    a, b = _sample(tmp_path, "01-wire.txt"), _sample(tmp_path, "02-daily.txt")
    out = subprocess.run(
        [sys.executable, "-m", "wiretrace.cli", "compare", str(a), str(b), "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    assert list(data) == ["matches", "derived_share", "verdict"]
    assert data["matches"]
    assert 0.0 < data["derived_share"] <= 1.0
    assert data["verdict"] in {"wholly", "partially"}
    text_a, text_b = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    for m in data["matches"]:
        assert set(m) == {
            "a_start",
            "a_end",
            "b_start",
            "b_end",
            "similarity",
            "kind",
            "confidence",
        }
        assert m["kind"] in {"verbatim", "near_verbatim", "reworded", "quote"}
        assert 0.0 <= m["confidence"] <= 1.0
        assert text_a[m["a_start"] : m["a_end"]]
        assert text_b[m["b_start"] : m["b_end"]]


def test_compare_a_file_with_itself_reports_its_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weekly = _sample(tmp_path, "03-weekly.txt")
    assert main(["compare", str(weekly), str(weekly), "--json"]) == 0
    matches = json.loads(capsys.readouterr().out)["matches"]
    assert len(matches) == 1
    assert matches[0]["a_end"] <= matches[0]["b_start"]


def test_compare_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(tmp_path / "nope.txt"), str(tmp_path / "nope.txt")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_demo_prints_reuse_of_the_bundled_samples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "reused from 01-wire.txt" in out
    assert "repeated inside itself" in out
