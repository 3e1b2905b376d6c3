"""Choose a run's weight average on its own validation mixtures (never on a test set).

    .venv/bin/python scripts/choose_average.py runs/NAME --val-data data/fold-musescore-val \\
        --val-data data/fold-physical-val [--out runs/NAME/averaged]

The run must have kept `snapshots/<step>/` (`vimss train --snapshots`). Each snapshot, and the
mean of the last k snapshots for every k, is scored on the run's fixed validation mixtures (the
ones `vimss train` chose `best/` on: one set per --val-data folder, the mean over them); the best
of them is saved to --out with a card that names the steps it averages and its validation score.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from vimss_cli.nets.checkpoints import load_folder, mean_model, model_card, save_pretrained
from vimss_cli.training.config import TrainConfig
from vimss_cli.training.sets import find_recordings, validation_set
from vimss_cli.training.validation import Validation, validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--val-data", type=Path, action="append", required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = TrainConfig.load(args.run / "train_config.json")
    snapshots = sorted((args.run / "snapshots").iterdir(), key=lambda p: int(p.name))
    val_sets = [validation_set(find_recordings([folder]), config) for folder in args.val_data]
    weights = {int(p.name): load_folder(p).model for p in snapshots}  # each read once
    steps = list(weights)
    # Candidates: each snapshot alone, and the mean of the last k for every k.
    candidates = [(s,) for s in steps] + [tuple(steps[-k:]) for k in range(2, len(steps) + 1)]
    scores: dict[tuple[int, ...], float] = {}
    for chosen in candidates:
        with torch.no_grad():
            averaged = mean_model([weights[s] for s in chosen])
            result = Validation.over_folds([validate(averaged, v, config, torch.device("cpu")) for v in val_sets])
        scores[chosen] = result.si_sdri
        folds = f"  (folds {' '.join(f'{v:+.3f}' for v in result.folds)})" if result.folds else ""
        print(f"{'+'.join(map(str, chosen)):>40}  {scores[chosen]:+.3f} dB{folds}", flush=True)
    best = max(scores, key=lambda s: scores[s])
    out = args.out or args.run / "averaged"
    model = mean_model([weights[s] for s in best])
    details = (
        f"The mean of the weights at steps {', '.join(map(str, best))} of `{args.run}`, chosen among every "
        f"snapshot and every mean of the last k snapshots on the run's validation mixtures: SI-SDR "
        f"improvement {scores[best]:+.2f} dB."
    )
    save_pretrained(model, out, card=model_card(out.name, model.config, details))
    (out / "choice.json").write_text(json.dumps({"+".join(map(str, s)): v for s, v in scores.items()}, indent=1) + "\n")
    print(f"{out}: steps {best}, {scores[best]:+.3f} dB")


if __name__ == "__main__":
    main()
