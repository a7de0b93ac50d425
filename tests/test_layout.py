"""The architecture as the folder tree shows it: imports only point down.

wiretrace.errors, wiretrace.settings      the bottom: no wiretrace imports
wiretrace._core                           the compiled core (Rust): no Python imports
wiretrace.engine                          detection, pure
wiretrace.store                           articles and their index; no engine
wiretrace.domain                          the operations; no gRPC, no host config
wiretrace.server, wiretrace.cli           the hosts
wiretrace_api                             generated stubs; nothing of ours
wiretrace_client                          the stubs only
wiretrace_bench                           the benchmarks; never imported by the service
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import wiretrace
import wiretrace_client

# What each part of the service may import from wiretrace (beyond itself).
ALLOWED: dict[str, set[str]] = {
    "wiretrace.errors": set(),
    "wiretrace.settings": {"wiretrace.errors"},
    "wiretrace.engine": {"wiretrace.errors", "wiretrace.settings", "wiretrace._core"},
    "wiretrace.store": {"wiretrace.errors"},
    "wiretrace.domain": {
        "wiretrace",
        "wiretrace.errors",
        "wiretrace.engine",
        "wiretrace.store",
    },
    "wiretrace.server": {
        "wiretrace.errors",
        "wiretrace.settings",
        "wiretrace.engine",
        "wiretrace.store",
        "wiretrace.domain",
        "wiretrace_api",
    },
}


def _modules(package: ModuleType) -> dict[str, Path]:
    root = Path(str(package.__file__)).parent
    name = package.__name__
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join((name, *parts))] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every absolute module name a file imports, at any depth (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _part(module: str) -> str:
    """The layer a wiretrace module belongs to: ``wiretrace.engine.detect`` ->
    ``wiretrace.engine``; the top-level modules are their own part."""
    parts = module.split(".")
    if parts[0] != "wiretrace" or len(parts) == 1:
        return parts[0]
    return ".".join(parts[:2])


def test_service_imports_only_point_down() -> None:
    wrong = []
    for module, path in _modules(wiretrace).items():
        part = _part(module)
        if part not in ALLOWED:
            continue  # the package root and the CLI sit on top
        for imported in _imports(path):
            target = _part(imported)
            if not target.startswith("wiretrace") or target == part:
                continue
            if target not in ALLOWED[part]:
                wrong.append(f"{module} imports {imported}")
    assert not wrong


def test_the_domain_knows_no_grpc() -> None:
    for module, path in _modules(wiretrace).items():
        if _part(module) in ("wiretrace.domain", "wiretrace.engine", "wiretrace.store"):
            assert not {i for i in _imports(path) if i.split(".")[0].startswith("grpc")}, module


def test_the_client_uses_only_the_stubs() -> None:
    for module, path in _modules(wiretrace_client).items():
        ours = {i for i in _imports(path) if i.split(".")[0].startswith("wiretrace")}
        assert {_part(i) for i in ours} <= {"wiretrace_client", "wiretrace_api"}, module


def test_importing_the_client_loads_nothing_of_the_service() -> None:
    code = (
        "import json, sys, wiretrace_client, wiretrace_client.example as ex;"
        "assert len(list(ex._sample_articles())) >= 3;"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout
    )
    heavy = [m for m in loaded if m.split(".")[0] in {"numpy", "datasketch", "rapidfuzz", "redis"}]
    service = [m for m in loaded if m.split(".")[0] == "wiretrace"]
    assert not heavy
    assert not service
    assert "wiretrace_api.v1.wiretrace_pb2" in loaded


def test_the_service_package_ships_no_benchmark_code() -> None:
    names = {p.stem for p in Path(str(wiretrace.__file__)).parent.rglob("*")}
    assert not names & {"evaluation", "service_bench", "synthetic", "pan", "plagdet", "naive"}
    for module, path in _modules(wiretrace).items():
        bench = {i for i in _imports(path) if i.startswith("wiretrace_bench")}
        # The console command offers `wiretrace bench`, registered from the package.
        assert bench <= ({"wiretrace_bench.cli"} if module == "wiretrace.cli" else set()), module


@pytest.mark.parametrize("package", ["wiretrace_api", "wiretrace_api.v1"])
def test_the_stubs_import_nothing_of_ours(package: str) -> None:
    import importlib

    for module, path in _modules(importlib.import_module(package)).items():
        ours = {i for i in _imports(path) if i.split(".")[0].startswith("wiretrace")}
        assert ours <= {"wiretrace_api.v1"}, module
