"""What the benchmarks share: their inputs, a fresh-process runner that reads the child's
own peak RSS, and a description of the machine for the results file."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import av
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
SR = 44100
VIMSS = str(Path(sys.executable).parent / "vimss")


def make_input(minutes: float) -> Path:
    """A stereo 44.1 kHz FLAC of harmonic tones and noise, written block by block."""
    path = WORK / f"input_{minutes:g}min.flac"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
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


def synth_video_piece(minutes: float, players: int):
    """A synthetic URMP-layout piece of `players` parts with its video (`vimss synth
    --video`: 320x180, 15 fps) from the test split; its `urmp.Piece`."""
    from vimss_cli.evaluation.urmp import urmp_pieces

    out = WORK / f"video-{minutes:g}min-{players}p"
    if not out.exists():
        subprocess.run(
            [
                VIMSS,
                "synth",
                str(out),
                "--layout",
                "urmp",
                "--split",
                "test",
                "--pieces",
                "1",
                "--seconds",
                str(60 * minutes),
                "--min-parts",
                str(players),
                "--max-parts",
                str(players),
                "--sample-rate",
                "44100",
                "--seed",
                "3",
                "--video",
            ],
            check=True,
            capture_output=True,
        )
    return urmp_pieces(out)[0][0]


def make_video_input(minutes: float) -> tuple[Path, list[str]]:
    """`make_input(minutes)`'s audio (losslessly, FLAC in Matroska) under the video of a
    synthetic trio, so visual models separate the same samples as the others.
    (video, instruments left to right)."""
    piece = synth_video_piece(minutes, 3)
    path = WORK / f"input_{minutes:g}min_video.mkv"
    if not path.exists():
        audio, _ = sf.read(make_input(minutes), dtype="int16")
        tmp = path.with_suffix(".partial.mkv")
        with av.open(str(piece.video)) as src, av.open(str(tmp), "w", format="matroska") as dst:
            video_in = src.streams.video[0]
            video_out = dst.add_stream_from_template(video_in)
            audio_out = dst.add_stream("flac", rate=SR, layout="stereo")
            for packet in src.demux(video_in):
                if packet.dts is not None:
                    packet.stream = video_out
                    dst.mux(packet)
            for start in range(0, len(audio), SR):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(audio[start : start + SR].reshape(1, -1)), format="s16", layout="stereo"
                )
                frame.sample_rate = SR
                dst.mux(audio_out.encode(frame))
            dst.mux([packet for packet in audio_out.encode(None) if packet.size])  # not the flush's empty header update
        tmp.rename(path)
    return path, list(piece.line_up)


def cpu_env(threads: int) -> dict[str, str]:
    """The environment of a benchmarked process: `threads` OpenMP/MKL threads."""
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


@dataclass
class Run:
    wall: float
    """Seconds from start to exit of the process: imports and model loading included."""
    summary: dict
    """What the process printed as JSON."""
    rss_mb: float
    """The process's own peak resident memory."""


def run_process(cmd: list[str], env: dict[str, str]) -> Run:
    """Run `cmd` as a fresh process that prints JSON; its own peak RSS comes from wait4()."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0), err.seek(0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{' '.join(cmd[:3])} failed: {err.read().decode()[-2000:]}")
        return Run(wall, json.loads(out.read()), usage.ru_maxrss / 1024)


def vimss_separate(
    path: Path, model: str, instruments: str, *, wiener: int, device: str, threads: int, extra: tuple[str, ...] = ()
) -> Run:
    """`vimss separate` as a fresh process; summary["tracks"][0]["seconds"] is the time from
    opening the input to the stems renamed into place."""
    with tempfile.TemporaryDirectory(dir=WORK) as out:  # an hour of stems is 2 GB: not kept
        cmd = [
            VIMSS,
            "separate",
            str(path),
            "-i",
            instruments,
            "-m",
            model,
            "-o",
            out,
            "-d",
            device,
            "--wiener-iterations",
            str(wiener),
            "--json",
            *extra,
        ]
        return run_process(cmd, cpu_env(threads))


@dataclass
class Bundled:
    name: str
    visual: bool
    """Reads a video of the players."""
    masks: bool
    """Predicts masks (a Wiener filter applies), unlike the Wave-U-Net."""
    parameters: int


def bundled() -> list[Bundled]:
    """The models shipped in `models/`, each loaded once to read what it is."""
    from vimss_cli.nets.checkpoints import bundled_models, load_model

    models = {name: load_model(name).model for name in bundled_models()}
    return [
        Bundled(
            name, m.config.uses_visual, m.config.architecture != "wave-unet", sum(p.numel() for p in m.parameters())
        )
        for name, m in models.items()
    ]


def machine() -> str:
    """One line: CPU, cores, GPU, OS, library versions, date."""
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as info:
        cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("torch", "torchaudio", "openunmix", "demucs", "norbert")
    )
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {gpu}; {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, {versions}; {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def make_model() -> Path:
    """The paper-size label-multiply U-Net (4.8 M parameters) with random weights: time
    and memory do not depend on the weights."""
    import torch

    from vimss_cli.nets.checkpoints import save_pretrained
    from vimss_cli.nets.config import ModelConfig
    from vimss_cli.nets.family import build_model

    folder = WORK / "unet-label-multiply-random"
    if not folder.exists():
        torch.manual_seed(0)
        save_pretrained(build_model(ModelConfig(conditioning="label-multiply", context="labels")), folder)
    return folder
