"""A player's box in a picture, `--boxes` parsing and equal strips: the one geometry type that
detection, tracking, the visual models, the training data and the synthetic videos all share.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import VimssError


@dataclass(frozen=True)
class Box:
    """Pixel corners (x1, y1) top left, (x2, y2) bottom right."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def center_x(self) -> float:
        return (self.x1 + self.x2) / 2

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)

    def iou(self, other: Box) -> float:
        inter = Box(max(self.x1, other.x1), max(self.y1, other.y1), min(self.x2, other.x2), min(self.y2, other.y2)).area
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Integer corners clipped to a width x height picture, at least one pixel wide and high."""
        x1 = min(max(int(self.x1), 0), width - 1)
        y1 = min(max(int(self.y1), 0), height - 1)
        return x1, y1, max(x1 + 1, min(round(self.x2), width)), max(y1 + 1, min(round(self.y2), height))


def parse_boxes(text: str) -> list[Box]:
    """`--boxes "x1,y1,x2,y2;x1,y1,x2,y2"` -> boxes, in the order given."""
    boxes = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            x1, y1, x2, y2 = (float(v) for v in part.split(","))
        except ValueError:
            raise VimssError(f"--boxes: '{part}' is not x1,y1,x2,y2 (four numbers)") from None
        if not (x2 > x1 and y2 > y1):
            raise VimssError(f"--boxes: '{part}' is empty (need x2 > x1 and y2 > y1)")
        boxes.append(Box(x1, y1, x2, y2))
    if not boxes:
        raise VimssError("--boxes holds no box")
    return boxes


def strips(width: int, height: int, n: int) -> list[Box]:
    """n equal vertical strips, left to right: the fallback when detection disagrees."""
    return [Box(width * i / n, 0.0, width * (i + 1) / n, float(height)) for i in range(n)]
