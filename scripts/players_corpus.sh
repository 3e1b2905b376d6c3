#!/usr/bin/env bash
# Issue 30 part 2's data: pieces in which two neighbouring parts play one instrument (`--doubled 1`),
# for the player splitter (nets/splitter.py). Resumable like every `vimss synth` call.
#   training:   $DATA/urmp-doubled            train-split scores, the Philharmonia's notes and FluidR3_GM
#   validation: $REAL/folds/doubled-val       train-split scores, fold R1's libraries (recordings no training set has)
#   test:       $REAL/folds/doubled-test-r1   test-split scores, fold R1's libraries
#               $REAL/folds/doubled-test-ms   test-split scores, MuseScore_General (a soundfont no training set has)
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
REAL=${REAL:-$DATA/real}
WORKERS=${WORKERS:-2}
PIECES=${PIECES:-500}
REALISM=vibrato,intonation,dynamics,timing,calibration,mixed-sets
r1=(); for s in $(cat "$REAL/folds/r1-libraries.txt"); do r1+=(--soundfont "$REAL/sources/$s"); done
common=(--layout urmp --seconds 12 --min-parts 3 --max-parts 5 --sample-rate 11025 --doubled 1 --realism "$REALISM"
    --workers "$WORKERS")

$VIMSS synth "$REAL/folds/doubled-val" --split train --pieces 96 --seed 2 "${r1[@]}" "${common[@]}"
$VIMSS synth "$REAL/folds/doubled-test-r1" --split test --pieces 40 --seed 3 "${r1[@]}" "${common[@]}"
$VIMSS synth "$REAL/folds/doubled-test-ms" --split test --pieces 40 --seed 3 \
    --soundfont /usr/share/sounds/sf3/MuseScore_General.sf3 "${common[@]}"
$VIMSS synth "$DATA/urmp-doubled" --split train --pieces "$PIECES" --seed 0 \
    --soundfont "$REAL/sources/philharmonia" --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 "${common[@]}"
