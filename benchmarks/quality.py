"""Separation quality on held-out synthetic URMP-layout sets, through `vimss evaluate`.

Every set is rendered by `vimss synth` from the scores of the test split (a fixed tenth of
the corpus that training data never uses) with a sample set the scored models are meant
not to have trained on. Sets (`--set`, repeat it; default: all three):

- `old`: the protocol of the first bundled models: MuseScore_General, played mechanically
  (no `--realism`), 2-4 players, 30 s at 22.05 kHz, seed 1.
- `musescore`: fold A of the transfer protocol: MuseScore_General with every realism step
  on (expressive performance, a room, EQ, compression and a noise floor per player), 2-5
  players. Models of fold A never train on MuseScore_General.
- `physical`: fold B: Csound's physical models with every realism step, 2-5 players.
  Models of fold B never train on them.
- `r1`: real fold R1's rendered pieces: test-split scores played with recorded notes of the
  libraries no training row uses (Weresax, War Tuba, Meatbass, Smolken's bass, MTG's
  saxophones, Iowa, VSCO; no viola among them), the performance steps and calibration, 2-5
  players; `--real DIR` (default data/real, from scripts/real_instruments.py) holds them.
- `r1-phrases`: fold R1's real playing: 40 pieces mixed from the test halves of the Bach solo
  violin and Medley-solos recordings (`DIR/folds/r1-phrases-test`, made by real_instruments.py).
- `r2`: fold R2: 40 pieces mixed from the Philharmonia's held-out phrases, test half
  (`DIR/folds/r2-test`): real playing by the players whose other recordings training hears.

Rows: every bundled model (or each --model), the ideal ratio / binary mask oracles and
the input mix; the improvement columns are the mean paired difference to the mix on the
same sources, overall and for every instrument the set holds (--json keeps them all).

    .venv/bin/python benchmarks/quality.py [--set old --set musescore ...] [--pieces 40] [--model NAME_OR_FOLDER ...]
        [--ablation] [--segment 5.944] [--video] [--json FILE] [--real data/real]

--ablation adds every kept ablation row (`benchmarks/ablation/<row>/`) to the models.

--video renders the sets with a video of the players each (`vimss synth --video`), so visual
models can be scored beside the audio-only ones; visual models see the players' recorded boxes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import VIMSS, WORK

from vimss_cli.instruments import ABBREVIATIONS

MUSESCORE = "/usr/share/sounds/sf3/MuseScore_General.sf3"
COMMON = [
    "--layout",
    "urmp",
    "--split",
    "test",
    "--min-parts",
    "2",
    "--seconds",
    "30",
    "--seed",
    "1",
    "--sample-rate",
    "22050",
]
SETS = {
    "old": [*COMMON, "--max-parts", "4", "--soundfont", MUSESCORE, "--realism", "none"],
    "musescore": [*COMMON, "--max-parts", "5", "--soundfont", MUSESCORE, "--realism", "all"],
    "physical": [*COMMON, "--max-parts", "5", "--soundfont", "physical-models", "--realism", "all"],
}
MIXED = {"r1-phrases": "r1-phrases-test", "r2": "r2-test"}
"""Real sets mixed by scripts/real_instruments.py: their folder under <real>/folds."""
REAL_REALISM = "vibrato,intonation,dynamics,timing,calibration"
ABLATION = Path(__file__).parent / "ablation"
"""Every ablation row's checkpoint (issue 14), scored with --ablation."""


