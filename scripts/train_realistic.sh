#!/usr/bin/env bash
# One row of issue 14's transfer protocol: train on a fold's realistic corpus
# (scripts/realistic_corpus.sh) for a fixed number of steps, choosing checkpoints on validation
# pieces rendered with sample sets the row never trains on. Resumable: rerun to continue or extend.
#
#   FOLD=musescore ROW=all STEPS=1200 scripts/train_realistic.sh        # fine-tune vimss-labels
#   INIT= CORPUS=musescore-nophys VAL="data/fold-musescore-val data/fold-physical-val" \
#     RUN=scratch-nophys CONFIG=scripts/configs/realistic-from-scratch.json scripts/train_realistic.sh
#
# CORPUS (default $FOLD$SUFFIX) names data/solos-$CORPUS and data/urmp-$CORPUS; VAL (default the
# fold's validation folder) lists validation folders; INIT empty trains from scratch; RUN names the
# run folder (default $FOLD-$ROW). THREADS (default 2) torch threads; two rows side by side on
# 2 cores: THREADS=1 each. ARGS adds `vimss train` options (e.g. ARGS=--snapshots).
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
CORPUS=${CORPUS:-$FOLD$SUFFIX}
VAL=${VAL:-$DATA/fold-$FOLD-val}
INIT=${INIT-vimss-labels}
out="$RUNS/${RUN:-$FOLD-$ROW}"
args=(--data "$DATA/solos-$CORPUS" --data "$DATA/urmp-$CORPUS" --steps "$STEPS" --workers 1)
for v in $VAL; do args+=(--val-data "$v"); done
# shellcheck disable=SC2206 # ARGS is a list of options, split on purpose
args+=(${ARGS:-})
# shellcheck source=scripts/train_or_resume.sh
source "$(dirname "$0")/train_or_resume.sh"
train_or_resume "$out" "$CONFIG" "$INIT" "${args[@]}"
