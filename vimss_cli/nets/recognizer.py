"""Which instrument classes play: the recogniser that lets `vimss separate` run without `-i`.

It hears what the spectrogram U-Nets hear (the same STFT of 11025-Hz audio, the same input
scaling) through the U-Net's encoder blocks, so a U-Net's trained encoder can start it
(`vimss train --init vimss-labels` copies it); the bottleneck's mean and maximum over time
and frequency feed one logit per class (multi-label: several play at once). A file is heard
window by window (the training segment) and each class's probability is the mean over the
windows that are not silent, since instruments that play rest now and then.
"""

from __future__ import annotations

import torch
from torch import nn

from ..constants import SEGMENT_SAMPLES
from ..dsp.spectral import FrequencyAxis, stft
from .config import ModelConfig
from .unet import encode, encoder_blocks

AUDIBLE_DB = -25.0
"""A class plays in a training window when its source holds at least this share of the mix's
energy: a part that rests through a segment of an aligned piece is in the piece's labels, but
nothing of it can be heard there."""
HEARD = 0.5
"""Probability from which a class counts as playing."""
QUIET_WINDOW_DB = -40.0
"""Windows this far below the loudest window (RMS) are not heard: rests and fades say nothing."""


def audible(labels: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """(B, 13) targets: the labels of the sources (B, 13, samples) that hold at least AUDIBLE_DB
    of their mix's energy."""
    energy = sources.pow(2).sum(-1)
    mix = sources.sum(1).pow(2).sum(-1, keepdim=True).clamp_min(1e-12)
    return labels * (energy >= mix * 10 ** (AUDIBLE_DB / 10)).to(labels.dtype)


class InstrumentRecognizer(nn.Module):
    """Magnitudes (B, 512, T) -> (B, 13) logits of each instrument class playing."""

    visual = None
    """It hears only: no visual branch (the training loop asks every model for one)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.frequency = FrequencyAxis(config.frequency_scale)
        self.encoder = encoder_blocks(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(2 * config.channels[-1], config.n_sources)

    @property
    def frame_multiple(self) -> int:
        return 2**self.config.depth

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        x = encode(self.config, self.frequency, self.encoder, mag, None)[-1]
        pooled = torch.cat([x.mean(dim=(-2, -1)), x.amax(dim=(-2, -1))], dim=-1)
        return self.classifier(self.dropout(pooled))

    @torch.inference_mode()
    def hear(self, audio: torch.Tensor, batch: int = 8) -> torch.Tensor:
        """(samples,) mono audio at 11025 Hz -> (13,) probability of each class playing
        (windows `batch` at a time: an hour's spectrograms at once would take gigabytes)."""
        windows = _windows(audio.to(next(self.parameters()).device))
        rms = windows.pow(2).mean(-1).sqrt()
        if not bool(rms.max() > 0):  # digital silence: nothing plays
            return torch.zeros(self.config.n_sources)
        heard = windows[rms >= rms.max() * 10 ** (QUIET_WINDOW_DB / 20)]
        probabilities = [torch.sigmoid(self(stft(heard[i : i + batch]).abs())) for i in range(0, len(heard), batch)]
        return torch.cat(probabilities).mean(0).cpu()


def _windows(audio: torch.Tensor) -> torch.Tensor:
    """(windows, SEGMENT_SAMPLES): the audio cut into training-length windows, the last one
    zero-padded (a file shorter than one window is one padded window)."""
    n = max(1, -(-audio.shape[-1] // SEGMENT_SAMPLES))
    padded = torch.nn.functional.pad(audio, (0, n * SEGMENT_SAMPLES - audio.shape[-1]))
    return padded.reshape(n, SEGMENT_SAMPLES)
