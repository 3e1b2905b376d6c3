"""Which part of the picture is which player: boxes from detection (see `detector.py`),
`--boxes`, or equal vertical strips; tracked through the video so each player keeps one
box, and given instruments left to right (URMP composites its players in file-name order).
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import replacing
from ..boxes import Box, strips
from ..errors import VimssError, counted
from .frames import read_frames, video_info

MIN_IOU = 0.3
"""Overlap a detection needs with a track's last box to continue that track."""
MIN_PRESENCE = 0.5
"""Share of sampled frames a track must appear in to count as a player (not a passer-by)."""


def track(detections: list[list[Box]], min_iou: float = MIN_IOU) -> list[list[Box | None]]:
    """Link per-frame detections into tracks, one box or None per frame each: every
    frame, the pairs of (track, detection) with the highest overlap are matched first;
    a detection that matches no track starts a new one."""
    tracks: list[list[Box | None]] = []
    last: list[Box] = []
    for frame, boxes in enumerate(detections):
        pairs = sorted(((last[t].iou(b), t, d) for t in range(len(tracks)) for d, b in enumerate(boxes)), reverse=True)
        used_tracks, used_boxes = set(), set()
        for overlap, t, d in pairs:
            if overlap < min_iou:
                break
            if t in used_tracks or d in used_boxes:
                continue
            used_tracks.add(t)
            used_boxes.add(d)
            tracks[t].append(boxes[d])
            last[t] = boxes[d]
        for t in range(len(tracks)):
            if t not in used_tracks:
                tracks[t].append(None)
        for d, box in enumerate(boxes):
            if d not in used_boxes:
                tracks.append([None] * frame + [box])
                last.append(box)
    return tracks


def player_boxes(detections: list[list[Box]], min_presence: float = MIN_PRESENCE) -> list[list[Box]]:
    """Players left to right, each a box per frame: tracks seen in at least `min_presence`
    of the frames, their gaps filled with the nearest frame's box."""
    n = len(detections)
    players = []
    for boxes in track(detections):
        seen = {i: b for i, b in enumerate(boxes) if b is not None}
        if n and len(seen) >= min_presence * n:
            players.append([seen[min(seen, key=lambda s: abs(s - i))] for i in range(n)])
    return sorted(players, key=lambda p: statistics.fmean(b.center_x for b in p))


def assign_players(
    detections: list[list[Box]], n_instruments: int, width: int, height: int, *, strips_fallback: bool = False
) -> list[list[Box]]:
    """One box per frame for each of `n_instruments` players, left to right. When the
    video shows another number of players: an error, or with `strips_fallback` equal strips."""
    players = player_boxes(detections)
    if len(players) == n_instruments:
        return players
    if strips_fallback:
        return [[box] * len(detections) for box in strips(width, height, n_instruments)]
    raise VimssError(
        f"found {counted(len(players), 'player')} in the video but --instruments names "
        f"{n_instruments}; pass --boxes, or --layout strips for equal vertical strips"
    )


Detector = Callable[[list[np.ndarray]], list[list[Box]]]
"""RGB frames -> player boxes in each (see `detector.PlayerDetector`)."""
MAX_DETECTION_FRAMES = 120
"""Frames that detection looks at, spread over the video: players sit still."""
DETECTION_BATCH = 16


@dataclass(frozen=True)
class PlayerTrack:
    """Each player's box at a few times of the video, left to right."""

    times: tuple[float, ...]
    boxes: tuple[tuple[Box, ...], ...]
    """boxes[player][time]"""
    detected: tuple[tuple[Box, ...], ...] = ()
    """What detection found, when it did not match the instruments and strips stand in
    for the players (detected[player][time]); empty otherwise."""

    def at(self, t: float) -> list[Box]:
        """Every player's box at the sampled time nearest to `t`."""
        i = bisect.bisect_left(self.times, t)
        if i == len(self.times) or (i > 0 and t - self.times[i - 1] <= self.times[i] - t):
            i -= 1
        return [player[max(i, 0)] for player in self.boxes]


