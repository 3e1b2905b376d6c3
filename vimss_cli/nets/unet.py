"""The conditioned spectrogram U-Net family of the paper (Fig. 1).

Encoder: `depth` blocks of 4x4 stride-2 convolution, BatchNorm and LeakyReLU(0.2)
(16 -> 512 filters by default). Decoder: bilinear x2 upsampling, 3x3 convolution,
BatchNorm, ReLU and dropout, with the matching encoder output concatenated; the last
decoder block is the mask layer (upsample, 3x3 convolution to K logits). The
Multi-Head variant shares the encoder and gives every instrument its own decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..dsp.spectral import FrequencyAxis, scale_magnitude
from ..errors import VimssError
from .conditioning import FiLM, multiply_masks
from .config import ENCODER_FILM, LABEL_GATED, VISUAL_DIM, ModelConfig
from .visual import VisualContext


class EncoderBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, slope: float, context_dim: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1)
        self.norm = nn.BatchNorm2d(out_ch)
        self.act = nn.LeakyReLU(slope)
        self.film = FiLM(context_dim, out_ch) if context_dim else None

    def forward(self, x: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        x = self.norm(self.conv(x))
        if self.film is not None:
            x = self.film(x, context)
        return self.act(x)


def encoder_blocks(config: ModelConfig, context_dim: int = 0) -> nn.ModuleList:
    """The family's down-path (`channels`, 1 input channel), FiLM on a context of `context_dim`
    in every block when it is not 0: the U-Nets', the recogniser's and the splitter's."""
    chans = config.channels
    return nn.ModuleList(
        EncoderBlock(c_in, c_out, config.leaky_slope, context_dim) for c_in, c_out in zip((1, *chans[:-1]), chans)
    )


def encode(
    config: ModelConfig,
    frequency: FrequencyAxis,
    blocks: nn.ModuleList,
    mag: torch.Tensor,
    context: torch.Tensor | None,
) -> list[torch.Tensor]:
    """Every block's output (the skips; the last is the bottleneck) for (B, 512, T) magnitudes;
    a decoder reading them needs T to be a multiple of 2**depth (`check_frames`)."""
    x = frequency.to_model(scale_magnitude(mag, config.input_scaling)).unsqueeze(1)
    skips = []
    for block in blocks:
        x = block(x, context)
        skips.append(x)
    return skips


def check_frames(mag: torch.Tensor, multiple: int) -> None:
    if mag.shape[-1] % multiple:
        raise ValueError(f"frames ({mag.shape[-1]}) must be a multiple of {multiple}")


class DecoderBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Decoder(nn.Module):
    """Up-path from the bottleneck to `n_masks` mask logits at the input resolution."""

    def __init__(self, channels: tuple[int, ...], n_masks: int, dropout: float) -> None:
        super().__init__()
        blocks = []
        in_ch = channels[-1]
        for out_ch in reversed(channels[:-1]):
            blocks.append(DecoderBlock(in_ch, out_ch, dropout))
            in_ch = 2 * out_ch
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(in_ch, n_masks, 3, padding=1),
        )

    def forward(self, skips: list[torch.Tensor], outputs: list[int] | None = None) -> torch.Tensor:
        """Mask logits; only the `outputs` asked for (indices), the costliest layer's share."""
        x = skips[-1]
        for block, skip in zip(self.blocks, reversed(skips[:-1])):
            x = torch.cat([block(x), skip], dim=1)
        upsample, conv = self.out
        assert isinstance(conv, nn.Conv2d) and conv.bias is not None
        if outputs is None:
            return conv(upsample(x))
        return F.conv2d(upsample(x), conv.weight[outputs], conv.bias[outputs], padding=conv.padding)


