"""Average checkpoints of one run into one model (weight averaging):

    .venv/bin/python scripts/average_checkpoints.py RUN/snapshots/2900 RUN/snapshots/3800 ... --out runs/averaged

Choose what to average by validation (`vimss evaluate VAL_PIECES -m runs/averaged`), never
by the held-out set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vimss_cli.nets.checkpoints import average_models, save_pretrained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    model = average_models(args.folders)
    card = f"# {args.out.name}\n\nThe mean of the weights of {', '.join(str(f) for f in args.folders)}.\n"
    print(save_pretrained(model, args.out, card=card))


if __name__ == "__main__":
    main()
