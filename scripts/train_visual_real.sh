#!/usr/bin/env bash
# The bundled vimss-visual of issue 27, part 5: warm-started from the bundled vimss-labels (which
# hears the real recordings) on synthetic videos whose audio is played with the Philharmonia's
# recorded notes and FluidR3_GM, with the performance steps; otherwise scripts/train_visual.sh's
# recipe (labels + visual final-multiply, Adam 1e-4, batch 8, 200 steps, best on 24 MuseScore_General
# validation pieces with videos). Needs scripts/real_instruments.py and the corpora of
# scripts/realistic_corpus.sh / real_corpus.sh (their train-split scores are read again here).
# Resumable: rerun to continue.
set -euo pipefail
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
VIMSS=${VIMSS:-.venv/bin/vimss}
export OMP_NUM_THREADS=${THREADS:-2} MKL_NUM_THREADS=${THREADS:-2}
REALISM=vibrato,intonation,dynamics,timing
SETS=(--soundfont "$DATA/real/sources/philharmonia" --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2)

mkdir -p "$DATA/scores-train-mid" "$DATA/scores-val-mid"
cp -f "$DATA"/urmp-musescore-today-performance/*/Sco_*.mid "$DATA/scores-train-mid/"  # urmp-philharmonia plays the same
cp -f "$DATA"/fold-musescore-val/*/Sco_*.mid "$DATA/scores-val-mid/"

synth() {  # OUT ARGS...: render once (a finished set has its manifest)
    local out=$1
    shift
    [ -f "$out/manifest.json" ] || $VIMSS synth "$out" --video --sample-rate 11025 --max-parts 4 --realism "$REALISM" "$@"
}
synth "$DATA/video-urmp-real" --layout urmp --pieces 240 --seconds 6 --scores "$DATA/scores-train-mid" --split all \
    --seed 7 "${SETS[@]}" --workers 2
synth "$DATA/video-solos-real" --layout solos --pieces 60 --seconds 15 --scores "$DATA/scores-train-mid" --seed 11 \
    "${SETS[@]}" --workers 2
synth "$DATA/video-val-musescore" --layout urmp --pieces 24 --seconds 12 --scores "$DATA/scores-val-mid" --split all \
    --seed 2 --soundfont /usr/share/sounds/sf3/MuseScore_General.sf3 --workers 2

# shellcheck source=scripts/train_or_resume.sh
source "$(dirname "$0")/train_or_resume.sh"
train_or_resume "$RUNS/visual-real-warm" scripts/configs/labels-visual-warm-start.json vimss-labels \
    --data "$DATA/video-solos-real" --data "$DATA/video-urmp-real" --val-data "$DATA/video-val-musescore" --workers 1
