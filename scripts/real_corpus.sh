#!/usr/bin/env bash
# Issue 27's rendered corpora and folds with recorded notes, after scripts/real_instruments.py has
# fetched and laid out the recordings in $REAL (default data/real). Every `vimss synth` call is
# resumable: rerun the script after an interruption and it continues where it stopped.
#
#   scripts/real_corpus.sh            # fold R1's rendered validation pieces, and the Philharmonia corpora
#   FINAL=1 scripts/real_corpus.sh    # also fold R1's libraries as training corpora (the final model's)
#
# Fold R1 (`$REAL/folds/r1-pieces-val`): 24 train-split pieces played with the libraries no training
# row uses (Weresax, War Tuba, Meatbass, Smolken's bass, MTG's saxophones, Iowa, VSCO), each
# player on a library of its own instrument; its test pieces (test-split scores) are rendered by
# benchmarks/quality.py --set r1. Training: $DATA/solos-philharmonia$SUFFIX ($HOURS h of solo
# parts) and $DATA/urmp-philharmonia$SUFFIX (aligned pieces), played with the Philharmonia's notes.
# REALISM (default: the performance steps, as the soundfont recipe) names the steps; row all-recorded's
# corpora: SUFFIX=-recorded REALISM=vibrato,intonation,dynamics,timing,calibration,room,eq,compression,noise.
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
REAL=${REAL:-$DATA/real}
REALISM=${REALISM:-vibrato,intonation,dynamics,timing,calibration}
SUFFIX=${SUFFIX:-}
HOURS=${HOURS:-2}
WORKERS=${WORKERS:-2}
r1=(); for s in $(cat "$REAL/folds/r1-libraries.txt"); do r1+=(--soundfont "$REAL/sources/$s"); done

# A SUFFIX names a variant of the training corpora: the validation fold stays as it was rendered.
if [ -z "$SUFFIX" ]; then
    $VIMSS synth "$REAL/folds/r1-pieces-val" --layout urmp --split train --pieces 24 --max-parts 5 --seconds 20 \
        --seed 2 --sample-rate 11025 "${r1[@]}" --realism "$REALISM" --workers "$WORKERS"
fi
$VIMSS synth "$DATA/solos-philharmonia$SUFFIX" --layout solos --hours "$HOURS" --sample-rate 11025 \
    --soundfont "$REAL/sources/philharmonia" --realism "$REALISM" --workers "$WORKERS"
$VIMSS synth "$DATA/urmp-philharmonia$SUFFIX" --layout urmp --hours 0.75 --seconds 20 --max-parts 5 --sample-rate 11025 \
    --soundfont "$REAL/sources/philharmonia" --realism "$REALISM" --workers "$WORKERS"
# The final model trains on what the ablation held out too (FINAL=1): fold R1's libraries rendered
# the same way as the Philharmonia's notes (1 h of solo parts, 0.5 h of aligned pieces).
if [ -n "${FINAL:-}" ]; then
    $VIMSS synth "$DATA/solos-r1-libraries$SUFFIX" --layout solos --hours 1 --sample-rate 11025 "${r1[@]}" \
        --realism "$REALISM" --workers "$WORKERS"
    $VIMSS synth "$DATA/urmp-r1-libraries$SUFFIX" --layout urmp --hours 0.5 --seconds 20 --max-parts 5 \
        --sample-rate 11025 "${r1[@]}" --realism "$REALISM" --workers "$WORKERS"
fi
