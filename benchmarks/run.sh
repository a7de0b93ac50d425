#!/usr/bin/env bash
# Rerun every benchmark; tables go to stdout, JSON to benchmarks/out/.
# About 20 minutes on the 2-core machine; PAN quality needs ../shared/corpora/pan13-train.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
OUT=benchmarks/out
mkdir -p "$OUT"
W=.venv/bin/wiretrace
CORPUS="${CORPUS:-../shared/corpora/pan13-train}"
if [ -f "$CORPUS/pairs" ]; then
    $W bench quality "$CORPUS" --in-process --json | tee "$OUT/pan13-quality.json"
    $W bench quality "$CORPUS" --json | tee "$OUT/pan13-quality-service.json"
    $W bench index --corpus "$CORPUS" --articles 2000 --json | tee "$OUT/index-speed.json"
else
    echo "PAN-13 corpus not found at $CORPUS: skipping PAN quality; speed runs on generated articles" >&2
    $W bench index --articles 2000 --json | tee "$OUT/index-speed.json"
fi
rm -rf "$OUT/synthetic"
$W bench generate "$OUT/synthetic" --articles 2000 --json | tee "$OUT/synthetic-corpus.json"
$W bench quality "$OUT/synthetic" --json | tee "$OUT/synthetic-quality.json"
rm -rf "$OUT/hard"
$W bench generate "$OUT/hard" --articles 2000 --hard --json | tee "$OUT/hard-corpus.json"
$W bench quality "$OUT/hard" --json | tee "$OUT/hard-quality.json"
# In-process too: Compare of two equal texts reports that text's repeats, so through the
# RPC a brief reprinted word for word is missed; Ingest and Query prepare each article
# on its own and find it, as the in-process run does.
$W bench quality "$OUT/hard" --in-process --json | tee "$OUT/hard-quality-in-process.json"
rm -rf "$OUT/hard1"
$W bench generate "$OUT/hard1" --articles 2000 --hard --seed 1 --json > "$OUT/hard1-corpus.json"
$W bench labels "$OUT/hard1" "$OUT/hard1/labels.jsonl" --in-process --json | tee "$OUT/hard1-labels.json"
$W bench calibrate "$OUT/hard1" "$OUT/hard1/labels.jsonl" --json | tee "$OUT/calibrate.json"
$W bench boilerplate --json | tee "$OUT/boilerplate.json"
$W bench ingest --synthetic 2000 --baseline naive --json | tee "$OUT/ingest-2000.json"
$W bench ingest --synthetic 2000 --preload 42000 --json | tee "$OUT/ingest-over-1m.json"
$W bench query --index-size 10000 --requests 2000 --concurrency 64 --json | tee "$OUT/query-10k.json"
$W bench compare --pairs 500 --chars 5000 --json | tee "$OUT/compare-5000.json"
$W bench restart --articles 100000 --json | tee "$OUT/restart-100k.json"
$W bench redis --passages 1000000 --json | tee "$OUT/redis-1m.json"
