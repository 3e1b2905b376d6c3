#!/usr/bin/env bash
# Realistic training corpora and held-out folds (issue 14). Every call of `vimss synth` is
# resumable: rerun the script after an interruption and it continues where it stopped.
#
#   FOLD=musescore scripts/realistic_corpus.sh   # MuseScore_General held out: train on the other sample sets
#
# Writes $DATA/fold-$FOLD-val (24 train-split pieces rendered only with the held-out sample set, every
# realism step on: checkpoint choice inside a run) and the training folders $DATA/solos-$FOLD$SUFFIX and
# $DATA/urmp-$FOLD$SUFFIX rendered with every other set. REALISM (default all) names the steps and SETS
# (default: every other set) the training sample sets, for the ablation rows. The fold's test pieces
# (test-split scores) are rendered by benchmarks/quality.py --set $FOLD.
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
    musescore) HELD=("$MUSESCORE"); TRAIN=("$TIM" "$FLUID" "$GMBANK" physical-models) ;;
    physical) HELD=(physical-models); TRAIN=("$TIM" "$FLUID" "$MUSESCORE" "$GMBANK") ;;
    *) echo "unknown FOLD $FOLD" >&2; exit 2 ;;
esac
if [ -n "${SETS:-}" ]; then read -r -a TRAIN <<< "$SETS"; fi
held=(); for f in "${HELD[@]}"; do held+=(--soundfont "$f"); done
train=(); for f in "${TRAIN[@]}"; do train+=(--soundfont "$f"); done

$VIMSS synth "$DATA/fold-$FOLD-val" --layout urmp --split train --pieces 24 --max-parts 5 --seconds 20 --seed 2 \
    --sample-rate 11025 "${held[@]}" --realism all --workers "$WORKERS"
# Training recordings and aligned pieces: every other sample set.
$VIMSS synth "$DATA/solos-$FOLD$SUFFIX" --layout solos --hours "$HOURS" --sample-rate 11025 "${train[@]}" \
    --realism "$REALISM" --workers "$WORKERS"
$VIMSS synth "$DATA/urmp-$FOLD$SUFFIX" --layout urmp --hours 0.75 --seconds 20 --max-parts 5 --sample-rate 11025 \
    "${train[@]}" --realism "$REALISM" --workers "$WORKERS"
