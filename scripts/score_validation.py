"""Score models on a run's own validation mixtures: the folds its `best/` was chosen on, and any other.

    .venv/bin/python scripts/score_validation.py runs/real-all vimss-labels runs/real-sf/best \\
        --val-data data/real/folds/r1-pieces-val --val-data data/real/phrases/other-val

The run's train_config.json fixes the mixtures (seed, sizes), so every model sees the same ones
as the run's validations did: the bundled model's number is the run's step 0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vimss_cli.nets.checkpoints import load_model
from vimss_cli.training.config import TrainConfig
from vimss_cli.training.sets import find_recordings, validation_set
from vimss_cli.training.validation import Validation, validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--val-data", type=Path, action="append", required=True)
    args = parser.parse_args()
    config = TrainConfig.load(args.run / "train_config.json")
    val_sets = [validation_set(find_recordings([folder]), config) for folder in args.val_data]
    for spec in args.models:
        model = load_model(spec).model
        result = Validation.over_folds([validate(model, v, config, torch.device("cpu")) for v in val_sets])
        folds = " ".join(f"{v:+.3f}" for v in result.folds)
        print(f"{spec:>40}  {result.si_sdri:+.3f} dB  (folds {folds})", flush=True)


if __name__ == "__main__":
    main()
