"""What a separable model offers the separator and the trainer, whatever its architecture.

Two kinds exist. A masking model predicts one mask per instrument on the STFT of
11025-Hz windows: the separator applies the masks at the input's own rate and channels
(the Wiener filter refines them) and training scores the masks or the waveforms they
give. A waveform model outputs each instrument's waveform at its own rate, the centre
of a wider input window. `separator.py` and `train.py` ask which of these protocols a
model follows, never which class it is, so a new architecture that follows one needs
no edits there: only a line in `family.build_model`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from .config import ModelConfig


@runtime_checkable
class MaskingModel(Protocol):
    """Masks on the model's STFT (`spectral.stft` of 11025-Hz audio), e.g. `unet.ConditionedUNet`."""

    config: ModelConfig

    @property
    def frame_multiple(self) -> int:
        """The STFT frames of a window must be a multiple of this."""
        ...

    def __call__(
        self,
        mag: torch.Tensor,
        labels: torch.Tensor | None = None,
        visual: torch.Tensor | None = None,
        sources: list[int] | None = None,
    ) -> torch.Tensor:
        """(B, 512, T) magnitudes -> (B, K, 512, T) mask probabilities: what the losses read."""
        ...

    def masks(
        self,
        mag: torch.Tensor,
        labels: torch.Tensor | None = None,
        visual: torch.Tensor | None = None,
        sources: list[int] | None = None,
    ) -> torch.Tensor:
        """The masks inference applies, for the instruments of `sources` only."""
        ...

    def applied(self, probabilities: torch.Tensor) -> torch.Tensor:
        """What inference applies of the probabilities (validation scores the same)."""
        ...


@runtime_checkable
class WaveformModel(Protocol):
    """Waveforms at `config.sample_rate` from windows of `config.input_samples`, e.g. `waveunet.WaveUNet`."""

    config: ModelConfig

    @property
    def output_samples(self) -> int:
        """Samples out of a training window: its centre."""
        ...

    def __call__(self, mix: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, input_samples) -> (B, K, output_samples): the training window."""
        ...

    def forward_window(self, mix: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Any window length the layers allow (inference computes long windows at once)."""
        ...


def separable(model: object) -> MaskingModel | WaveformModel:
    """`model` as the protocol it follows; one that follows neither is a programming error."""
    if isinstance(model, WaveformModel | MaskingModel):
        return model
    raise TypeError(f"{type(model).__name__} follows neither separable.MaskingModel nor WaveformModel")
