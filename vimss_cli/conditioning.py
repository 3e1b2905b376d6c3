"""Side information into the U-Net: FiLM layers and mask multiplication.

FiLM (Perez et al.) scales and shifts feature maps with parameters generated from a
context vector (instrument labels now, visual features later). It is written as
(1 + gamma) * x + beta, as in the paper's published code, so a FiLM whose generator
outputs zeros is exactly the identity and a new FiLM starts near it.
"""

from __future__ import annotations

import torch
from torch import nn


class FiLM(nn.Module):
    """Feature-wise linear modulation of a (B, C, ...) tensor by a (B, D) context."""

    def __init__(self, context_dim: int, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.generator = nn.Linear(context_dim, 2 * channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.generator(context).chunk(2, dim=-1)
        shape = (*gamma.shape, *([1] * (x.dim() - 2)))
        return (1 + gamma.reshape(shape)) * x + beta.reshape(shape)


def multiply_masks(masks: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Gate (B, K, F, T) masks with (B, K) weights: labels silence absent instruments."""
    return masks * weights[:, :, None, None]
