"""What each `vimss synth --realism` step costs a model: fold A's pieces rendered again with one
group of steps at a time, the same pieces, instruments and notes (the draws follow the seed),
scored through `vimss evaluate` as paired SI-SDR improvements over the mix.

Fold A (`benchmarks/quality.py --set musescore`) differs from the old protocol's set in two ways
at once: its realism steps and its pieces (2-5 players drawn from every class, where the old set
has 2-4). With every step off (`none`), the rest of the gap is the pieces.

    .venv/bin/python benchmarks/realism_steps.py [--model vimss-labels ...] [--pieces 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from harness import WORK
from quality import MUSESCORE, SETS, paired_improvement, vimss

from vimss_cli.nets.checkpoints import folder_model_name

STEPS = {
    "none": "none",
    "performance": "vibrato,intonation,dynamics,timing",
    "calibration": "calibration",
    "room": "room",
    "eq-compression-noise": "eq,compression,noise",
    "all": "all",
}
"""Groups of realism steps, each rendered alone (`all`: fold A's own setting)."""


def method_name(model: str) -> str:
    """The name `vimss evaluate` gives a model: a folder's as `folder_model_name` says."""
    return folder_model_name(Path(model)) if Path(model).is_dir() else model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="default: vimss-labels")
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write {steps: {method: SI-SDRi}} here")
    args = parser.parse_args()
    models = args.model or ["vimss-labels"]
    fold_a = SETS["musescore"]
    base = fold_a[: fold_a.index("--realism")]
    assert MUSESCORE in base, "fold A renders with MuseScore_General"
    results: dict[str, dict[str, float]] = {}
    print("| realism steps | mix SI-SDR | " + " | ".join(models) + " | ideal ratio mask |")
    print("|---" * (3 + len(models)) + "|")
    for name, steps in STEPS.items():
        data = WORK / f"realism-{name}-{args.pieces}"
        vimss(
            "synth", str(data), *base, "--realism", steps, "--pieces", str(args.pieces), "--workers", str(args.workers)
        )
        out = WORK / f"realism-eval-{name}-{args.pieces}"
        model_args = [a for m in models for a in ("-m", m)]
        vimss("evaluate", str(data), *model_args, "-o", str(out), "-d", "cpu", "--workers", str(args.workers))
        rows = json.loads((out / "results.json").read_text())["rows"]
        methods = {r["method"] for r in rows} - {"mix", "ibm"}
        results[name] = {m: paired_improvement(rows, m, "si_sdr") for m in methods}
        mix = statistics.fmean(r["si_sdr"] for r in rows if r["method"] == "mix")
        cells = [f"{results[name][method_name(m)]:+.2f}" for m in models]
        print(f"| `{name}` | {mix:.2f} | " + " | ".join(cells) + f" | {results[name]['irm']:+.2f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
