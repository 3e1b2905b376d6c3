"""Training losses: on the masks (the paper's), or on the separated waveforms.

`mask_loss` compares the U-Net's masks with ideal ones, `si_sdr_loss` scores the stems the
masks give after the ISTFT (what evaluation measures), `waveform_loss` is the Wave-U-Net's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..dsp.metrics import is_silent, si_sdr


def mask_loss(
    masks: torch.Tensor,
    sources_spec: torch.Tensor,
    mix_mag: torch.Tensor,
    binary: bool,
    present: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mixture-magnitude-weighted L2 on ideal ratio masks, or BCE on ideal binary masks.

    masks (B, K, F, T) in [0, 1]; sources_spec (B, K, F, T) source magnitudes; mix_mag (B, F, T).
    `present` (B, K), ratio masks only: the slots whose mask or target can be non-zero. The
    others (label-gated masks of absent instruments: zero mask, zero target) add exactly
    nothing, so they are skipped and the mean still counts them: the same loss for a
    quarter of the work when 2-4 of 13 instruments play.
    """
    weight = (mix_mag / mix_mag.mean(dim=(-2, -1), keepdim=True).clamp_min(1e-8)).unsqueeze(1)
    total = sources_spec.sum(1, keepdim=True)
    if binary:
        target = ((sources_spec == sources_spec.amax(1, keepdim=True)) & (sources_spec > 0)).to(masks.dtype)
        return F.binary_cross_entropy(masks.clamp(1e-6, 1 - 1e-6), target, weight.expand_as(masks))
    if present is None:
        target = sources_spec / total.clamp_min(1e-8)
        return (weight * (masks - target) ** 2).mean()
    example, slot = present.nonzero(as_tuple=True)
    target = sources_spec[example, slot] / total[example, 0].clamp_min(1e-8)
    return (weight[example, 0] * (masks[example, slot] - target) ** 2).sum() / masks.numel()


def waveform_loss(estimates: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """The Wave-U-Net's: squared error summed over the (B, K, T) sources, averaged over samples."""
    return (estimates - sources).pow(2).sum(1).mean()


def si_sdr_loss(estimates: torch.Tensor, sources: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Negative mean SI-SDR of the (B, K, T) estimates over the sources that play and are
    not silent (an absent source has no scale-invariant target)."""
    present = (labels > 0) & ~is_silent(sources)
    return -si_sdr(sources, estimates)[present].mean().float()
