#!/usr/bin/env bash
# Independent check: generate the scenes (fixed seed) and score VENV_BIN/presstrack-track (ours and --baseline).
# Usage: independent_check/score.sh VENV_BIN OUT     e.g. score.sh /work/main/.venv/bin /tmp/indep_out
# Needs in VENV_BIN: presstrack-track and a python with numpy + motmetrics. Runs on 2 cores, nice'd.
set -euo pipefail
VENV_BIN=$(cd "$1" && pwd)
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
nice -n 10 "$VENV_BIN/python" "$HERE/gen.py" "$OUT/scenes"
nice -n 10 "$VENV_BIN/python" "$HERE/score.py" "$VENV_BIN" "$OUT/scenes" "$OUT" --jobs 2
echo "table: $OUT/results.md  json: $OUT/results.json" >&2
