"""What the players look like, as a context vector for the U-Net (the paper's visual branch).

Each player crop goes through torchvision's ResNet-50 without its classifier (2048-D).
The features are max-pooled to 1024 (adaptive max pooling over the channel axis) and
reduced to one vector per segment: the maximum over players for single-frame models,
or over time then players for motion models (an LSTM(1024) over each player's frames,
or a max over frames). Backbone features are computed apart from the rest (`features`)
so training can cache them on disk instead of running ResNet every epoch. Reading them from
a video (decoding, players, crops) is `video_features.py`: the network needs no video code.

A batch may hold pieces with different numbers of players: pad with copies of a present
player, which the maximum over players ignores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import VISUAL_DIM

if TYPE_CHECKING:
    from ..boxes import Box

CROP_SIZE = 224
FEATURE_DIM = 2048
"""ResNet-50's pooled output."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def crop_players(frame: np.ndarray, boxes: list[Box], size: int = CROP_SIZE) -> torch.Tensor:
    """(players, 3, size, size) ImageNet-normalised crops of an RGB (H, W, 3) uint8 frame."""
    height, width = frame.shape[:2]
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float() / 255
    crops = []
    for box in boxes:
        x1, y1, x2, y2 = box.pixels(width, height)
        crop = image[:, y1:y2, x1:x2].unsqueeze(0)
        crops.append(F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0])
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (torch.stack(crops) - mean) / std


def resnet50_trunk() -> nn.Module:
    """ResNet-50 up to its global average pool: (N, 3, H, W) -> (N, 2048)."""
    from torchvision.models import resnet50

    net = resnet50(weights=None)
    net.fc = nn.Identity()
    return net


def imagenet_trunk_weights() -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights for the trunk (downloaded by torchvision, which
    loads them with torch's weights-only loader); the starting point for training."""
    from torchvision.models import ResNet50_Weights

    state = ResNet50_Weights.IMAGENET1K_V2.get_state_dict(progress=False)
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


class VisualContext(nn.Module):
    """Backbone features (B, players, frames, 2048) -> context (B, 1024), layer-normalised."""

    def __init__(self, pooling: str) -> None:
        super().__init__()
        self.pooling = pooling
        self.trunk = resnet50_trunk()
        self.lstm = nn.LSTM(VISUAL_DIM, VISUAL_DIM, batch_first=True) if pooling == "lstm" else None
        # The trunk's features have no fixed scale (a random trunk's average about 13): normalised,
        # the classifier and FiLM generators reading them learn at the rate Adam sets for all.
        self.norm = nn.LayerNorm(VISUAL_DIM)

    def features(self, crops: torch.Tensor) -> torch.Tensor:
        """(..., 3, H, W) crops -> (..., 2048) backbone features."""
        lead = crops.shape[:-3]
        return self.trunk(crops.reshape(-1, *crops.shape[-3:])).reshape(*lead, FEATURE_DIM)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch, players, frames, _ = features.shape
        x = F.adaptive_max_pool1d(features.reshape(-1, 1, FEATURE_DIM), VISUAL_DIM).reshape(batch, players, frames, -1)
        if self.lstm is not None:
            out, _ = self.lstm(x.reshape(batch * players, frames, VISUAL_DIM))
            x = out[:, -1].reshape(batch, players, VISUAL_DIM)
        else:
            x = x.amax(dim=2)  # one frame, or the maximum over a motion model's frames
        return self.norm(x.amax(dim=1))
