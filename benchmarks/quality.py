"""Separation quality on the held-out synthetic URMP-layout set, through `vimss evaluate`.

The set is rendered by `vimss synth` from the scores of the test split (a fixed tenth
of the corpus that training data never uses) with MuseScore_General, a soundfont the
bundled models never heard, 2-4 players per piece. Rows: every bundled model (or the
--model given), the ideal ratio / binary mask oracles and the input mix; the
improvement columns are the mean paired difference to the mix on the same sources.

    .venv/bin/python benchmarks/quality.py [--pieces 40] [--model NAME_OR_FOLDER ...] [--segment 5.944] [--video]

--video renders the same pieces (the same audio) with a video of the players each
(`vimss synth --video`), so visual models can be scored beside the audio-only ones;
visual models see the players' recorded boxes.

The issue's floor for the default model: SI-SDR improvement >= +5 dB.
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

SOUNDFONT = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")
SYNTH_ARGS = ["--layout", "urmp", "--split", "test", "--min-parts", "2", "--max-parts", "4", "--seconds", "30",
              "--seed", "1", "--sample-rate", "22050"]  # fmt: skip


def vimss(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([VIMSS, *args], check=True, capture_output=True, text=True)


def render_test_set(pieces: int, workers: int, video: bool) -> Path:
    if not SOUNDFONT.is_file():
        sys.exit(f"{SOUNDFONT} is missing: run `make install` as root (musescore-general-soundfont) first")
    out = WORK / f"heldout-urmp-{'video-' * video}{pieces}"
    vimss("synth", str(out), *SYNTH_ARGS, "--pieces", str(pieces), "--soundfont", str(SOUNDFONT), "--workers", str(workers),
          *["--video"] * video)  # fmt: skip
    return out


def paired_improvement(rows: list[dict], method: str, metric: str) -> float:
    mix = {(r["piece"], r["segment"], r["instrument"]): r[metric] for r in rows if r["method"] == "mix"}
    diffs = [r[metric] - mix[key] for r in rows if r["method"] == method
             and (key := (r["piece"], r["segment"], r["instrument"])) in mix
             and r[metric] is not None and mix[key] is not None]  # fmt: skip
    return statistics.fmean(diffs) if diffs else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pieces", type=int, default=40)
    parser.add_argument("--model", action="append", help="default: every bundled model")
    parser.add_argument("--segment", type=float, help="score segments of this many seconds instead of whole pieces")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--video", action="store_true", help="render the pieces with videos (for visual models)")
    parser.add_argument("--out", type=Path, default=WORK / "quality")
    args = parser.parse_args()
    data = render_test_set(args.pieces, args.workers, args.video)
    models = args.model or [m["name"] for m in json.loads(vimss("models", "--json").stdout) if m["source"] == "bundled"]
    started = time.perf_counter()
    extra = ["--segment", str(args.segment)] if args.segment else []
    model_args = [a for m in models for a in ("-m", m)]
    vimss("evaluate", str(data), *model_args, "-o", str(args.out), "-d", "cpu", "--workers", str(args.workers), *extra)
    seconds = time.perf_counter() - started
    report = json.loads((args.out / "results.json").read_text())
    summary, rows = report["summary"], report["rows"]
    n_sources = {r["n_sources"] for r in rows}
    print(f"{args.pieces} held-out pieces ({min(n_sources)}-{max(n_sources)} sources), "
          f"{'whole pieces' if not args.segment else f'{args.segment:g}-s segments'}; evaluate took {seconds:.0f} s\n")  # fmt: skip
    print("| method | SI-SDR | SI-SDRi | SDR | SDRi | SIR | SAR |")
    print("|---|---|---|---|---|---|---|")
    for method in summary:
        s = summary[method]
        print(f"| {method} | {s['si_sdr']['mean']:.2f} | {paired_improvement(rows, method, 'si_sdr'):+.2f} | "
              f"{s['sdr']['mean']:.2f} | {paired_improvement(rows, method, 'sdr'):+.2f} | "
              f"{s['sir']['mean']:.2f} | {s['sar']['mean']:.2f} |")  # fmt: skip
    by_n = report["by_n_sources"]
    print("\nSI-SDR by number of sources: " + "; ".join(
        f"{key}: {value['si_sdr']['mean']:.2f}" for key, value in sorted(by_n.items())))  # fmt: skip


if __name__ == "__main__":
    main()
