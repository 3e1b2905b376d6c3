"""Peak memory of `vimss separate` as the input grows: the target is flat (streaming), and
no more than 1.5 GB at 60 minutes for the label-conditioned U-Net.

    .venv/bin/python benchmarks/memory.py [--minutes 1 10 60] [--video-minutes 1 10] [--threads 2]

Each row is a fresh process separating a 44.1 kHz stereo file (one Wiener iteration),
with its own peak RSS from wait4(); on a GPU also the peak GPU memory torch allocated
(`vimss separate --json` reports it). Visual models separate the same audio under a
synthetic video of a trio, up to `--video-minutes` (rendering a 60-minute video takes
longer than the rest of the benchmarks together). The process's floor is importing torch
(about 0.7 GB resident with the CUDA build of the wheel) and the model.
"""

from __future__ import annotations

import argparse
import sys

import torch
from harness import bundled, machine, make_input, make_video_input, vimss_separate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    parser.add_argument("--video-minutes", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    devices = ["cpu"] + ["cuda"] * torch.cuda.is_available()
    models = bundled()
    print(f"Machine: {machine()}\n")
    print("| model | device | input minutes | separation s | peak RSS MB | peak GPU MB |")
    print("|---|---|---|---|---|---|")
    for device in devices:
        for model in models:
            for minutes in args.video_minutes if model.visual else args.minutes:
                path, instruments = (
                    make_video_input(minutes) if model.visual else (make_input(minutes), ["vn", "va", "vc"])
                )
                run = vimss_separate(
                    path,
                    model.name,
                    ",".join(instruments),
                    wiener=int(model.masks),
                    device=device,
                    threads=args.threads,
                )
                track = run.summary["tracks"][0]
                print(
                    f"| {model.name}{' (video)' * model.visual} | {device} | {minutes:g} | "
                    f"{track['seconds']:.1f} | {run.rss_mb:.0f} | "
                    f"{track.get('gpu_peak_mb', '-')} |",
                    flush=True,
                )
                print(f"{model.name} {minutes:g} min done", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
