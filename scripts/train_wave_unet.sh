#!/usr/bin/env bash
# The label-conditioned Wave-U-Net compared with vimss-labels in the README: the same data as
# scripts/train_default.sh (make it first), a CPU-sized configuration (9 levels, 16·i filters,
# 11025 Hz, 40947 samples in, 24581 out; scripts/configs/wave-unet-small.json). The README's
# 12-level settings are scripts/configs/wave-unet-{22050,11025}.json (a GPU's work).
set -euo pipefail
VIMSS=${VIMSS:-.venv/bin/vimss}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
$VIMSS train --data "$DATA/solos-train" --data "$DATA/urmp-train" --val-data "$DATA/urmp-val" \
    --config scripts/configs/wave-unet-small.json --out "$RUNS/wave-unet-small" --workers 1
.venv/bin/python scripts/bundle_model.py "$RUNS/wave-unet-small/best" models/vimss-wave --details scripts/vimss-wave-details.md
# Side by side on the held-out set, and speed and memory on the same inputs.
.venv/bin/python benchmarks/quality.py --pieces 40 --model vimss-labels --model vimss-wave \
    --out benchmarks/_work/quality-wave
.venv/bin/python benchmarks/speed.py --wiener 1
.venv/bin/python benchmarks/memory.py --minutes 3 10 --video-minutes 1
