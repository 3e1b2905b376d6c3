#!/usr/bin/env bash
# The instrument recogniser vimss-recognizer (issue 30, part 1): a label model's encoder with a
# classifier (held out: the soundfont model's, train_real.sh's INIT; FINAL: the bundled
# vimss-labels'), trained 2,000 steps (batch 16, Adam 5e-4, 2-5 sources, timbre EQ 6 dB and noise
# on a quarter of the mixtures; scripts/configs/recognizer.json) on the data of issue 27's `all` row.
#
#   scripts/train_recognizer.sh            # held out: chosen on the real folds R1 and R2 (runs/recognizer-heldout),
#                                          # what benchmarks/recognition.py measures
#   FINAL=1 scripts/train_recognizer.sh    # the bundled one: the same recipe on everything, the real
#                                          # folds' recordings included (runs/recognizer-final; latest/ is bundled)
set -euo pipefail
DATA=${DATA:-data}
REAL=${REAL:-$DATA/real}
if [ -z "${FINAL:-}" ]; then
    ROW=all CONFIG=scripts/configs/recognizer.json RUN=${RUN:-recognizer-heldout} exec "$(dirname "$0")/train_real.sh"
fi
VIMSS=${VIMSS:-.venv/bin/vimss}
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
args=(--workers 1 --val-data "$DATA/fold-musescore-val")
for d in solos-musescore-today-performance urmp-musescore-today-performance solos-philharmonia urmp-philharmonia \
    solos-r1-libraries urmp-r1-libraries; do args+=(--data "$DATA/$d"); done
for p in philharmonia-train philharmonia-heldout-val philharmonia-heldout-test other-val other-test; do
    args+=(--data "$REAL/phrases/$p")
done
# shellcheck source=scripts/train_or_resume.sh
source "$(dirname "$0")/train_or_resume.sh"
train_or_resume "${OUT:-runs/recognizer-final}" scripts/configs/recognizer.json vimss-labels "${args[@]}"