def vimss(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([VIMSS, *args], check=True, capture_output=True, text=True)


def render_set(name: str, pieces: int, workers: int, video: bool, real: Path = Path("data/real")) -> Path:
    if name in MIXED:
        folder = real / "folds" / MIXED[name]
        if not folder.is_dir():
            sys.exit(f"{folder} is missing: run scripts/real_instruments.py first")
        return folder
    if name == "r1":
        listed = real / "folds" / "r1-libraries.txt"  # scripts/real_instruments.py names fold R1's libraries
        libraries = [a for s in listed.read_text().split() for a in ("--soundfont", str(real / "sources" / s))]
        out = WORK / f"heldout-r1-{pieces}"
        realism = ["--realism", REAL_REALISM]
        vimss(
            "synth",
            str(out),
            *COMMON,
            "--max-parts",
            "5",
            *libraries,
            *realism,
            "--pieces",
            str(pieces),
            "--workers",
            str(workers),
        )
        return out
    if name != "physical" and not Path(MUSESCORE).is_file():
        sys.exit(f"{MUSESCORE} is missing: run `make install` as root (musescore-general-soundfont) first")
    out = WORK / f"heldout-{name}-{'video-' * video}{pieces}"
    vimss("synth", str(out), *SETS[name], "--pieces", str(pieces), "--workers", str(workers), *["--video"] * video)
    return out


def paired_improvement(rows: list[dict], method: str, metric: str, instrument: str | None = None) -> float:
    mix = {(r["piece"], r["segment"], r["instrument"]): r[metric] for r in rows if r["method"] == "mix"}
    diffs = [
        r[metric] - mix[key]
        for r in rows
        if r["method"] == method
        and (instrument is None or r["instrument"] == instrument)
        and (key := (r["piece"], r["segment"], r["instrument"])) in mix
        and r[metric] is not None
        and mix[key] is not None
    ]
    return statistics.fmean(diffs) if diffs else float("nan")


def score_set(name: str, models: list[str], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """{method: {column: value}} on one set, and its table printed."""
    data = render_set(name, args.pieces, args.workers, args.video, args.real)
    out = args.out / name
    started = time.perf_counter()
    extra = ["--segment", str(args.segment)] if args.segment else []
    model_args = [a for m in models for a in ("-m", m)]
    vimss("evaluate", str(data), *model_args, "-o", str(out), "-d", "cpu", "--workers", str(args.workers), *extra)
    seconds = time.perf_counter() - started
    report = json.loads((out / "results.json").read_text())
    summary, rows = report["summary"], report["rows"]
    n_sources = {r["n_sources"] for r in rows}
    print(
        f"\n### Set `{name}`: {args.pieces} held-out pieces ({min(n_sources)}-{max(n_sources)} sources), "
        f"{'whole pieces' if not args.segment else f'{args.segment:g}-s segments'}; evaluate took {seconds:.0f} s\n"
    )
    present = [a for a in ABBREVIATIONS if any(r["instrument"] == a for r in rows)]
    print(
        "| method | SI-SDR | SI-SDRi | SDR | SDRi | SIR | SAR | " + " | ".join(f"SI-SDRi {i}" for i in present) + " |"
    )
    print("|---" * (7 + len(present)) + "|")
    table: dict[str, dict[str, float]] = {}
    for method in summary:
        s = summary[method]
        values = {
            "si_sdr": s["si_sdr"]["mean"],
            "si_sdri": paired_improvement(rows, method, "si_sdr"),
            "sdr": s["sdr"]["mean"],
            "sdri": paired_improvement(rows, method, "sdr"),
            "sir": s["sir"]["mean"],
            "sar": s["sar"]["mean"],
        }
        values |= {f"si_sdri_{i}": paired_improvement(rows, method, "si_sdr", i) for i in present}
        table[method] = values
        sar = "—" if method == "mix" else f"{values['sar']:.2f}"
        print(
            f"| {method} | {values['si_sdr']:.2f} | {values['si_sdri']:+.2f} | {values['sdr']:.2f} | "
            f"{values['sdri']:+.2f} | {values['sir']:.2f} | {sar} | "
            + " | ".join(f"{values[f'si_sdri_{i}']:+.2f}" for i in present)
            + " |"
        )
    by_n = report["by_n_sources"]
    print(
        "\nSI-SDR by number of sources: "
        + "; ".join(f"{key}: {value['si_sdr']['mean']:.2f}" for key, value in sorted(by_n.items()))
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--set", action="append", choices=sorted([*SETS, "r1", *MIXED]), help="default: old, musescore and physical"
    )
    parser.add_argument("--real", type=Path, default=Path("data/real"), help="scripts/real_instruments.py's folder")
    parser.add_argument("--pieces", type=int, default=40)
    parser.add_argument("--model", action="append", help="default: every bundled model")
    parser.add_argument(
        "--ablation", action="store_true", help="also score every kept ablation row (benchmarks/ablation/<row>/)"
    )
    parser.add_argument("--segment", type=float, help="score segments of this many seconds instead of whole pieces")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--video", action="store_true", help="render the pieces with videos (for visual models)")
    parser.add_argument("--out", type=Path, default=WORK / "quality")
    parser.add_argument("--json", type=Path, help="also write {set: {method: {column: value}}} here")
    args = parser.parse_args()
    models = args.model or [m["name"] for m in json.loads(vimss("models", "--json").stdout) if m["source"] == "bundled"]
    if args.ablation:
        models += sorted(str(row.parent) for row in ABLATION.glob("*/config.json"))
    results = {name: score_set(name, models, args) for name in args.set or ["old", "musescore", "physical"]}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
