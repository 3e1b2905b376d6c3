"""The Wave-U-Net (Stoller et al., 2018): the original VIMSS time-domain model, with
one output waveform per instrument class and label conditioning.

`levels` downsampling blocks (a 1-D convolution of `down_kernel`, then decimation by
2), a bottleneck convolution, and as many upsampling blocks (linear interpolation,
the skip of the same level cropped to the centre and joined, a convolution of
`up_kernel`). No convolution pads, so every output sample has real context on both
sides and the output is the centre of the input: 147443 samples in, 16389 out for
the README's 12 levels. The input mix joins the last features before the 1x1 output
convolution. Whole files are separated window by window, the file edges padded by
reflection (see `Separator`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import VimssError
from .conditioning import FiLM, concat_context, multiply_masks
from .config import ModelConfig, output_samples
from .separable import WaveformModel


def centre_crop(x: torch.Tensor, length: int) -> torch.Tensor:
    """The middle `length` samples of the last axis."""
    start = (x.shape[-1] - length) // 2
    return x[..., start : start + length]


class WaveUNet(nn.Module):
    """(B, input_samples) mixture + labels (B, K) -> (B, K, output_samples) waveforms."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        cond, ctx = config.conditioning, config.context_dim
        self.visual = None  # the Wave-U-Net reads labels only
        widths = [config.filters * (i + 1) for i in range(config.levels + 1)]
        self.down = nn.ModuleList(
            nn.Conv1d(c_in, c_out, config.down_kernel) for c_in, c_out in zip([1, *widths[:-2]], widths[:-1])
        )
        bottleneck_in = widths[-2] + (ctx if cond == "concat-bottleneck" else 0)
        self.bottleneck = nn.Conv1d(bottleneck_in, widths[-1], config.down_kernel)
        self.up = nn.ModuleList(
            nn.Conv1d(widths[i + 1] + widths[i], widths[i], config.up_kernel) for i in reversed(range(config.levels))
        )
        final_in = widths[0] + 1 + (ctx if cond == "concat-final" else 0)
        self.output = nn.Conv1d(final_in, config.n_sources, 1)
        kind, _, where = cond.partition("-")  # e.g. film-bottleneck
        scale, shift = {"multiply": (True, False), "add": (False, True), "film": (True, True)}.get(kind, (False, False))
        channels = widths[-1] if where == "bottleneck" else final_in
        self.film = FiLM(ctx, channels, scale=scale, shift=shift) if scale or shift else None
        self.slope = config.leaky_slope

    @property
    def output_samples(self) -> int:
        samples = output_samples(self.config)
        assert samples is not None, "ModelConfig checks that the training window fits the layers"
        return samples

    def context(self, labels: torch.Tensor | None = None) -> torch.Tensor | None:
        if self.config.uses_labels and labels is None:
            raise VimssError("this model is conditioned on labels; pass them")
        return labels if self.config.uses_labels else None

    def forward(self, mix: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, input_samples) -> (B, 13, output_samples): the training window."""
        if mix.shape[-1] != self.config.input_samples:
            raise ValueError(f"a Wave-U-Net window is {self.config.input_samples} samples, got {mix.shape[-1]}")
        return self.forward_window(mix, labels)

    def forward_window(self, mix: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Any input length that fits the layers (the training window plus multiples of
        2**levels): inference computes long windows at once."""
        context = self.context(labels)
        cond = self.config.conditioning
        x = mix.unsqueeze(1)
        skips = []
        for conv in self.down:
            x = F.leaky_relu(conv(x), self.slope)
            skips.append(x)
            x = x[..., ::2]
        # context() has refused a label-conditioned model without labels: None only when unused
        if cond == "concat-bottleneck" and context is not None:
            x = concat_context(x, context)
        x = F.leaky_relu(self.bottleneck(x), self.slope)
        if cond.endswith("-bottleneck") and self.film is not None:
            x = self.film(x, context)
        for conv, skip in zip(self.up, reversed(skips)):
            x = F.interpolate(x, size=2 * x.shape[-1] - 1, mode="linear", align_corners=True)
            x = F.leaky_relu(conv(torch.cat([x, centre_crop(skip, x.shape[-1])], dim=1)), self.slope)
        x = torch.cat([x, centre_crop(mix.unsqueeze(1), x.shape[-1])], dim=1)
        if cond == "concat-final" and context is not None:
            x = concat_context(x, context)
        elif cond.endswith("-final") and self.film is not None:
            x = self.film(x, context)
        sources = torch.tanh(self.output(x))
        if cond == "label-multiply" and context is not None:
            return multiply_masks(sources.unsqueeze(-2), context).squeeze(-2)
        return sources


