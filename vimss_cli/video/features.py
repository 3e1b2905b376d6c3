"""The visual model's input from a video: its players found (detection, recorded boxes or
strips), the frames each segment needs decoded, each player cropped and read by the model's
ResNet-50 (`visual.VisualContext`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from ..boxes import Box
from ..nets.visual import VisualContext, crop_players
from .frames import read_frames, segment_frame_times
from .players import Detector, PlayerTrack, draw_boxes, find_players


class VideoFeatures:
    """Backbone features of a video's players for the segments a Separator asks for:
    the frames at each segment's start (or spread over it, for motion models), each
    player cropped by its box, through the model's ResNet-50."""

    def __init__(
        self, visual: VisualContext, video: Path, players: PlayerTrack, segment: float, frames: int = 1
    ) -> None:
        self.visual, self.video, self.players = visual, Path(video), players
        self.segment, self.frames = segment, frames

    def crops(self, starts: list[float]) -> torch.Tensor:
        """Segment starts (seconds, ascending) -> decoded player crops (segments, players, frames, 3, 224, 224)."""
        times = segment_frame_times(starts, self.segment, self.frames)
        wanted = sorted({t for segment in times for t in segment})  # motion segments overlap
        frames = dict(zip(wanted, read_frames(self.video, wanted)))
        crops = [
            crop_players(frames[t], self.players.at(start)) for start, segment in zip(starts, times) for t in segment
        ]
        return torch.stack(crops).reshape(len(starts), self.frames, *crops[0].shape).transpose(1, 2)

    @torch.inference_mode()
    def __call__(self, starts: list[float]) -> torch.Tensor:
        """Segment starts (seconds, ascending) -> (segments, players, frames, 2048)."""
        device = next(self.visual.parameters()).device
        return self.visual.features(self.crops(starts).to(device))


def video_source(
    model_visual: VisualContext | None,
    video: Path,
    labels: list[str],
    segment: float,
    frames: int = 1,
    *,
    detector: Callable[[], Detector] | None = None,
    boxes: list[Box] | None = None,
    strips_fallback: bool = False,
    save_boxes: Path | None = None,
    on_warning: Callable[[str], None] | None = None,
    layout: str = "detect",
) -> VideoFeatures | None:
    """Find the players of `video` (one per label, left to right; see `find_players`),
    draw them to `save_boxes` if asked (with what detection found when strips stand in),
    and give the features a visual model reads."""
    players = find_players(
        video,
        len(labels),
        detector=detector,
        boxes=boxes,
        strips_fallback=strips_fallback,
        on_warning=on_warning,
        layout=layout,
    )
    if save_boxes is not None:
        detected = [p[0] for p in players.detected]
        draw_boxes(next(read_frames(video, [0.0])), players.at(0.0), labels, save_boxes, detected)
    return None if model_visual is None else VideoFeatures(model_visual, video, players, segment, frames)
