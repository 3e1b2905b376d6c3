"""Synthetic performance videos for `vimss synth --video`.

Each player is a figure (head, torso, arm) holding its instrument; the instrument's
shape, colour and size, and the shirt colour, depend on the instrument class, so what a
player looks like tells which instrument it plays, as in a real video. The figure moves
with its part's note onsets: the body bobs and the bowing/playing arm swings at every
onset and settles in 0.12 s. Players stand left to right in score order (URMP's
convention) and every figure's box is known, which is what trains the player detector.
"""

from __future__ import annotations

import bisect
import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import cast

import av
import numpy as np
from PIL import Image, ImageDraw

from ..boxes import Box

FRAME_SIZE = (320, 180)
"""Width, height: 16:9 like URMP's 1080p, small enough to train on and ship."""
FPS = 15
SETTLE = 0.12
"""Seconds for a figure's movement after an onset to decay by e."""

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Look:
    """How a player of one instrument class looks: its instrument's shape and colour,
    the instrument's size relative to the figure, and the shirt colour."""

    shape: str
    colour: Colour
    size: float
    shirt: Colour


LOOKS: dict[str, Look] = {
    "vn": Look("fiddle", (196, 112, 48), 0.28, (200, 40, 40)),
    "va": Look("fiddle", (160, 84, 36), 0.36, (40, 160, 60)),
    "vc": Look("cello", (128, 60, 28), 0.62, (40, 70, 200)),
    "db": Look("cello", (92, 44, 20), 0.95, (230, 200, 40)),
    "fl": Look("flute", (205, 205, 215), 0.45, (150, 40, 170)),
    "ob": Look("pipe", (30, 30, 30), 0.38, (60, 190, 200)),
    "cl": Look("pipe", (15, 15, 60), 0.44, (240, 130, 40)),
    "bn": Look("pipe", (110, 60, 30), 0.78, (120, 120, 120)),
    "sax": Look("sax", (220, 170, 50), 0.5, (250, 250, 250)),
    "tpt": Look("trumpet", (235, 190, 60), 0.34, (20, 20, 20)),
    "hn": Look("horn", (215, 160, 50), 0.3, (170, 110, 60)),
    "tbn": Look("trombone", (230, 180, 70), 0.6, (90, 30, 110)),
    "tba": Look("tuba", (200, 150, 40), 0.55, (30, 100, 60)),
}


