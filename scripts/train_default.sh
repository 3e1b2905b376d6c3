#!/usr/bin/env bash
# The recipe of the bundled default model `vimss-labels` (see models/vimss-labels/README.md).
# CPU-sized: 2.7 h of training recordings + 0.6 h of aligned pieces, a 1.2 M-parameter label-multiply U-Net.
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
TIM=$(.venv/bin/python -c "import pretty_midi, os; print(os.path.dirname(pretty_midi.__file__))")/TimGM6mb.sf2
FLUID=/usr/share/sounds/sf2/FluidR3_GM.sf2
MUSESCORE=/usr/share/sounds/sf3/MuseScore_General.sf3

# Training recordings: train-split scores, two soundfonts (MuseScore_General is kept for validation and test).
$VIMSS synth "$DATA/solos-train" --layout solos --hours 3 --sample-rate 11025 \
    --soundfont "$TIM" --soundfont "$FLUID" --workers 2
# Aligned pieces (players in time and in harmony), half of the mixtures from step 1,300 on.
$VIMSS synth "$DATA/urmp-train" --layout urmp --hours 0.75 --seconds 20 --max-parts 4 --sample-rate 11025 \
    --soundfont "$TIM" --soundfont "$FLUID" --workers 2
# Validation pieces: train-split scores rendered with the soundfont training never uses.
$VIMSS synth "$DATA/urmp-val" --layout urmp --pieces 24 --seed 2 --sample-rate 11025 --max-parts 4 --seconds 20 \
    --soundfont "$MUSESCORE" --workers 2
# FiLM-encoder and label-multiply (the paper's best label variants) for the same 200 steps; keep the better.
for c in label-multiply film-encoder; do
    $VIMSS train --data "$DATA/solos-train" --val-data "$DATA/urmp-val" --config "scripts/configs/$c.json" \
        --out "$RUNS/$c" --steps 200 --workers 0
done
$VIMSS train --data "$DATA/solos-train" --val-data "$DATA/urmp-val" --out "$RUNS/label-multiply" --resume \
    --steps 1300 --workers 1
# Then snapshots of latest/ along the rest of the run, for weight averaging.
mkdir -p "$RUNS/snapshots"
for steps in 2900 3800 4000 4200 4400; do
    $VIMSS train --data "$DATA/solos-train" --data "$DATA/urmp-train" --val-data "$DATA/urmp-val" \
        --out "$RUNS/label-multiply" --resume --steps "$steps" --workers 1
    cp -r "$RUNS/label-multiply/latest" "$RUNS/snapshots/$steps"
done
# Bundled: the mean of the snapshots that scores best on the validation pieces (whole pieces, 1 Wiener iteration).
.venv/bin/python scripts/average_checkpoints.py ${AVERAGE:-"$RUNS"/snapshots/*} --out "$RUNS/averaged"
$VIMSS evaluate "$DATA/urmp-val" -m "$RUNS/averaged" -o "$RUNS/averaged-val"
.venv/bin/python scripts/bundle_model.py "$RUNS/averaged" models/vimss-labels \
    --details scripts/vimss-labels-details.md
.venv/bin/python benchmarks/quality.py --pieces 40
