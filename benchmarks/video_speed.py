"""Speed of the video path on CPU, by stage, in seconds per minute of video.

    .venv/bin/python benchmarks/video_speed.py [--minutes 1] [--players 3] [--model vimss-visual] [--threads 2]

The input is a synthetic URMP-style video (`vimss synth --video`: 320x180, 15 fps, the
mix as a 44.1 kHz AAC track) of a piece from the test split. Stages, as `vimss separate
VIDEO` runs them, timed in this process with `--threads` torch threads:

- decode: the audio track (PyAV) and, for the features, the frames at each segment start;
- detection: loading the YOLO detector and finding and tracking the players on frames
  spread over the video (`players.find_players`, frame decoding included);
- features: the player crops through the model's ResNet-50;
- separation: the U-Net, overlap-add and Wiener filtering (`Separator.separate`).

Then the whole `vimss separate` command (a fresh process: imports and model loading
included) for the end-to-end time. Each stage is the median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from harness import WORK, synth_video_piece

from vimss_cli.dsp.audio import load_audio
from vimss_cli.nets.checkpoints import load_model
from vimss_cli.separator import Separator
from vimss_cli.video.detector import load_detector
from vimss_cli.video.features import VideoFeatures
from vimss_cli.video.players import find_players


def make_video(minutes: float, players: int) -> tuple[Path, list[str]]:
    """A synthetic piece of `players` parts with its video; (video, instruments left to right)."""
    piece = synth_video_piece(minutes, players)
    if piece.players != len(piece.instruments):
        sys.exit(f"{piece.folder.name}: two players share an instrument; pick another --players")
    return piece.video, list(piece.line_up)


class TimedFeatures(VideoFeatures):
    """VideoFeatures that keeps the time spent decoding frames and cropping apart from ResNet's."""

    decode = 0.0
    total = 0.0

    def crops(self, starts: list[float]) -> torch.Tensor:
        started = time.perf_counter()
        crops = super().crops(starts)
        self.decode += time.perf_counter() - started
        return crops

    def __call__(self, starts: list[float]) -> torch.Tensor:
        started = time.perf_counter()
        features = super().__call__(starts)
        self.total += time.perf_counter() - started
        return features


def stages(video: Path, instruments: list[str], model: str) -> dict[str, float]:
    """Seconds of each stage for one pass over the video."""
    loaded = load_model(model)
    separator = Separator(loaded.model)
    times: dict[str, float] = {}
    started = time.perf_counter()
    wave, rate = load_audio(video)
    times["decode"] = time.perf_counter() - started
    started = time.perf_counter()
    players = find_players(video, len(instruments), detector=load_detector)
    times["detection"] = time.perf_counter() - started
    assert loaded.model.visual is not None, "the video benchmark times a visual model"
    features = TimedFeatures(loaded.model.visual, video, players, separator.segment, loaded.model.config.visual_frames)
    started = time.perf_counter()
    separator.separate(wave, rate, instruments, visual=features)
    whole = time.perf_counter() - started
    times["decode"] += features.decode
    times["features"] = features.total - features.decode
    times["separation"] = whole - features.total
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--players", type=int, default=3)
    parser.add_argument("--model", default="vimss-visual")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    video, instruments = make_video(args.minutes, args.players)
    runs = [stages(video, instruments, args.model) for _ in range(args.repeats)]
    per_minute = {stage: statistics.median(r[stage] for r in runs) / args.minutes for stage in runs[0]}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    started = time.perf_counter()
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "vimss"),
            "separate",
            str(video),
            "-i",
            ",".join(instruments),
            "-m",
            args.model,
            "-o",
            str(WORK / "video-speed-out"),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    end_to_end = time.perf_counter() - started
    separated = json.loads(out.stdout)["tracks"][0]["seconds"]
    print(
        f"{video.name}: {args.minutes:g} min, {len(instruments)} players ({','.join(instruments)}), "
        f"model {args.model}, {args.threads} torch threads, {os.cpu_count()} CPUs; median of {args.repeats}\n"
    )
    print("| stage | seconds per minute of video | share |")
    print("|---|---|---|")
    total = sum(per_minute.values())
    for stage, seconds in per_minute.items():
        print(f"| {stage} | {seconds:.2f} | {seconds / total:.0%} |")
    print(f"| all stages | {total:.2f} | {60 / total:.1f}x real time |")
    print(
        f"\n`vimss separate` end to end (fresh process): {end_to_end / args.minutes:.2f} s per minute "
        f"({separated / args.minutes:.2f} s in separate_file)"
    )


if __name__ == "__main__":
    main()