class ConditionedUNet(nn.Module):
    """Magnitudes (B, 512, T) + side information -> masks (B, K, 512, T) in [0, 1].

    Side information: labels (B, K) multi-hot, and/or visual backbone features
    (B, players, frames, 2048) of the player crops (see `visual.py`).
    T must be a multiple of 2**depth (64 for the default depth of 6).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        cond, ctx = config.conditioning, config.context_dim
        chans = config.channels
        self.frequency = FrequencyAxis(config.frequency_scale)
        self.visual = VisualContext(config.visual_pooling) if config.uses_visual else None
        self.encoder = encoder_blocks(config, ctx if cond in ENCODER_FILM else 0)
        self.bottleneck_film = FiLM(ctx, chans[-1]) if cond == "film-bottleneck" else None
        n_heads = config.n_sources if config.architecture == "multihead-unet" else 1
        masks_per_head = config.n_sources // n_heads
        self.decoders = nn.ModuleList(Decoder(chans, masks_per_head, config.dropout) for _ in range(n_heads))
        self.final_film = FiLM(ctx, config.n_sources) if cond == "film-final" else None
        self.instrument_classifier = nn.Linear(VISUAL_DIM, config.n_sources) if cond == "final-multiply" else None
        if self.instrument_classifier is not None:
            # A new classifier weighs every instrument alike, so its gate starts open: with labels the
            # model starts as label-multiply, and a warm start from a label model loses nothing.
            nn.init.zeros_(self.instrument_classifier.weight)
            nn.init.zeros_(self.instrument_classifier.bias)

    @property
    def frame_multiple(self) -> int:
        return 2**self.config.depth

    def context(self, labels: torch.Tensor | None = None, visual: torch.Tensor | None = None) -> torch.Tensor | None:
        """The context vector the conditioning layers read: labels, then the visual context."""
        if self.config.uses_labels and labels is None:
            raise VimssError("this model is conditioned on labels; pass them")
        if self.config.uses_visual and visual is None:
            raise VimssError("this model is conditioned on visual features; pass them")
        parts = [labels] if labels is not None and self.config.uses_labels else []
        if self.visual is not None:
            parts.append(self.visual(visual))
        return torch.cat(parts, dim=-1) if parts else None

    def logits(self, mag: torch.Tensor, context: torch.Tensor | None, sources: list[int] | None = None) -> torch.Tensor:
        """Mask logits on the model's frequency axis, before the activation: every
        instrument's, or only those of `sources` (instrument indices, in that order)."""
        check_frames(mag, self.frame_multiple)
        skips = encode(self.config, self.frequency, self.encoder, mag, context)
        if self.bottleneck_film is not None:
            skips[-1] = self.bottleneck_film(skips[-1], context)
        if len(self.decoders) > 1:  # Multi-Head: one decoder per instrument
            heads = self.decoders if sources is None else [self.decoders[s] for s in sources]
            logits = torch.cat([decoder(skips) for decoder in heads], dim=1)
        else:
            logits = self.decoders[0](skips, sources)
        if self.final_film is not None:
            logits = self.final_film(logits, context, sources)
        return logits

    def forward(
        self,
        mag: torch.Tensor,
        labels: torch.Tensor | None = None,
        visual: torch.Tensor | None = None,
        sources: list[int] | None = None,
    ) -> torch.Tensor:
        """Mask probabilities (B, K, 512, T), or (B, len(sources), 512, T) for only the
        instruments separation asks for; training losses use these directly."""
        context = self.context(labels, visual)
        masks = torch.sigmoid(self.logits(mag, context, sources))
        chosen = slice(None) if sources is None else sources
        if self.config.conditioning in LABEL_GATED:
            assert labels is not None, "context() refuses a label model without labels"
            masks = multiply_masks(masks, labels[:, chosen])
        elif self.instrument_classifier is not None:
            assert context is not None, "final-multiply models read visual features"
            masks = multiply_masks(masks, self.instrument_gate(context, labels)[:, chosen])
        return self.frequency.to_linear(masks)

    def instrument_probabilities(self, context: torch.Tensor) -> torch.Tensor:
        """final-multiply: which instruments the players look like (softmax over the visual context)."""
        if self.instrument_classifier is None:
            raise VimssError("only final-multiply models tell the instruments from the pictures")
        return torch.softmax(self.instrument_classifier(context[:, -VISUAL_DIM:]), dim=-1)

    def instrument_gate(self, context: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """What final-multiply multiplies the masks by: the instrument probabilities over
        the most probable one's, times the labels when the model reads them. Scaled so,
        the gate only silences (as labels do) and leaves the masks' level to the U-Net:
        the softmax sums to one over 13 classes while several instruments play."""
        probabilities = self.instrument_probabilities(context)
        gate = probabilities / probabilities.amax(dim=-1, keepdim=True)
        return gate * labels if labels is not None and self.config.uses_labels else gate

    def masks(
        self,
        mag: torch.Tensor,
        labels: torch.Tensor | None = None,
        visual: torch.Tensor | None = None,
        sources: list[int] | None = None,
    ) -> torch.Tensor:
        """Masks to apply at inference: probabilities, or 0/1 for binary-mask models."""
        return self.applied(self.forward(mag, labels, visual, sources))

    def applied(self, probabilities: torch.Tensor) -> torch.Tensor:
        """What inference applies of `forward`'s output (validation scores the same masks)."""
        return (probabilities > 0.5).to(probabilities.dtype) if self.config.mask == "binary" else probabilities
