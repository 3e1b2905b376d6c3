"""Keep one row of issue 14's ablation: a run's chosen checkpoint as fp16 safetensors with a
card that says its recipe, how long it trained, where validation peaked and every fold score.

    .venv/bin/python scripts/bundle_ablation_row.py runs/musescore-all +realism-all-sets \\
        --quality benchmarks/_work/row.json --method musescore-all-best [--checkpoint best]

Writes benchmarks/ablation/<row>/ (config.json, model.safetensors, README.md), a folder
`vimss separate -m` and `benchmarks/quality.py --model` take as they are.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from vimss_cli.instruments import ABBREVIATIONS
from vimss_cli.nets.checkpoints import load_folder, model_card, save_pretrained

ROOT = Path(__file__).resolve().parent.parent


def fold_table(quality: dict, method: str) -> str:
    """Every set's SI-SDRi and SDRi, and the SI-SDRi of each instrument the sets hold (a blank where a set has none)."""
    rows = {name: table[method] for name, table in quality.items() if method in table}
    present = [a for a in ABBREVIATIONS if any(f"si_sdri_{a}" in row for row in rows.values())]
    lines = [
        "| set | SI-SDRi | SDRi | " + " | ".join(f"SI-SDRi {a}" for a in present) + " |",
        "|---" * (3 + len(present)) + "|",
    ]
    for name, row in rows.items():
        cells = [f"{row['si_sdri']:+.2f}", f"{row['sdri']:+.2f}"]
        cells += [f"{row[f'si_sdri_{a}']:+.2f}" if f"si_sdri_{a}" in row else "" for a in present]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("row", help="what the row changes, e.g. +realism-all-sets")
    parser.add_argument("--checkpoint", default="best")
    parser.add_argument("--quality", type=Path, help="benchmarks/quality.py --json output")
    parser.add_argument("--method", help="the run's name in that output (default: <run>-<checkpoint>)")
    parser.add_argument("--recipe", default="", help="a sentence on what the row's data and model are")
    args = parser.parse_args()
    model = load_folder(args.run / args.checkpoint).model
    config = json.loads((args.run / "train_config.json").read_text())
    log = list(csv.DictReader((args.run / "log.csv").open()))
    peak = max(log, key=lambda r: float(r["val_si_sdri"]))
    last = log[-1]
    hours = float(last["seconds"]) / 3600
    details = [
        "## Recipe",
        "",
        args.recipe or "(see the run's train_config.json below)",
        "",
        f"- Run: `{args.run}`, checkpoint `{args.checkpoint}`; {int(last['step']):,} steps, "
        f"{int(last['examples']):,} mixtures, {hours:.2f} h of training on 2 CPU cores (no GPU).",
        f"- Validation (SI-SDR improvement on the fold's validation pieces) peaked at step {int(peak['step']):,}: "
        f"{float(peak['val_si_sdri']):+.2f} dB; at the last step {float(last['val_si_sdri']):+.2f} dB."
        + (f" Each fold there: {peak['val_si_sdri_folds']}." if peak.get("val_si_sdri_folds") else "")
        + (f" Report-only folds: {peak['val_si_sdri_report']}." if peak.get("val_si_sdri_report") else ""),
        "",
        "```json",
        json.dumps(config, indent=1),
        "```",
    ]
    if args.quality:
        quality = json.loads(args.quality.read_text())
        method = args.method or f"{args.run.name}-{args.checkpoint}"
        details += [
            "",
            "## Held-out sets (benchmarks/quality.py, whole pieces, 1 Wiener iteration)",
            "",
            fold_table(quality, method),
        ]
    target = ROOT / "benchmarks" / "ablation" / args.row
    card = model_card(args.row, model.config, "\n".join(details))
    save_pretrained(model, target, card=card, half=True)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
