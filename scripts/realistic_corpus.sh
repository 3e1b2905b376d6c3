#!/usr/bin/env bash
# Realistic training corpora and held-out folds (issue 14). Every call of `vimss synth` is
# resumable: rerun the script after an interruption and it continues where it stopped.
#
#   FOLD=musescore scripts/realistic_corpus.sh   # MuseScore_General held out: train on the other sample sets
#
# Writes $DATA/fold-$FOLD-test (40 test-split pieces rendered only with the held-out set, every realism
# step on: what the fold is scored on), $DATA/fold-$FOLD-val (24 train-split pieces, the same held-out
# set: checkpoint choice inside a run), and the training folders $DATA/solos-$FOLD / $DATA/urmp-$FOLD
# rendered with every other set. REALISM (default all) names the steps, for the ablation rows.
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
FOLD=${FOLD:-musescore}
REALISM=${REALISM:-all}
SUFFIX=${SUFFIX:-}
HOURS=${HOURS:-3}
WORKERS=${WORKERS:-2}
TIM=$(.venv/bin/python -c "import pretty_midi, os; print(os.path.dirname(pretty_midi.__file__))")/TimGM6mb.sf2
FLUID=/usr/share/sounds/sf2/FluidR3_GM.sf2
MUSESCORE=/usr/share/sounds/sf3/MuseScore_General.sf3
GMBANK=/usr/share/sounds/sf2/sf_GMbank.sf2
case $FOLD in
    musescore) HELD=("$MUSESCORE"); TRAIN=("$TIM" "$FLUID" "$GMBANK") ;;
    fluid) HELD=("$FLUID"); TRAIN=("$TIM" "$MUSESCORE" "$GMBANK") ;;
    *) echo "unknown FOLD $FOLD" >&2; exit 2 ;;
esac
held=(); for f in "${HELD[@]}"; do held+=(--soundfont "$f"); done
train=(); for f in "${TRAIN[@]}"; do train+=(--soundfont "$f"); done

# Held-out pieces: only the held-out sample set, every realism step (the fold's score).
$VIMSS synth "$DATA/fold-$FOLD-test" --layout urmp --split test --pieces 40 --min-parts 2 --max-parts 5 \
    --seconds 30 --seed 1 --sample-rate 22050 "${held[@]}" --realism all --workers "$WORKERS"
$VIMSS synth "$DATA/fold-$FOLD-val" --layout urmp --split train --pieces 24 --max-parts 5 --seconds 20 --seed 2 \
    --sample-rate 11025 "${held[@]}" --realism all --workers "$WORKERS"
# Training recordings and aligned pieces: every other sample set.
$VIMSS synth "$DATA/solos-$FOLD$SUFFIX" --layout solos --hours "$HOURS" --sample-rate 11025 "${train[@]}" \
    --realism "$REALISM" --workers "$WORKERS"
$VIMSS synth "$DATA/urmp-$FOLD$SUFFIX" --layout urmp --hours 0.75 --seconds 20 --max-parts 5 --sample-rate 11025 \
    "${train[@]}" --realism "$REALISM" --workers "$WORKERS"
