"""Ship a trained checkpoint inside the package as fp16 safetensors with its model card.

.venv/bin/python scripts/bundle_model.py RUN_DIR/best models/vimss-labels --details CARD.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vimss_cli.nets.checkpoints import load_weights, model_card, save_pretrained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--details", type=Path, required=True, help="markdown: training data, recipe, quality")
    args = parser.parse_args()
    model = load_weights(args.checkpoint)  # any architecture: a recogniser too
    card = model_card(args.target.name, model.config, args.details.read_text().strip())
    save_pretrained(model, args.target, card=card, half=True)
    print(f"wrote {args.target}")


if __name__ == "__main__":
    main()
