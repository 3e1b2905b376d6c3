"""One training step's work on a batch: the online augmentations (timbre recolouring, noise)
and the loss, with the separated waveforms when validation scores them."""

from __future__ import annotations

import math

import torch

from ..constants import N_BINS, SAMPLE_RATE
from ..dsp.spectral import interpolation_matrix, istft, stft
from ..nets.config import LABEL_GATED, ModelConfig
from ..nets.recognizer import InstrumentRecognizer, audible
from ..nets.separable import WaveformModel, separable
from ..nets.splitter import PlayerSplitter
from ..nets.waveunet import centre_crop
from .data import Example
from .losses import mask_loss, si_sdr_loss, waveform_loss


def batch_loss(
    net: torch.nn.Module, batch: Example, config: ModelConfig, *, estimates: bool = False, loss_kind: str = "mask"
) -> tuple[torch.Tensor, torch.Tensor | None, Example]:
    """The loss of a batch, the source estimates if asked (a recogniser's: each class's
    probability), and the batch they are scored against: a waveform model's output is the
    centre of its input window, a recogniser's labels are the sources that can be heard, a
    player splitter's sources are the two players of the class its input holds."""
    inner = net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net
    if isinstance(inner, InstrumentRecognizer):  # which instruments can be heard: one logit each
        scored = batch._replace(labels=audible(batch.labels, batch.sources))
        logits = net(stft(batch.mix).abs())
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, scored.labels)
        return loss, torch.sigmoid(logits) if estimates else None, scored
    if isinstance(inner, PlayerSplitter):  # the two players of the input's class, scored against the input
        spec = stft(batch.mix)
        shares = net(spec.abs(), batch.labels)
        players = stft(batch.sources.flatten(0, 1)).abs().unflatten(0, batch.sources.shape[:2])
        scored = batch._replace(labels=torch.ones(batch.sources.shape[:2], device=batch.mix.device))
        separated = istft(shares * spec.unsqueeze(1), batch.mix.shape[-1]) if estimates else None
        return mask_loss(shares, players, spec.abs(), False), separated, scored
    labels = batch.labels if config.uses_labels else None
    model = separable(inner)
    if isinstance(model, WaveformModel):
        out = net(batch.mix, labels)
        n = out.shape[-1]
        scored = batch._replace(mix=centre_crop(batch.mix, n), sources=centre_crop(batch.sources, n))
        return waveform_loss(out, scored.sources), out, scored
    spec = stft(batch.mix)
    mix_mag = spec.abs()
    masks = net(mix_mag, labels, batch.visual if config.uses_visual else None)
    # Label-gated masks of absent instruments are zero, as are their targets: the loss skips them.
    gated = batch.labels > 0 if config.conditioning in LABEL_GATED else None
    if loss_kind == "mask" and not estimates:
        return mask_loss(masks, source_magnitudes(batch), mix_mag, config.mask == "binary", gated), None, batch
    separated = istft(model.applied(masks) * spec.unsqueeze(1), batch.mix.shape[-1])  # what inference applies
    if loss_kind == "si-sdr":
        loss = si_sdr_loss(separated, batch.sources, batch.labels)
    else:
        loss = mask_loss(masks, source_magnitudes(batch), mix_mag, config.mask == "binary", gated)
    return loss, separated if estimates else None, batch


def source_magnitudes(batch: Example) -> torch.Tensor:
    """|STFT| of every source slot (B, 13, bins, frames), transformed only where an instrument
    plays: absent slots hold silence (the datasets write zeros there), and 2-4 of 13 play, so
    this is a quarter of the transforms a training step would otherwise spend on zeros."""
    b, k, n = batch.sources.shape
    flat = batch.sources.reshape(b * k, n)
    present = batch.labels.reshape(-1) > 0
    played = stft(flat[present]).abs()
    mags = played.new_zeros(b * k, *played.shape[-2:])
    mags[present] = played
    return mags.reshape(b, k, *played.shape[-2:])


def add_noise(mix: torch.Tensor, share: float, gen: torch.Generator) -> torch.Tensor:
    """White noise at 20-40 dB SNR on a `share` of the batch (drawn from `gen`)."""
    if share <= 0:
        return mix
    chosen = (torch.rand(mix.shape[0], generator=gen) < share).to(mix.device)
    snr_db = (20 + 20 * torch.rand(mix.shape[0], generator=gen)).to(mix.device)
    noise = torch.randn(mix.shape, generator=gen).to(mix.device)
    power = mix.pow(2).mean(-1, keepdim=True)
    noise = noise * (power / 10 ** (snr_db.unsqueeze(-1) / 10)).sqrt()
    return mix + chosen.unsqueeze(-1) * noise


EQ_KNOTS = 8
"""Knots of `recolour_sources`' curves, evenly spaced in log frequency from EQ_LOWEST_HZ to
Nyquist: about one per octave, smooth enough to change a timbre's colour, not its notes."""


EQ_LOWEST_HZ = 40.0


def recolour_sources(batch: Example, max_db: float, gen: torch.Generator) -> Example:
    """Every present source filtered by its own random smooth curve of up to +-max_db
    (drawn from `gen`), and the mix summed again from the filtered sources."""
    if max_db <= 0:
        return batch
    b, k, n = batch.sources.shape
    present = batch.labels.reshape(-1) > 0
    knots_db = (2 * torch.rand(int(present.sum()), EQ_KNOTS, generator=gen) - 1) * max_db
    hz = torch.linspace(0, SAMPLE_RATE / 2, N_BINS).clamp(min=EQ_LOWEST_HZ)
    place = torch.log(hz / EQ_LOWEST_HZ) / math.log(SAMPLE_RATE / 2 / EQ_LOWEST_HZ) * (EQ_KNOTS - 1)
    curve_db = knots_db @ interpolation_matrix(place, EQ_KNOTS).T
    gain = (10 ** (curve_db / 20)).to(batch.sources.device).unsqueeze(-1)
    sources = batch.sources.reshape(b * k, n).clone()
    sources[present] = istft(stft(sources[present]) * gain, n)
    sources = sources.reshape(b, k, n)
    return batch._replace(mix=sources.sum(1), sources=sources)
