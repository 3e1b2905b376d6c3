"""Speed of `vimss separate` beside Open-Unmix and Demucs, on the same 3-minute 44.1 kHz
stereo file, in one run and one process setting.

    .venv/bin/python benchmarks/speed.py [--minutes 3] [--threads 2] [--devices cpu cuda]

Every row is a fresh process with `--threads` OpenMP/MKL threads (and the GPU, on `cuda`):
each bundled model with 0, 1 and 2 Wiener iterations (the Wave-U-Net has no masks to refine:
one row), then the peers' architectures with random weights (speed does not depend on them;
`benchmarks/peers.py` runs them as their own command lines do): Open-Unmix `umxl` with 0, 1
and 2 EM iterations and Demucs `htdemucs`. Visual models read the same audio under the video
of a trio (`harness.make_video_input`), so their time includes finding the players and
ResNet-50 on their crops. vimss rows are the median of `--repeats` runs (this kind of shared
machine varies by 10-25% from minute to minute). The real-time factor is the input's length over the seconds from
opening the file to the stems written; process wall time adds the start-up (imports, model
loading). Then `benchmarks/stages.py`'s per-stage split of each bundled model at one Wiener
iteration. Issue targets: >= 50x on 2 CPU threads with one Wiener iteration and >= 500x on
one H100-class GPU for the label-conditioned U-Net, faster than both peers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import torch
from harness import (
    ROOT,
    WORK,
    Bundled,
    bundled,
    cpu_env,
    machine,
    make_input,
    make_video_input,
    run_process,
    vimss_separate,
)

STAGES = ["decode", "resample", "STFT", "network", "interpolate", "Wiener", "ISTFT", "write", "other"]


def rows_for(
    models: list[Bundled],
    device: str,
    minutes: float,
    threads: int,
    wiener: list[int],
    repeats: int,
) -> list[str]:
    audio = make_input(minutes)
    seconds = 60 * minutes
    rows = []

    def row(name: str, params: int, iterations: str, runs: list) -> str:
        run = sorted(runs, key=lambda r: r.summary["tracks"][0]["seconds"])[len(runs) // 2]  # the median run
        took = run.summary["tracks"][0]["seconds"]
        return (
            f"| {name} | {params / 1e6:.1f} M | {device} | {iterations} | {took:.2f} | **{seconds / took:.1f}×** | "
            f"{run.wall:.1f} | {run.rss_mb:.0f} |"
        )

    for model in models:
        path, instruments = make_video_input(minutes) if model.visual else (audio, ["vn", "va", "vc"])
        for w in wiener if model.masks else [0]:
            runs = [
                vimss_separate(path, model.name, ",".join(instruments), wiener=w, device=device, threads=threads)
                for _ in range(repeats)
            ]
            rows.append(
                row(model.name + " (video)" * model.visual, model.parameters, str(w) if model.masks else "-", runs)
            )
            print(rows[-1], file=sys.stderr, flush=True)
    for peer in ("umxl", "htdemucs"):
        for w in wiener if peer == "umxl" else [0]:
            with tempfile.TemporaryDirectory(dir=WORK) as out:
                cmd = [
                    sys.executable,
                    str(ROOT / "benchmarks" / "peers.py"),
                    peer,
                    str(audio),
                    out,
                    "--wiener",
                    str(w),
                    "--device",
                    device,
                ]
                run = run_process(cmd, cpu_env(threads))
            rows.append(
                row(
                    f"{peer} (peer, random weights)",
                    run.summary["parameters"],
                    str(w) if peer == "umxl" else "-",
                    [run],
                )
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def stage_rows(models: list[Bundled], device: str, minutes: float, threads: int) -> list[str]:
    rows = []
    for model in models:
        if model.visual:  # its extra stages (detection, features) are benchmarks/video_speed.py's
            continue
        cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / "stages.py"),
            str(make_input(minutes)),
            model.name,
            "vn,va,vc",
            "--wiener",
            str(int(model.masks)),
            "--device",
            device,
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=cpu_env(threads))
        result = json.loads(out.stdout)
        cells = [f"{result['stages'][stage]:.2f}" if stage in result["stages"] else "-" for stage in STAGES]
        rows.append(f"| {model.name} | {device} | {' | '.join(cells)} | {result['total']:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--wiener", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="cuda rows only where a GPU is present")
    parser.add_argument("--repeats", type=int, default=3, help="vimss rows: the median of this many runs")
    args = parser.parse_args()
    devices = [d for d in args.devices if d != "cuda" or torch.cuda.is_available()]
    models = bundled()
    print(f"Machine: {machine()}\n")
    print(
        f"{args.minutes:g}-minute 44.1 kHz stereo input, {args.threads} CPU threads per process; vimss rows are the "
        f"median of {args.repeats} runs, the peers' (10-30x slower) one run"
        f"{'' if 'cuda' in devices else '; no GPU on this machine, so no GPU rows'}.\n"
    )
    print(
        "| model | parameters | device | Wiener iterations | separation s | real-time factor | "
        "process wall s | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for device in devices:
        print("\n".join(rows_for(models, device, args.minutes, args.threads, args.wiener, args.repeats)), flush=True)
    print(
        f"\nWhere the time goes (`benchmarks/stages.py`, one Wiener iteration where there are masks; decoding and "
        f"writing run inline here, in a background thread in `vimss separate`), seconds for {args.minutes:g} min:\n"
    )
    print(f"| model | device | {' | '.join(STAGES)} | total |")
    print("|---|---|" + "---|" * (len(STAGES) + 1))
    for device in devices:
        print("\n".join(stage_rows(models, device, args.minutes, args.threads)), flush=True)


if __name__ == "__main__":
    main()
