"""The player splitter: the stem of one instrument class -> the stems of its two players, the
upper part first (violin I, then violin II).

A separation model gives every class one mask, so two violins come out summed. The splitter
reads that class's masked magnitudes (on the separation model's STFT grid) and the class
(one-hot labels, FiLM in every encoder block: a cello pair's registers are not a violin
pair's), through the U-Nets' encoder and decoder blocks, and gives two masks that sum to one
(a softmax over the players). The separator multiplies the class mask by them, so the two
players' stems always add up to the stem they were cut from. It trains on aligned pieces in
which two neighbouring parts play one instrument (`vimss synth --doubled`), the targets
ordered by the parts' mean pitch in the segment.
"""

from __future__ import annotations

import torch
from torch import nn

from ..dsp.spectral import FrequencyAxis
from .config import ModelConfig
from .unet import Decoder, check_frames, encode, encoder_blocks

PLAYERS = 2
"""Players of one class the splitter parts: the upper and the lower part."""


class PlayerSplitter(nn.Module):
    """Magnitudes (B, 512, T) of one class's stem + its (B, 13) one-hot class -> (B, 2, 512, T)
    masks of the upper and the lower player, summing to one in every bin."""

    visual = None
    """It reads the class stem and the class only (the training loop asks every model for a visual branch)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.frequency = FrequencyAxis(config.frequency_scale)
        self.encoder = encoder_blocks(config, config.context_dim)
        self.decoder = Decoder(config.channels, PLAYERS, config.dropout)

    @property
    def frame_multiple(self) -> int:
        return 2**self.config.depth

    def forward(self, mag: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_frames(mag, self.frame_multiple)
        skips = encode(self.config, self.frequency, self.encoder, mag, labels)
        return self.frequency.to_linear(torch.softmax(self.decoder(skips), dim=1))

    def split(self, masks: torch.Tensor, mag: torch.Tensor, classes: list[int], pairs: list[tuple[int, int]]) -> None:
        """In place: for each (first, second) pair of mask slots that name one class (index in
        `classes`), the class mask shared by the two players of (B, S, 512, T) `masks` of the
        (B, 512, T) mixture magnitudes, the upper player's share in `first`."""
        for first, second in pairs:
            labels = torch.zeros(len(mag), self.config.n_sources, device=mag.device)
            labels[:, classes[first]] = 1.0
            shares = self(masks[:, first] * mag, labels)
            whole = masks[:, first].clone()
            masks[:, first] = whole * shares[:, 0]
            masks[:, second] = whole * shares[:, 1]
