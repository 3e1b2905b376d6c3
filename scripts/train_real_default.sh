#!/usr/bin/env bash
# The bundled vimss-labels of issue 27: the ablation's `all` recipe (scripts/train_real.sh ROW=all:
# the soundfont model, benchmarks/ablation/vimss-labels-soundfonts, fine-tuned 600 steps, lr 1e-4,
# every data folder pooled), trained on everything,
# the real folds' recordings included (fold R1's libraries, Bach's violin, Medley, the
# Philharmonia's held-out phrases): the held-out rows measured the recipe, and this model hears
# every real timbre there is here. Its step count is the held-out run's (validation still rose
# at its last step); `latest/` is bundled. Needs scripts/real_instruments.py and
# `FINAL=1 scripts/real_corpus.sh` first.
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
REAL=${REAL:-$DATA/real}
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
out=${OUT:-runs/real-default}
args=(--workers 1 --val-data "$DATA/fold-musescore-val")
for d in solos-musescore-today-performance urmp-musescore-today-performance solos-philharmonia urmp-philharmonia \
    solos-r1-libraries urmp-r1-libraries; do args+=(--data "$DATA/$d"); done
for p in philharmonia-train philharmonia-heldout-val philharmonia-heldout-test other-val other-test; do
    args+=(--data "$REAL/phrases/$p")
done
# shellcheck source=scripts/train_or_resume.sh
source "$(dirname "$0")/train_or_resume.sh"
train_or_resume "$out" scripts/configs/real-fine-tune.json benchmarks/ablation/vimss-labels-soundfonts "${args[@]}"
