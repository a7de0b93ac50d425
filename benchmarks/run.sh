#!/usr/bin/env bash
# Rerun every benchmark; tables go to stdout, JSON to benchmarks/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
mkdir -p benchmarks/out
W=.venv/bin/wiretrace
CORPUS="${CORPUS:-../shared/corpora/pan13-train}"
if [ -f "$CORPUS/pairs" ]; then
    $W bench quality "$CORPUS" --json | tee benchmarks/out/pan13-quality.json
    $W bench index --corpus "$CORPUS" --articles 2000 --json | tee benchmarks/out/index-speed.json
else
    echo "PAN-13 corpus not found at $CORPUS: skipping quality; speed runs on generated articles" >&2
    $W bench index --articles 2000 --json | tee benchmarks/out/index-speed.json
fi
$W bench ingest --synthetic 2000 --json | tee benchmarks/out/ingest-2000.json
$W bench query --index-size 10000 --requests 2000 --concurrency 64 --json | tee benchmarks/out/query-10k.json
$W bench restart --articles 100000 --json | tee benchmarks/out/restart-100k.json
