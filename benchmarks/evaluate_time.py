"""Wall time of `vimss evaluate` on a URMP-sized set: 40 pieces (2-4 players) of
generated tones in the URMP layout, the paper-size label-multiply U-Net (random
weights: time does not depend on them) plus the IRM/IBM/mix rows, whole pieces and
6-s segments.

    .venv/bin/python benchmarks/evaluate_time.py [--pieces 40] [--seconds 120] [--workers 2]

The pieces are the test suite's tones (`vimss_cli.evaluation.tone_dataset`): the time does not depend
on what plays.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

from harness import WORK, make_model

from vimss_cli.evaluation.tone_dataset import PITCH, write_piece


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pieces", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = WORK / f"urmp_{args.pieces}x{args.seconds:g}s"
    if not root.exists():
        rng = random.Random(0)
        for n in range(1, args.pieces + 1):
            players = rng.sample(sorted(PITCH), rng.randint(2, 4))
            write_piece(root, n, f"Piece{n}", players, seconds=args.seconds, sr=48000)
    model = make_model()
    vimss = str(Path(sys.executable).parent / "vimss")
    print(f"| {args.pieces} pieces x {args.seconds:g} s, 48 kHz | scoring | workers | wall s |")
    print("|---|---|---|---|")
    for segment in ([], ["--segment", "5.944"]):
        started = time.perf_counter()
        subprocess.run(
            [
                vimss,
                "evaluate",
                str(root),
                "-m",
                str(model),
                "-o",
                str(WORK / "eval"),
                "-d",
                "cpu",
                "--workers",
                str(args.workers),
                *segment,
            ],
            check=True,
            capture_output=True,
        )
        kind = "6-s segments" if segment else "whole pieces"
        print(
            f"| model + IRM + IBM + mix | {kind} | {args.workers} | {time.perf_counter() - started:.0f} |", flush=True
        )


if __name__ == "__main__":
    main()