def find_players(
    video: Path,
    n_players: int,
    *,
    detector: Callable[[], Detector] | None = None,
    boxes: list[Box] | None = None,
    strips_fallback: bool = False,
    on_warning: Callable[[str], None] | None = None,
    layout: str = "detect",
) -> PlayerTrack:
    """The players of a video: `boxes` as given, equal strips (`layout` "strips", as URMP
    composites its players), or detected on frames spread over the video and tracked (see
    `assign_players`). When detection finds another number of players than instruments,
    an error, or with `strips_fallback` equal strips and a line to `on_warning`. `detector`
    makes the detector, called only once the file is known to have pictures and
    detection is needed."""
    info = video_info(video)
    if boxes is not None:
        if len(boxes) != n_players:
            raise VimssError(f"--boxes gives {counted(len(boxes), 'box', 'boxes')} but --instruments names {n_players}")
        outside = [b for b in boxes if b.x1 < 0 or b.y1 < 0 or b.x2 > info.width or b.y2 > info.height]
        if outside:
            b = outside[0]
            raise VimssError(
                f"--boxes {b.x1:g},{b.y1:g},{b.x2:g},{b.y2:g} reaches outside the {info.width}x{info.height} "
                f"frame of {video}"
            )
        return PlayerTrack((0.0,), tuple((b,) for b in boxes))
    if layout == "strips":
        return PlayerTrack((0.0,), tuple((b,) for b in strips(info.width, info.height, n_players)))
    if detector is None:
        raise VimssError("no player detector and no --boxes")
    detect = detector()
    count = max(1, min(MAX_DETECTION_FRAMES, int(info.duration) + 1))
    times = [info.duration * k / count for k in range(count)]
    detections: list[list[Box]] = []
    batch: list[np.ndarray] = []
    for frame in read_frames(video, times):
        batch.append(frame)
        if len(batch) == DETECTION_BATCH:
            detections += detect(batch)
            batch = []
    detections += detect(batch) if batch else []
    found = player_boxes(detections)
    if len(found) == n_players or not strips_fallback:
        players = assign_players(detections, n_players, info.width, info.height)
        return PlayerTrack(tuple(times), tuple(tuple(p) for p in players))
    if on_warning is not None:
        on_warning(
            f"found {counted(len(found), 'player')} in {Path(video).name} but --instruments names "
            f"{n_players}: using {counted(n_players, 'equal vertical strip')}, left to right as URMP composites "
            f"its players (--boxes places them exactly)"
        )
    placed = strips(info.width, info.height, n_players)
    return PlayerTrack(tuple(times), tuple((b,) * len(times) for b in placed), tuple(tuple(p) for p in found))


def video_players(
    video: Path,
    count: int,
    known: dict[Path, list[Box]],
    detector: Callable[[], Detector],
    on_warning: Callable[[str], None] | None = None,
) -> PlayerTrack:
    """The `count` players of a video: the boxes `vimss synth` recorded for it (`known`,
    see `data.manifest_boxes`), else detected by the detector `detector()` makes (equal
    strips, said to `on_warning`, when it finds another number)."""
    boxes = known.get(Path(video).resolve())
    if boxes is not None and len(boxes) != count:
        raise VimssError(
            f"{video}: the manifest has {counted(len(boxes), 'box', 'boxes')} for {counted(count, 'player')}"
        )
    return find_players(video, count, boxes=boxes, detector=detector, strips_fallback=True, on_warning=on_warning)


def draw_boxes(
    frame: np.ndarray, boxes: list[Box], labels: list[str], path: Path, detected: list[Box] | None = None
) -> Path:
    """Write `frame` with each box and its label drawn on (`--save-boxes`), atomically;
    `detected` (what detection found when strips stand in) in white, labelled so. Labels
    scale with the frame (a 36-px font at 1080p) on a dark band, so they read at any size."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, image.height // 30))
    line = max(2, image.width // 320)
    colours = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6")
    marked = [(box, label, colours[i % len(colours)]) for i, (box, label) in enumerate(zip(boxes, labels))]
    marked += [(box, "detected", "#ffffff") for box in detected or []]
    for box, label, colour in marked:
        x1, y1, x2, y2 = box.pixels(image.width, image.height)
        draw.rectangle((x1, y1, x2 - 1, y2 - 1), outline=colour, width=line)
        left, top, right, bottom = draw.textbbox((x1 + 2 * line, y1 + 2 * line), label, font=font)
        draw.rectangle((left - line, top - line, right + line, bottom + line), fill="#000000")
        draw.text((x1 + 2 * line, y1 + 2 * line), label, fill=colour, font=font)
    path = Path(path)
    try:
        with replacing(path) as tmp:
            image.save(tmp, format=(path.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG"))
    except (OSError, ValueError, KeyError) as err:
        raise VimssError(f"cannot write {path}: {getattr(err, 'strerror', None) or err}") from None
    return path
