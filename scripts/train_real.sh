#!/usr/bin/env bash
# One row of issue 27's ablation: train on a row's data, choosing checkpoints on the mean of the
# real folds (R1: rendered pieces and real phrases of libraries and players no row trains on; R2:
# the Philharmonia's held-out phrases), with the synthetic fold A logged beside (--report-data).
# Resumable: rerun to continue or extend.
#
#   ROW=sf scripts/train_real.sh          # soundfonts only (the performance corpus of issue 14)
#   ROW=notes | phrases | all | shares    # + the Philharmonia's notes | + its phrases | both | both in set shares
#   ROW=all-eq | all-eq8 | all-eq-speed    # all, with source_eq_db 4.5 | 8 | 4.5 and speed_semitones 1
#   ROW=all-recorded                       # all, the Philharmonia's notes rendered through the recording
#                                          # chain (room, EQ, compression, noise; see the LOG's twelfth session)
#
# INIT (default benchmarks/ablation/vimss-labels-soundfonts, the soundfont model: the bundled
# vimss-labels has heard the real folds' recordings, so a row started from it is not held out;
# empty: from scratch), CONFIG (default scripts/configs/real-fine-tune.json;
# ROW=shares: real-fine-tune-shares.json), STEPS, RUN (default runs/real-$ROW), THREADS (default 2).
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
REAL=${REAL:-$DATA/real}
RUNS=${RUNS:-runs}
ROW=${ROW:-all}
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
INIT=${INIT-benchmarks/ablation/vimss-labels-soundfonts}
case $INIT in
    vimss-labels | models/vimss-labels | */models/vimss-labels)
        echo "INIT=$INIT trained on the real folds' recordings: a row started from it is not held out" >&2
        exit 2 ;;
esac
SF=("$DATA/solos-musescore-today-performance" "$DATA/urmp-musescore-today-performance")
NOTES=("$DATA/solos-philharmonia" "$DATA/urmp-philharmonia")
PHRASES=("$REAL/phrases/philharmonia-train")
case $ROW in
    sf) SETS=("${SF[@]}") ;;
    notes) SETS=("${SF[@]}" "${NOTES[@]}") ;;
    phrases) SETS=("${SF[@]}" "${PHRASES[@]}") ;;
    all) SETS=("${SF[@]}" "${NOTES[@]}" "${PHRASES[@]}") ;;
    shares) SETS=("${SF[@]}" "${NOTES[@]}" "${PHRASES[@]}"); CONFIG=${CONFIG:-scripts/configs/real-fine-tune-shares.json} ;;
    all-recorded) SETS=("${SF[@]}" "${NOTES[@]/%/-recorded}" "${PHRASES[@]}") ;;
    all-eq | all-eq8 | all-eq-speed)
        SETS=("${SF[@]}" "${NOTES[@]}" "${PHRASES[@]}"); CONFIG=${CONFIG:-scripts/configs/real-fine-tune-${ROW#all-}.json} ;;
    *) SETS=(${SETS_OVERRIDE:?unknown ROW $ROW: give SETS_OVERRIDE}) ;;
esac
CONFIG=${CONFIG:-scripts/configs/real-fine-tune.json}
VAL=${VAL:-"$REAL/folds/r1-pieces-val $REAL/phrases/other-val $REAL/phrases/philharmonia-heldout-val"}
REPORT=${REPORT:-$DATA/fold-musescore-val}
out="$RUNS/${RUN:-real-$ROW}"
args=(--workers 1)
for d in "${SETS[@]}"; do args+=(--data "$d"); done
for v in $VAL; do args+=(--val-data "$v"); done
for r in $REPORT; do args+=(--report-data "$r"); done
if [ -n "${STEPS:-}" ]; then args+=(--steps "$STEPS"); fi
# shellcheck disable=SC2206 # ARGS is a list of options, split on purpose
args+=(${ARGS:-})
# shellcheck source=scripts/train_or_resume.sh
source "$(dirname "$0")/train_or_resume.sh"
train_or_resume "$out" "$CONFIG" "$INIT" "${args[@]}"