def reflect_pad(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Pad the last axis by reflection, reflecting again as often as a short input needs."""
    while left or right:
        n = x.shape[-1]
        if n == 1:
            return F.pad(x.unsqueeze(0), (left, right), mode="replicate").squeeze(0)
        step_left, step_right = min(left, n - 1), min(right, n - 1)
        x = F.pad(x.unsqueeze(0), (step_left, step_right), mode="reflect").squeeze(0)
        left, right = left - step_left, right - step_right
    return x


@torch.inference_mode()
def stream_waveform(
    model: WaveformModel,
    blocks: Iterable[torch.Tensor],
    labels: torch.Tensor | None,
    sources: list[int],
    *,
    window: int,
    batch_size: int = 2,
) -> Iterator[torch.Tensor]:
    """(channels, n) blocks of audio at the model's rate -> (len(sources), channels, m)
    blocks of the sources asked for (instrument indices), each channel separated on its
    own; joined, as many samples as came in. Windows grow the training window in steps
    of 2**levels (the lengths the layers allow) to give at least `window` samples, and
    start at multiples of 2**levels, where decimation keeps the same samples: any window
    size gives the same result. The file's edges are padded by reflection for context;
    a window runs once its input has arrived, and enough is held back to reflect the
    end, so any split of the input into blocks gives the same stems."""
    period = 2**model.config.levels
    grow = max(0, -(-(max(window, period) - model.output_samples) // period))
    inputs, outputs = model.config.input_samples + grow * period, model.output_samples + grow * period
    stride = outputs // period * period  # the window's last outputs % period samples are dropped
    context = (inputs - outputs) // 2
    held_back = context + outputs + 1  # more than the end's reflection reads

    def run(padded: torch.Tensor, count: int) -> torch.Tensor:
        """The stems of `count` windows from the start of the padded signal."""
        channels = padded.shape[0]
        on_device = None if labels is None else labels.to(padded.device)
        starts = [(c, k * stride) for k in range(count) for c in range(channels)]
        result = torch.empty(len(sources), channels, count * stride, device=padded.device)
        for first in range(0, len(starts), batch_size):
            batch = starts[first : first + batch_size]
            x = torch.stack([padded[c, s : s + inputs] for c, s in batch])
            y = model.forward_window(x, None if on_device is None else on_device.expand(len(batch), -1))
            for (c, s), estimates in zip(batch, y):
                result[:, c, s : s + stride] = estimates[sources, :stride]
        return result

    received: list[torch.Tensor] = []  # the input, until the first window can run
    padded: torch.Tensor | None = None  # the left-padded input from the next window's start on
    total = done = 0  # input samples received; stems handed out
    for block in blocks:
        total += block.shape[-1]
        if padded is None:
            received.append(block)
            if inputs + held_back > context + total:
                continue
            padded = reflect_pad(torch.cat(received, dim=-1), context, 0)
            received.clear()
        else:
            padded = torch.cat([padded, block], dim=-1)
        ready = (padded.shape[-1] - inputs - held_back) // stride + 1
        if ready > 0:
            yield run(padded, ready)
            padded, done = padded[..., ready * stride :], done + ready * stride
    if total == 0:
        raise VimssError("the input holds no audio samples")
    right = context + (-(-total // stride) - 1) * stride + outputs - total
    padded = (
        reflect_pad(torch.cat(received, dim=-1), context, right) if padded is None else reflect_pad(padded, 0, right)
    )
    yield run(padded, -(-(total - done) // stride))[..., : total - done]
