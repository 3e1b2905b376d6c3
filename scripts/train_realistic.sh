#!/usr/bin/env bash
# One row of issue 14's transfer protocol: fine-tune the bundled vimss-labels on a fold's realistic
# corpus (scripts/realistic_corpus.sh) for a fixed number of steps, choosing checkpoints on the fold's
# validation pieces (a sample set the row never trains on). Resumable: rerun to continue or extend.
#
#   FOLD=musescore ROW=all STEPS=1200 scripts/train_realistic.sh
#
# THREADS (default 2) torch threads; two rows side by side on 2 cores: THREADS=1 each.
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
FOLD=${FOLD:-musescore}
ROW=${ROW:-all}
SUFFIX=${SUFFIX:-}
STEPS=${STEPS:-1200}
CONFIG=${CONFIG:-scripts/configs/realistic-fine-tune.json}
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
out="$RUNS/$FOLD-$ROW"
args=(--data "$DATA/solos-$FOLD$SUFFIX" --data "$DATA/urmp-$FOLD$SUFFIX" --val-data "$DATA/fold-$FOLD-val"
      --out "$out" --steps "$STEPS" --workers 1)
if [ -d "$out/latest" ]; then
    $VIMSS train "${args[@]}" --resume
else
    $VIMSS train "${args[@]}" --config "$CONFIG" --init "${INIT:-vimss-labels}"
fi
