#!/usr/bin/env bash
# How the bundled visual model `vimss-visual` and its comparison models were made (2 CPU cores,
# no GPU lent): synthetic videos, then three warm starts from the bundled label model that differ
# only in their side information (labels+visual final-multiply, visual-only final-multiply,
# unconditioned), the same 200 steps on the same data; the bundled one chosen by validation.
# Run from the repository root after `make install`; DATA and RUNS may be overridden.
set -euo pipefail
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
VIMSS=.venv/bin/vimss
TIMGM=$(.venv/bin/python -c "import pretty_midi, os; print(os.path.dirname(pretty_midi.__file__))")/TimGM6mb.sf2

# Quick-to-read MIDI scores: the Sco_*.mid of the aligned training pieces (scripts/train_default.sh
# renders them) and of the validation pieces.
mkdir -p "$DATA/scores-mid" "$DATA/scores-val"
cp "$DATA"/urmp-train/*/Sco_*.mid "$DATA/scores-mid/"
cp "$DATA"/urmp-val/*/Sco_*.mid "$DATA/scores-val/"

# Training videos: 240 aligned 6-s pieces (as for the detector) and 60 Solos-layout items (148
# recordings of 15 s, one video each, for mix-and-separate); validation: 24 pieces of 12 s with
# MuseScore_General, a soundfont training never hears.
$VIMSS synth "$DATA/video-urmp" --layout urmp --video --pieces 240 --seconds 6 --max-parts 4 \
    --sample-rate 11025 --scores "$DATA/scores-mid" --split all --seed 7 --soundfont "$TIMGM"
$VIMSS synth "$DATA/video-solos" --layout solos --video --pieces 60 --seconds 15 --max-parts 4 \
    --sample-rate 11025 --scores "$DATA/scores-mid" --seed 11 \
    --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 --soundfont "$TIMGM" --workers 2
$VIMSS synth "$DATA/video-val" --layout urmp --video --pieces 24 --seconds 12 --max-parts 4 \
    --sample-rate 11025 --scores "$DATA/scores-val" --split all --seed 2 \
    --soundfont /usr/share/sounds/sf3/MuseScore_General.sf3

# The three warm starts (features of every video are cached once per run folder: copy one run's
# features/ into the next to skip recomputing them).
for variant in labels-visual visual unconditioned; do
    $VIMSS train --data "$DATA/video-solos" --data "$DATA/video-urmp" --val-data "$DATA/video-val" \
        --init vimss-labels --config "scripts/configs/$variant-warm-start.json" --out "$RUNS/$variant-warm" --workers 1
done

# Bundle the labels+visual model's best checkpoint (validation SI-SDR improvement), fp16.
.venv/bin/python scripts/bundle_model.py "$RUNS/labels-visual-warm/best" models/vimss-visual \
    --details scripts/vimss-visual-details.md

# Held-out comparison on the same 40 test pieces as benchmarks/quality.py, with videos.
mkdir -p "$RUNS/compare"
rm -rf "$RUNS/compare/vimss-visual-only" "$RUNS/compare/vimss-unconditioned"
cp -r "$RUNS/visual-warm/best" "$RUNS/compare/vimss-visual-only"
cp -r "$RUNS/unconditioned-warm/best" "$RUNS/compare/vimss-unconditioned"
.venv/bin/python benchmarks/quality.py --pieces 40 --video --model vimss-labels --model vimss-visual \
    --model "$RUNS/compare/vimss-visual-only" --model "$RUNS/compare/vimss-unconditioned"
