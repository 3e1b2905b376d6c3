"""Video frames for visual conditioning, decoded with PyAV at the times a model asks for.

Visual models look at one frame at the start of each separation segment (single-frame
models) or at a few frames spread over each segment (motion models). Only those frames
are decoded: the reader walks forward through the stream and seeks when the next wanted
time is far ahead, so a long video is never held in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..errors import VimssError

SEEK_AFTER = 2.0
"""Seconds ahead of the decoder beyond which a seek is cheaper than decoding on."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    duration: float
    """Seconds, from the container (0 when it does not say)."""
    has_audio: bool


def video_info(path: str | Path) -> VideoInfo:
    """Size, frame rate and duration of the first video stream; an error if there is none."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        duration = float(container.duration / av.time_base) if container.duration else 0.0
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        return VideoInfo(
            stream.codec_context.width, stream.codec_context.height, fps, duration, bool(container.streams.audio)
        )


def has_video(path: str | Path) -> bool:
    """Whether `path` is a file with moving pictures (a cover image in an audio file is not)."""
    try:
        with av.open(str(path)) as container:
            return any(not s.disposition & av.stream.Disposition.attached_pic for s in container.streams.video)
    except (av.error.FFmpegError, OSError):
        return False


def segment_frame_times(starts: list[float], segment: float, frames_per_segment: int = 1) -> list[list[float]]:
    """For each segment starting at `starts[i]` seconds, the times of its frames: its start
    for single-frame models, else `frames_per_segment` times evenly spread over it."""
    if frames_per_segment < 1:
        raise ValueError("frames_per_segment must be at least 1")
    step = segment / frames_per_segment
    return [[start + k * step for k in range(frames_per_segment)] for start in starts]


def read_frames(path: str | Path, times: list[float]) -> Iterator[np.ndarray]:
    """RGB frames (height, width, 3) uint8, one per time in `times` (seconds, ascending):
    the frame shown at that time. Times past the end repeat the last frame."""
    if any(b < a for a, b in itertools.pairwise(times)):
        raise ValueError("times must be ascending")
    if not times:
        return
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        time_base = stream.time_base
        if time_base is None:
            raise VimssError(f"{path}: its video stream has no time base to seek by")
        frames: Iterator[av.VideoFrame] = iter(())
        shown: av.VideoFrame | None = None  # the frame on screen at the decoder's position
        upcoming: av.VideoFrame | None = None  # the frame after it
        for i, t in enumerate(times):
            if i == 0 or (upcoming is not None and t - upcoming.time > SEEK_AFTER):
                container.seek(max(0, int(t / time_base)), stream=stream, backward=True, any_frame=False)
                frames = container.decode(stream)
                shown, upcoming = None, next(frames, None)
            while upcoming is not None and upcoming.time <= t + 1e-6:
                shown, upcoming = upcoming, next(frames, None)
            frame = shown if shown is not None else upcoming
            if frame is None:
                raise VimssError(f"{path} has no video frames to read")
            yield frame.to_ndarray(format="rgb24")


def _open(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise VimssError(f"video not found: {path}")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as err:
        raise VimssError(f"cannot decode {path}: {err}") from None


def _video_stream(container: av.container.InputContainer, path: str | Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise VimssError(f"{path} has no video stream")
    return container.streams.video[0]
