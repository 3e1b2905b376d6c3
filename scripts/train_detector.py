"""Train the bundled player detector `vimss-players` on frames of `vimss synth --video` pieces.

    mkdir -p data/scores-mid && cp data/urmp-train/*/Sco_*.mid data/scores-mid/   # quick-to-read MIDI scores
    .venv/bin/vimss synth data/video-urmp --layout urmp --video --pieces 240 --seconds 6 --max-parts 4 \
        --sample-rate 11025 --scores data/scores-mid --split all --seed 7 \
        --soundfont .venv/lib/python3.11/site-packages/pretty_midi/TimGM6mb.sf2
    .venv/bin/python scripts/train_detector.py data/video-urmp --out runs/detector --epochs 10

(The bundled detector's scores also included the Sco_*.mid of 75 more aligned pieces: 180 files.)

Writes a YOLO dataset and ultralytics' run under --out, then the detector (model YAML +
fp16 safetensors) to models/vimss-players with a card stating the data and its
validation mAP.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
from pathlib import Path

from vimss_cli.training.detector import detector_dataset, train_detector
from vimss_cli.video.detector import BUNDLED_DETECTOR

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, nargs="+", help="vimss synth --video folders")
    parser.add_argument("--out", type=Path, default=Path("runs/detector"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--frames", type=int, default=6, help="frames per video")
    parser.add_argument("--bundle", type=Path, default=ROOT / "models" / BUNDLED_DETECTOR)
    args = parser.parse_args()
    started = time.perf_counter()
    dataset = detector_dataset(args.data, args.out / "dataset", frames_per_video=args.frames)
    images = {split: len(list((args.out / "dataset" / "images" / split).glob("*.jpg"))) for split in ("train", "val")}
    folder = train_detector(dataset, args.out, epochs=args.epochs)
    minutes = (time.perf_counter() - started) / 60
    with open(args.out / "ultralytics" / "run" / "results.csv") as f:
        last = {k.strip(): v for k, v in list(csv.DictReader(f))[-1].items()}
    card = f"""# {BUNDLED_DETECTOR}

A one-class YOLOv8n ("player") trained from scratch by `scripts/train_detector.py` on frames of
`vimss synth --video` pieces ({", ".join(str(d) for d in args.data)}): {images["train"]} training and
{images["val"]} validation frames (320x180, {args.frames} per video, boxes from the synth manifest),
{args.epochs} epochs on CPU in {minutes:.0f} min. Validation: precision {float(last["metrics/precision(B)"]):.3f},
recall {float(last["metrics/recall(B)"]):.3f}, mAP50 {float(last["metrics/mAP50(B)"]):.3f},
mAP50-95 {float(last["metrics/mAP50-95(B)"]):.3f}.

`vimss separate` uses it when ultralytics' COCO person detector cannot be downloaded. It knows
the synthetic players only: for real videos, use the COCO weights (online) or `--detector`.
Stored as the model YAML plus fp16 safetensors; loading it unpickles nothing.
"""
    (folder / "README.md").write_text(card)
    if args.bundle.exists():
        shutil.rmtree(args.bundle)
    shutil.copytree(folder, args.bundle)
    print(card)


if __name__ == "__main__":
    main()
