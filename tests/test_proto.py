"""The committed stubs are exactly what scripts/gen-proto produces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_are_reproducible(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen-proto"), str(tmp_path)],
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    committed = ROOT / "proto" / "wiretrace_api" / "v1"
    for name in ("wiretrace_pb2.py", "wiretrace_pb2.pyi", "wiretrace_pb2_grpc.py"):
        generated = (tmp_path / "wiretrace_api" / "v1" / name).read_text()
        assert generated == (committed / name).read_text(), f"{name}: run scripts/gen-proto"
