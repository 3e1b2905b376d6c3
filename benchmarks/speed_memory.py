"""Speed and memory of `vimss separate` (issue targets: >= 50x real time on 2 CPU threads
with one Wiener iteration on a 3-minute 44.1 kHz input; peak RSS flat in input length).

    .venv/bin/python benchmarks/speed_memory.py [--minutes 3 60] [--wiener 0 1 2]

Each run is a fresh `vimss separate` process (2 threads), timed end to end and by the
separation alone (the --json summary), with its peak RSS from wait4(). Models: `paper`
(the paper-size label-multiply U-Net, 4.8 M parameters, random weights: speed and memory do
not depend on the weights) and any `--model` spec `vimss separate -m` takes, e.g. the bundled
`vimss-labels`; all in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
SR = 44100


def make_input(minutes: float) -> Path:
    """A stereo 44.1 kHz FLAC of harmonic tones and noise, written block by block."""
    path = WORK / f"input_{minutes:g}min.flac"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    tmp = path.with_suffix(".partial.flac")
    with sf.SoundFile(tmp, "w", SR, 2, subtype="PCM_16") as f:
        for start in range(0, int(minutes * 60 * SR), 10 * SR):
            t = (start + np.arange(10 * SR)) / SR
            f0 = rng.choice([196.0, 261.6, 329.6, 440.0, 587.3])
            tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
            block = np.stack([tone, 0.5 * tone]) * 0.2 + 0.01 * rng.standard_normal((2, len(t)))
            f.write(block.T.astype(np.float32))
    tmp.rename(path)
    return path


def make_model() -> Path:
    from vimss_cli.checkpoints import save_pretrained
    from vimss_cli.config import ModelConfig
    from vimss_cli.unet import build_model

    folder = WORK / "unet-label-multiply-random"
    if not folder.exists():
        torch.manual_seed(0)
        save_pretrained(build_model(ModelConfig(conditioning="label-multiply", context="labels")), folder)
    return folder


def run(path: Path, model: str, wiener: int, threads: int) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [str(Path(sys.executable).parent / "vimss"), "separate", str(path), "-i", "vn,va,vc", "-m", str(model),
           "-o", str(WORK / "out"), "-d", "cpu", "--wiener-iterations", str(wiener), "--json"]  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
        wall = time.perf_counter() - started
        out.seek(0), err.seek(0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"vimss failed: {err.read().decode()}")
        summary = json.loads(out.read())
    return {"wall": wall, "separate": summary["tracks"][0]["seconds"], "rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[3, 60])
    parser.add_argument("--wiener", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", nargs="+", default=["paper"], help="'paper' or a vimss model spec")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    models = {name: str(make_model()) if name == "paper" else name for name in args.model}
    print(f"# vimss separate, {args.threads} CPU threads, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")  # fmt: skip
    print("| model | input | Wiener iterations | wall s (process) | separation s | real-time factor (separation) | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for minutes in args.minutes:
        path = make_input(minutes)
        for name, spec in models.items():
            for wiener in args.wiener if minutes == args.minutes[0] else [1]:
                r = run(path, spec, wiener, args.threads)
                print(f"| {name} | {minutes:g} min 44.1 kHz stereo | {wiener} | {r['wall']:.1f} | {r['separate']:.1f} | "
                      f"{minutes * 60 / r['separate']:.1f}x | {r['rss_mb']:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
