"""ResNet-50 features of a video's players, computed once and kept on disk for training.

Training draws thousands of segments from the same videos; running ResNet-50 on every
draw would cost more than the U-Net. So each video's players are cropped at a fixed
time grid (every `FEATURE_STEP` seconds), their features computed once and saved as
safetensors (fp16) under a key naming the video, its boxes and the backbone's weights;
a segment then reads the features at the grid times nearest its frames.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..boxes import Box
from ..nets.visual import FEATURE_DIM, VisualContext, crop_players
from .frames import read_frames, segment_frame_times, video_info
from .players import Detector, PlayerTrack, video_players

FEATURE_STEP = 0.5
"""Seconds between cached frames."""
BATCH = 32


def trunk_fingerprint(visual: VisualContext) -> str:
    """A digest of the backbone's weights: cached features are only valid for them."""
    digest = hashlib.sha1()
    for name, tensor in visual.trunk.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def cache_path(cache: Path, video: Path, players: PlayerTrack, fingerprint: str) -> Path:
    stat = video.stat()
    key = f"{video.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{players}|{fingerprint}|{FEATURE_STEP}"
    return cache / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.safetensors"


@torch.inference_mode()
def video_features(
    visual: VisualContext, video: Path, players: PlayerTrack, cache: Path, fingerprint: str
) -> torch.Tensor:
    """(grid times, players, 2048) fp16 features of `video`'s players (left to right)
    every FEATURE_STEP seconds, from the cache or computed and cached."""
    path = cache_path(cache, video, players, fingerprint)
    if path.is_file():
        return load_file(str(path))["features"]
    info = video_info(video)
    times = [k * FEATURE_STEP for k in range(max(1, math.ceil(info.duration / FEATURE_STEP)))]
    device = next(visual.parameters()).device
    crops, out = [], []
    for t, frame in zip(times, read_frames(video, times)):
        crops.append(crop_players(frame, players.at(t)))
        if len(crops) * len(players.boxes) >= BATCH:
            out.append(visual.features(torch.stack(crops).to(device)).cpu())
            crops = []
    if crops:
        out.append(visual.features(torch.stack(crops).to(device)).cpu())
    features = torch.cat(out).half()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({"features": features.contiguous()}, str(tmp))
    os.replace(tmp, path)
    return features


def features_at(features: torch.Tensor, start: float, segment: float, frames: int = 1) -> torch.Tensor:
    """(players, frames, 2048) float features of the segment starting at `start` seconds,
    each frame the cached grid time nearest to it."""
    (times,) = segment_frame_times([start], segment, frames)
    rows = [min(len(features) - 1, max(0, round(t / FEATURE_STEP))) for t in times]
    return features[rows].float().transpose(0, 1).reshape(features.shape[1], frames, FEATURE_DIM)


def cache_videos(
    visual: VisualContext,
    videos: dict[Path, int],
    cache: Path,
    *,
    known: dict[Path, list[Box]],
    detector: Callable[[], Detector],
) -> dict[Path, Path]:
    """Cache the features of every video (path -> number of players): boxes as `vimss
    synth` recorded them (`known`), else detected. Returns video -> cache file."""
    fingerprint = trunk_fingerprint(visual)
    files = {}
    training = visual.training
    visual.eval()  # BatchNorm with its running statistics, as at inference
    for video, count in videos.items():
        players = video_players(video, count, known, detector)
        video_features(visual, video, players, cache, fingerprint)
        files[video] = cache_path(cache, video, players, fingerprint)
    visual.train(training)
    return files
