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
    """Feature-wise linear modulation of a (B, C, ...) tensor by a (B, D) context.

    `scale=False` leaves only the shift (additive conditioning), `shift=False` only the
    scale (multiplicative conditioning): the Wave-U-Net's variants."""

    def __init__(self, context_dim: int, channels: int, *, scale: bool = True, shift: bool = True) -> None:
        super().__init__()
        if not (scale or shift):
            raise ValueError("FiLM needs a scale, a shift or both")
        self.channels, self.scale, self.shift = channels, scale, shift
        self.generator = nn.Linear(context_dim, (scale + shift) * channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor, channels: list[int] | None = None) -> torch.Tensor:
        """`channels`: x holds only these of the layer's channels (indices, in that order)."""
        params = self.generator(context).reshape(len(context), -1, self.channels, *([1] * (x.dim() - 2)))
        if channels is not None:
            params = params[:, :, channels]
        if self.scale:
            x = (1 + params[:, 0]) * x
        return x + params[:, -1] if self.shift else x


def concat_context(x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """Concatenation conditioning: the (B, D) context tiled along the time axis of a
    (B, C, T) tensor and joined as D more channels."""
    return torch.cat([x, context[:, :, None].expand(-1, -1, x.shape[-1])], dim=1)


def multiply_masks(masks: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Gate (B, K, F, T) masks with (B, K) weights: labels silence absent instruments."""
    return masks * weights[:, :, None, None]