@dataclass(frozen=True)
class Figure:
    """One player: instrument class, where it stands and how big it is, and its onsets."""

    instrument: str
    x: float
    """Centre of the body, pixels."""
    floor: float
    """Where the feet are, pixels."""
    height: float
    """Head to feet, pixels."""
    onsets: tuple[float, ...]
    skin: Colour

    def activity(self, t: float) -> float:
        """1 at an onset, decaying to 0: drives the figure's movement."""
        i = bisect.bisect_right(self.onsets, t)
        return math.exp(-(t - self.onsets[i - 1]) / SETTLE) if i else 0.0

    def box(self) -> Box:
        """The pixels the figure and its instrument cover, in every pose it takes: measured
        by drawing it alone at rest and at an onset."""
        width = math.ceil(self.x + 2 * self.height) + 1
        mask = Image.new("L", (width, math.ceil(self.floor) + 2), 0)
        for activity in (0.0, 1.0):
            self.pose(ImageDraw.Draw(mask), activity, ink=255)
        drawn = mask.getbbox()
        assert drawn is not None, "every figure draws pixels"
        x1, y1, x2, y2 = drawn
        return Box(float(x1), float(y1), float(x2), float(y2))

    def draw(self, canvas: ImageDraw.ImageDraw, t: float) -> None:
        self.pose(canvas, self.activity(t))

    def pose(self, canvas: ImageDraw.ImageDraw, a: float, ink: int | None = None) -> None:
        """Draw the figure with movement `a` (0 at rest, 1 at an onset); `ink` draws it
        in one value (a mask) instead of its colours."""
        if ink is not None:
            canvas = cast(ImageDraw.ImageDraw, _OneInk(canvas, ink))  # draws as one, duck-typed
        look, h, x = LOOKS[self.instrument], self.height, self.x
        top = self.floor - h - 0.05 * h * a  # bob up at each onset
        head_r = 0.1 * h
        head_y = top + head_r
        shoulder_y = top + 0.24 * h
        waist_y = top + 0.62 * h
        canvas.ellipse((x - head_r, head_y - head_r, x + head_r, head_y + head_r), fill=self.skin)
        canvas.rectangle((x - 0.14 * h, shoulder_y, x + 0.14 * h, waist_y), fill=look.shirt)
        for side in (-1, 1):  # legs
            canvas.line(
                (x + side * 0.07 * h, waist_y, x + side * 0.09 * h, self.floor),
                fill=(40, 40, 50),
                width=max(2, int(0.05 * h)),
            )
        self._instrument(canvas, look, x, shoulder_y, waist_y, h)
        angle = math.radians(-20 - 50 * a)  # the playing arm swings at every onset
        hand = (x + 0.32 * h * math.cos(angle), shoulder_y + 0.12 * h - 0.32 * h * math.sin(angle))
        canvas.line((x + 0.12 * h, shoulder_y + 0.04 * h, *hand), fill=self.skin, width=max(2, int(0.04 * h)))

    def _instrument(
        self, canvas: ImageDraw.ImageDraw, look: Look, x: float, shoulder: float, waist: float, h: float
    ) -> None:
        s, c = look.size * h, look.colour
        w = max(2, int(0.03 * h))
        if look.shape == "fiddle":  # under the chin, pointing left
            cx, cy = x - 0.18 * h, shoulder + 0.02 * h
            canvas.ellipse((cx - 0.5 * s, cy - 0.22 * s, cx + 0.2 * s, cy + 0.22 * s), fill=c)
            canvas.line((cx - 0.5 * s, cy, cx - 0.95 * s, cy - 0.05 * s), fill=(20, 20, 20), width=w)
        elif look.shape == "cello":  # standing on the floor in front
            cy = self.floor - 0.45 * s
            canvas.ellipse((x - 0.3 * s, cy - 0.45 * s, x + 0.3 * s, cy + 0.45 * s), fill=c)
            canvas.line((x, cy - 0.45 * s, x, cy - 0.85 * s), fill=(20, 20, 20), width=w)
        elif look.shape == "flute":  # horizontal at the mouth, to the right
            y = shoulder - 0.08 * h
            canvas.line((x, y, x + 0.15 * h + s, y), fill=c, width=w + 1)
        elif look.shape == "pipe":  # straight down from the mouth
            y = shoulder - 0.06 * h
            canvas.line((x + 0.02 * h, y, x + 0.08 * h, y + s), fill=c, width=w + 2)
            canvas.ellipse((x + 0.08 * h - 2 * w, y + s - w, x + 0.08 * h + 2 * w, y + s + 2 * w), fill=c)
        elif look.shape == "sax":  # a J with a bell
            y = shoulder
            canvas.line((x + 0.05 * h, y, x + 0.05 * h, y + s), fill=c, width=w + 2)
            canvas.ellipse((x + 0.05 * h, y + 0.7 * s, x + 0.05 * h + 0.35 * s, y + 1.05 * s), fill=c)
        elif look.shape == "trumpet":
            y = shoulder - 0.06 * h
            canvas.line((x, y, x + 0.1 * h + s, y), fill=c, width=w + 1)
            canvas.polygon(
                [(x + 0.1 * h + s, y), (x + 0.2 * h + s, y - 0.25 * s), (x + 0.2 * h + s, y + 0.25 * s)], fill=c
            )
        elif look.shape == "horn":  # a coil at the side
            cx, cy = x + 0.2 * h, (shoulder + waist) / 2
            canvas.ellipse((cx - s, cy - s, cx + s, cy + s), outline=c, width=w + 2)
        elif look.shape == "trombone":  # long slide forward
            y = shoulder - 0.06 * h
            canvas.rectangle((x, y - w, x + 0.15 * h + s, y + w), outline=c, width=max(1, w // 2 + 1))
        elif look.shape == "tuba":  # big body, bell up
            canvas.ellipse((x - 0.35 * s, shoulder, x + 0.35 * s, shoulder + 0.8 * s), fill=c)
            canvas.ellipse((x - 0.25 * s, shoulder - 0.2 * s, x + 0.25 * s, shoulder + 0.05 * s), fill=c)


class _OneInk:
    """An ImageDraw whose every fill and outline is one value."""

    def __init__(self, canvas: ImageDraw.ImageDraw, ink: int) -> None:
        self.canvas, self.ink = canvas, ink

    def __getattr__(self, name: str):
        method = getattr(self.canvas, name)

        def draw(*args, **kwargs):
            for key in ("fill", "outline"):
                if key in kwargs:
                    kwargs[key] = self.ink
            return method(*args, **kwargs)

        return draw


def place_figures(
    instruments: list[str], onsets: list[tuple[float, ...]], rng: random.Random, size: tuple[int, int] = FRAME_SIZE
) -> list[Figure]:
    """Players left to right in equal slots, with some jitter in position and size."""
    width, height = size
    slot = width / len(instruments)
    figures = []
    for k, (inst, times) in enumerate(zip(instruments, onsets)):
        tall = height * rng.uniform(0.55, 0.75)
        target = slot * (k + 0.5) + rng.uniform(-0.06, 0.06) * slot
        floor = height * rng.uniform(0.88, 0.97)
        skin = rng.choice([(241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172)])
        figure = Figure(inst, target, floor, tall, tuple(sorted(times)), skin)
        box = figure.box()
        fit = min(1.0, 0.92 * slot / (box.x2 - box.x1))  # narrow enough for its slot
        offset = ((box.x1 + box.x2) / 2 - target) * fit  # where the box centre sits from the body
        figures.append(replace(figure, height=tall * fit, x=target - offset))
    return figures


def render_frames(
    figures: list[Figure], seconds: float, rng: random.Random, size: tuple[int, int] = FRAME_SIZE, fps: int = FPS
) -> Iterator[np.ndarray]:
    """RGB frames of the performance, one every 1/fps seconds."""
    wall = tuple(rng.randint(60, 200) for _ in range(3))
    floor = tuple(max(0, c - 50) for c in wall)
    for i in range(math.ceil(seconds * fps)):
        image = Image.new("RGB", size, wall)
        canvas = ImageDraw.Draw(image)
        canvas.rectangle((0, int(size[1] * 0.85), size[0], size[1]), fill=floor)
        for figure in figures:
            figure.draw(canvas, i / fps)
        yield np.array(image)


def encode_video(
    frames: Iterator[np.ndarray],
    audio: np.ndarray | None,
    sample_rate: int,
    size: tuple[int, int] = FRAME_SIZE,
    fps: int = FPS,
) -> bytes:
    """H.264 MP4 of the frames, with mono int16 `audio` as its AAC track."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        stream = None
        if audio is not None:
            stream = container.add_stream("aac", rate=sample_rate)
            stream.layout = "mono"
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if stream is not None:
            samples = (np.asarray(audio, np.float32) / 32768.0).reshape(1, -1)
            block = 1024 * 64
            for start in range(0, samples.shape[1], block):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start : start + block]), format="fltp", layout="mono"
                )
                chunk.sample_rate = sample_rate
                chunk.pts = start
                for packet in stream.encode(chunk):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    return buffer.getvalue()
