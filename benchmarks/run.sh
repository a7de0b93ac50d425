#!/usr/bin/env bash
# Rerun the engine benchmarks; tables go to stdout, JSON to benchmarks/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
mkdir -p benchmarks/out
CORPUS="${CORPUS:-../shared/corpora/pan13-train}"
if [ -f "$CORPUS/pairs" ]; then
    .venv/bin/wiretrace bench quality "$CORPUS" --json > benchmarks/out/pan13-quality.json
    .venv/bin/python -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(d, indent=1))' benchmarks/out/pan13-quality.json
    .venv/bin/wiretrace bench index --corpus "$CORPUS" --articles 2000 --json > benchmarks/out/index-speed.json
else
    echo "PAN-13 corpus not found at $CORPUS: skipping quality; speed runs on generated articles" >&2
    .venv/bin/wiretrace bench index --articles 2000 --json > benchmarks/out/index-speed.json
fi
.venv/bin/wiretrace bench index --articles 2000
