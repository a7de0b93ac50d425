# Sourced by the scripts: create or reuse .venv at the repo root and install wiretrace.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "wiretrace needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Reinstall only when the project definition or the Rust core changed since the last
# install; the install builds the core (core/) with cargo, through maturin.
STAMP=.venv/.wiretrace-installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] \
    || [ -n "$(find core -path core/target -prune -o -newer "$STAMP" -type f -print -quit)" ]; then
    if ! command -v cargo >/dev/null 2>&1; then
        echo "wiretrace's core is Rust: install a Rust toolchain (https://rustup.rs) first" >&2
        exit 1
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    touch "$STAMP"
fi
