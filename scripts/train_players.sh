#!/usr/bin/env bash
# The player splitter vimss-splitter (issue 30, part 2): a 6-block U-Net (8-256 filters) with FiLM on the
# class, trained from scratch on the pieces of scripts/players_corpus.sh (two neighbouring parts on one
# instrument; the Philharmonia's notes and FluidR3_GM), chosen on fold R1's libraries (doubled-val).
# scripts/configs/players.json: batch 16, Adam 1e-3, noise on a tenth, tape speed +-1 semitone; CONFIG picks another
# (scripts/configs/players-piece-order.json: the upper part by the whole piece's mean pitch, not the segment's),
# with an OUT of its own: a run whose OUT/latest exists is resumed with its saved config.
set -euo pipefail
DATA=${DATA:-data}
REAL=${REAL:-$DATA/real}
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
# shellcheck source=scripts/train_or_resume.sh
source "$(dirname "$0")/train_or_resume.sh"
train_or_resume "${OUT:-runs/players}" "${CONFIG:-scripts/configs/players.json}" "" --workers 2 \
    --data "$DATA/urmp-doubled" --val-data "$REAL/folds/doubled-val"
