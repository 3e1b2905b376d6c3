"""The separation API: `Separator` turns a mixture into one stem per instrument (`stems.py`
writes them to files).

Audio of any length is cut into overlapping segments at its own sample rate. Each
segment is downmixed and resampled to 11025 Hz for the network; the predicted masks
are interpolated onto an STFT of the segment at the input's own rate and channels and
applied there (optionally refined by a multichannel Wiener filter, norbert's EM in torch), so stems
keep the input's sample rate, channels and length. Segments are cross-faded with
weights that sum to one and streamed out as soon as they are final, so memory does
not grow with the input's length.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .constants import DEFAULT_SEGMENT, HOP, MIN_SEGMENT, N_FFT, SAMPLE_RATE, WIENER_ITERATIONS
from .dsp.audio import (
    resample_stream,
    to_model_input,
)
from .dsp.spectral import istft, stft
from .dsp.wiener import residual_model, wiener
from .errors import VimssError
from .instruments import Instrument, LineUp
from .nets.family import SeparationModel
from .nets.separable import MaskingModel, WaveformModel, separable
from .nets.splitter import PlayerSplitter
from .nets.waveunet import stream_waveform

RESIDUAL = "residual"
VisualSource = Callable[[list[float]], torch.Tensor]
"""Segment start times (seconds) -> the players' backbone features (segments, players,
frames, 2048), e.g. `visual.VideoFeatures`; what visually conditioned models read."""


@dataclass(frozen=True)
class StftGrid:
    """The STFT used at the input's sample rate: the model's time and frequency
    resolution (hop 256, window 1022 at 11025 Hz) scaled to that rate."""

    sample_rate: int
    n_fft: int
    hop: int

    @classmethod
    def for_rate(cls, sample_rate: int) -> StftGrid:
        ratio = sample_rate / SAMPLE_RATE
        hop = max(1, round(HOP * ratio))
        if sample_rate == SAMPLE_RATE:
            return cls(sample_rate, N_FFT, HOP)
        return cls(sample_rate, _fast_fft_size(max(2 * hop, round(N_FFT * ratio))), hop)

    @property
    def model_frames(self) -> bool:
        """Whether this grid's frames are the model's, one for one: its hop lasts exactly the
        model's (44.1, 22.05, 88.2 kHz). Decided on integers: the frame positions computed
        in floating point miss whole numbers by 1e-15 from frame 50 on."""
        return self.hop * SAMPLE_RATE == HOP * self.sample_rate

    def model_positions(self, n_bins: int, n_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Where this grid's bins and frames fall on the model's bin and frame axes."""
        bin_pos = torch.arange(n_bins, dtype=torch.float64) * (self.sample_rate / self.n_fft) / (SAMPLE_RATE / N_FFT)
        frame_pos = torch.arange(n_frames, dtype=torch.float64) * (self.hop / self.sample_rate) * (SAMPLE_RATE / HOP)
        return bin_pos, frame_pos


def _fast_fft_size(n: int) -> int:
    """Smallest even size >= n with no prime factor above 5: FFTs of such sizes are
    about 1.5x faster than of sizes with a large prime factor (4088 = 8 * 7 * 73)."""
    size = n + n % 2
    while True:
        rest = size
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return size
        size += 2


def _lerp(x: torch.Tensor, positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Linear interpolation of `x` along `dim` at fractional `positions`, clamped at the ends."""
    size = x.shape[dim]
    positions = positions.to(x.device).clamp(0, size - 1)
    low = positions.floor().long().clamp(max=max(size - 2, 0))
    high = (low + 1).clamp(max=size - 1)
    frac = (positions - low).to(x.dtype)
    frac = frac.reshape(-1, *([1] * (x.dim() - 1 - (dim % x.dim()))))
    return x.index_select(dim, low) * (1 - frac) + x.index_select(dim, high) * frac


class Separator:
    """Separate mixtures with one model; the CLI is a thin shell over this class.

    `wiener_iterations` = 0 applies the masks directly; more runs norbert's EM Wiener
    filter. With `residual`, a `residual` stem (the input minus every stem) is added,
    so the written stems always add up to the input.
    """

    def __init__(
        self,
        model: SeparationModel,
        device: str | torch.device = "cpu",
        *,
        segment: float = DEFAULT_SEGMENT,
        overlap: float = 0.5,
        batch_size: int = 2,
        wiener_iterations: int = WIENER_ITERATIONS,
        residual: bool = False,
        splitter: PlayerSplitter | None = None,
    ) -> None:
        """Takes `model` itself, not a copy: it is moved to `device` (channels-last) and
        switched to eval mode, so a caller that goes on training it must switch it back.
        `splitter` parts the stem of an instrument named twice (`vn,vn,va,vc`) into its two
        players' (`nets/splitter.py`); a line-up that names one twice needs it."""
        if segment <= 0:
            raise VimssError(f"--segment must be positive, got {segment:g}")
        if segment < MIN_SEGMENT and not isinstance(separable(model), WaveformModel):  # an STFT needs that much
            raise VimssError(f"--segment must be at least {MIN_SEGMENT:g} s, got {segment:g}")
        if not 0 <= overlap <= segment / 2:
            raise VimssError(f"--overlap must be between 0 and half the segment ({segment / 2:.2f} s), got {overlap}")
        if wiener_iterations < 0:
            raise VimssError(f"--wiener-iterations must be 0 or more, got {wiener_iterations}")
        if batch_size < 1:
            raise VimssError(f"batch size must be at least 1, got {batch_size}")
        self.device = torch.device(device)
        # channels-last convolutions: 1.45x faster on CPU (oneDNN), same outputs to 1e-7
        # Module.to takes memory_format at run time; torch's stub for it does not list it
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]
        self.segment, self.overlap = segment, overlap
        self.batch_size = batch_size
        self.wiener_iterations = wiener_iterations
        self.residual = residual
        self.splitter = None if splitter is None else splitter.to(self.device).eval()

    def stem_names(self, line_up: LineUp) -> list[str]:
        return line_up.abbrs + ([RESIDUAL] if self.residual else [])

    def separate(
        self,
        waveform: torch.Tensor | np.ndarray,
        sample_rate: int,
        instruments: LineUp | str | Sequence[str | Instrument],
        visual: VisualSource | None = None,
    ) -> dict[str, torch.Tensor]:
        """Stems of a (channels, frames) or (frames,) mixture, each shaped like the input."""
        wave = torch.as_tensor(waveform, dtype=torch.float32)
        mono = wave.dim() == 1
        chosen = LineUp.of(instruments)
        parts = list(self.stream([wave.reshape(-1, wave.shape[-1])], sample_rate, chosen, visual=visual))
        stems = torch.cat(parts, dim=-1)
        return {name: (s[0] if mono else s) for name, s in zip(self.stem_names(chosen), stems)}

    def stream(
        self,
        blocks: Iterable[torch.Tensor | np.ndarray],
        sample_rate: int,
        instruments: LineUp | str | Sequence[str | Instrument],
        on_progress: Callable[[int], None] | None = None,
        visual: VisualSource | None = None,
        on_named_share: Callable[[float], None] | None = None,
    ) -> Iterator[torch.Tensor]:
        """Consume (channels, n) blocks, yield (stems, channels, n) blocks of output as
        they become final. The output has exactly as many frames as the input.

        `on_named_share` hears, once the input has ended, the share of the input's energy
        that the named instruments' masks claim before they are made to share the mixture
        (masking models only): well below 1, instruments that were not named are playing."""
        chosen = LineUp.of(instruments)
        sources = chosen.sources
        labels = chosen.labels() if self.model.config.uses_labels else None
        if self.model.config.uses_visual and visual is None:
            raise VimssError("this model is conditioned on what the players look like: give it a video")
        model = separable(self.model)
        self.check_players(chosen)
        if isinstance(model, WaveformModel):
            yield from self._separate_waveform(model, blocks, sample_rate, sources, labels, on_progress)
            return
        seg = max(1, round(self.segment * sample_rate))
        fade = _CrossFade(seg, min(round(self.overlap * sample_rate), seg // 2))
        step = seg - fade.overlap

        claimed = _ClaimedEnergy() if on_named_share is not None else None
        pending: list[torch.Tensor] = []  # input from fade.start on, not yet joined
        total = 0  # input frames received
        schedule = _SegmentSchedule(seg, step)
        queue = schedule.queue
        for block in _then_none(blocks):
            ended = block is None
            if block is not None and block.shape[-1]:
                pending.append(torch.as_tensor(block, dtype=torch.float32))
                total += block.shape[-1]
            if ended:
                if total == 0:
                    raise VimssError("the input holds no audio samples")
                schedule.end(total)
            else:
                schedule.arrived(total)
            if len(queue) < self.batch_size and not (ended and fade.start < total):
                continue
            buffer = torch.cat(pending, dim=-1)
            for first in range(0, len(queue), self.batch_size):
                batch = queue[first : first + self.batch_size]
                offsets = [(s - fade.start, n) for s, n in batch]
                chunks = buffer.new_zeros(len(batch), buffer.shape[0], seg)  # a last, shorter segment ends in zeros
                for chunk, (o, n) in zip(chunks, offsets):
                    chunk[:, :n] = buffer[:, o : o + n]
                features = (
                    visual([s / sample_rate for s, _ in batch])
                    if visual is not None and self.model.config.uses_visual
                    else None
                )
                separated = self._separate_chunks(model, chunks, sample_rate, chosen, labels, features, claimed).cpu()
                for (start, n), stems in zip(batch, separated):
                    fade.add(start, stems[..., :n])
            queue.clear()
            next_start = schedule.next_start
            done = next_start - fade.start
            out = fade.pop(next_start)
            if self.residual:
                out = torch.cat([out, (buffer[:, :done] - out.sum(0)).unsqueeze(0)])
            pending = [buffer[:, done:]]
            if on_progress is not None:
                on_progress(fade.start)
            yield out
        if on_named_share is not None and claimed is not None:
            on_named_share(claimed.share)

    @torch.inference_mode()
    def _separate_chunks(
        self,
        model: MaskingModel,
        chunks: torch.Tensor,
        sample_rate: int,
        chosen: LineUp,
        labels: torch.Tensor | None,
        features: torch.Tensor | None,
        claimed: _ClaimedEnergy | None,
    ) -> torch.Tensor:
        """(B, channels, n) segments -> (B, stems, channels, n) stems."""
        sources = chosen.sources
        chunks = chunks.to(self.device)
        length = chunks.shape[-1]
        mono = to_model_input(chunks, sample_rate, SAMPLE_RATE)
        multiple = max(model.frame_multiple, self.splitter.frame_multiple if self.splitter else 1)  # powers of 2
        frames = math.ceil(math.ceil((mono.shape[-1] + 1) / HOP) / multiple) * multiple
        mono = F.pad(mono, (0, frames * HOP - 1 - mono.shape[-1]))
        mag = stft(mono).abs()
        labels = None if labels is None else labels.to(self.device).expand(len(chunks), -1)
        features = None if features is None else features.to(self.device)
        masks = model.masks(mag, labels, features, sources)  # only the asked instruments' masks
        if chosen.pairs:
            assert self.splitter is not None, "stream() checks that a splitter parts the players"
            self.splitter.split(masks, mag, sources, chosen.pairs)
        if claimed is not None:
            claimed.add(masks, mag)

        grid = StftGrid.for_rate(sample_rate)
        spec = stft(chunks, grid.n_fft, grid.hop)  # (B, C, bins, frames)
        bin_pos, frame_pos = grid.model_positions(spec.shape[-2], spec.shape[-1])
        # Bins above the model's Nyquist (5.5 kHz) all get its top bin's mask: only the
        # bins below are interpolated, and the top bin's mask is broadcast over the rest.
        band = int((bin_pos <= N_FFT // 2).sum())
        # (B, S, 512, frames); time first: 4x fewer rows
        masks = masks[..., : len(frame_pos)] if grid.model_frames else _lerp(masks, frame_pos, -1)
        low, top = _lerp(masks, bin_pos[:band], -2), masks[..., -1:, :]
        # frames-major in memory, as torch.stft returns it: the ISTFT's inverse FFTs then
        # read contiguous rows (35% faster than from a bins-major copy)
        est = torch.empty(
            len(chunks),
            len(sources),
            *spec.shape[1:-2],
            spec.shape[-1],
            spec.shape[-2],
            dtype=spec.dtype,
            device=spec.device,
        ).transpose(-1, -2)
        if self.wiener_iterations == 0:
            torch.mul(low[:, :, None], spec[:, None, :, :band], out=est[..., :band, :])
        else:
            # EM Wiener only where the network sees the signal: above it, the masks are the
            # same in every bin, so refining costs 3x the time for nothing; there they are
            # only normalised to share the mixture (norbert's soft mask).
            low_spec = spec[..., :band, :].contiguous()  # bins-major: the filter's sums over frames are faster
            for b in range(len(chunks)):
                self._wiener(low[b], low_spec[b], est[b, ..., :band, :])
            total = top.sum(dim=1, keepdim=True)
            if self.residual:
                total = total + (1 - total).clamp_min(0)
            top = top / (total + 1e-8)
        torch.mul(top[:, :, None], spec[:, None, :, band:], out=est[..., band:, :])
        return istft(est, length, grid.n_fft, grid.hop)

    def _separate_waveform(
        self,
        model: WaveformModel,
        blocks: Iterable[torch.Tensor | np.ndarray],
        sample_rate: int,
        sources: list[int],
        labels: torch.Tensor | None,
        on_progress: Callable[[int], None] | None,
    ) -> Iterator[torch.Tensor]:
        """Time-domain models: each channel on its own at the model's rate (no masks, so
        no Wiener filter), streamed through resampling, windows and resampling back, so
        neither the input nor the stems are ever held whole."""
        rate = model.config.sample_rate
        mixture: list[torch.Tensor] = []  # input not yet matched by stems, for the residual
        total = 0

        def arriving() -> Iterator[torch.Tensor]:
            nonlocal total
            for block in blocks:
                block = torch.as_tensor(block, dtype=torch.float32)
                total += block.shape[-1]
                if self.residual:
                    mixture.append(block)
                yield block.to(self.device)

        at_rate = resample_stream(arriving(), sample_rate, rate)
        window = round(self.segment * rate)
        stems = stream_waveform(model, at_rate, labels, sources, window=window, batch_size=self.batch_size)
        done = 0
        for out in resample_stream(stems, rate, sample_rate):
            out = out[..., : total - done].cpu()  # resampling back may give a sample or two more
            if self.residual:
                mix = torch.cat(mixture, dim=-1)
                mixture[:] = [mix[:, out.shape[-1] :]]
                out = torch.cat([out, (mix[:, : out.shape[-1]] - out.sum(0)).unsqueeze(0)])
            done += out.shape[-1]
            if on_progress is not None:
                on_progress(done)
            yield out

    def check_players(self, chosen: LineUp) -> None:
        """Refuse, in one line, a line-up with two players of an instrument that nothing can part."""
        if not chosen.pairs:
            return
        doubled = ", ".join(chosen.classes[first] for first, _ in chosen.pairs)
        if isinstance(separable(self.model), WaveformModel):
            raise VimssError(
                f"two players of {doubled}: this model (a Wave-U-Net) gives one stem per instrument; "
                "name each instrument once, or use a spectrogram model such as vimss-labels"
            )
        if self.splitter is None:
            raise VimssError(f"two players of {doubled} need a player splitter (--splitter; `load_splitter` in Python)")

    def _wiener(self, masks: torch.Tensor, spec: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Multichannel Wiener filter (norbert's EM, in torch): (S, bins, frames) masks and
        a (C, bins, frames) mixture STFT -> (S, C, bins, frames) stem STFTs, into `out`."""
        v = masks[:, None] * spec.abs()
        if not self.residual:
            return wiener(v, spec, self.wiener_iterations, out)
        return out.copy_(wiener(residual_model(v, spec), spec, self.wiener_iterations)[: masks.shape[0]])


class _ClaimedEnergy:
    """How much of the input's energy the named instruments' masks claim, summed over
    segments (overlaps count twice on both sides of the ratio). The sums stay on the
    model's device until the end, so a GPU run is not synchronised once per batch."""

    def __init__(self) -> None:
        self.claimed: torch.Tensor | float = 0.0
        self.energy: torch.Tensor | float = 0.0

    def add(self, masks: torch.Tensor, mag: torch.Tensor) -> None:
        """(B, S, bins, frames) masks of (B, bins, frames) magnitudes."""
        power = mag.square()
        self.claimed = self.claimed + (masks.sum(1).clamp(max=1) * power).sum()
        self.energy = self.energy + power.sum()

    @property
    def share(self) -> float:
        energy = float(self.energy)
        return float(self.claimed) / energy if energy > 0 else 1.0


class _CrossFade:
    """Overlap-add of segment outputs with linear fades whose weights sum to one.

    Holds the weighted sum and the weight sum from absolute frame `start` on; `pop`
    returns the normalised output up to a frame no later segment will touch.
    """

    def __init__(self, segment: int, overlap: int) -> None:
        self.segment, self.overlap = segment, overlap
        self.ramp = (torch.arange(overlap, dtype=torch.float32) + 0.5) / max(overlap, 1)
        self.start = 0
        self.sum: torch.Tensor | None = None
        self.weight = torch.zeros(0)

    def add(self, start: int, stems: torch.Tensor) -> None:
        """Add (stems, channels, n) output of the segment that begins at frame `start`."""
        n, ov = stems.shape[-1], self.overlap
        weight = torch.ones(n)
        if start > 0 and ov:
            weight[: min(ov, n)] = self.ramp[: min(ov, n)]
        if n == self.segment and ov:
            weight[n - ov :] *= 1 - self.ramp
        lo, hi = start - self.start, start - self.start + n
        if self.sum is None:
            self.sum = torch.zeros(*stems.shape[:-1], 0)
        if hi > self.weight.shape[0]:  # grown by at least its size: few copies
            grow = max(hi - self.weight.shape[0], self.weight.shape[0])
            self.sum, self.weight = F.pad(self.sum, (0, grow)), F.pad(self.weight, (0, grow))
        self.sum[..., lo:hi].addcmul_(stems, weight)
        self.weight[lo:hi] += weight

    def pop(self, upto: int) -> torch.Tensor:
        assert self.sum is not None, "pop follows add"
        n = upto - self.start
        out = self.sum[..., :n] / self.weight[:n]
        self.sum, self.weight = self.sum[..., n:], self.weight[n:]
        self.start = upto
        return out


class _SegmentSchedule:
    """Which segments of a growing input are ready to separate, as (start, length) in
    `queue`: a full segment every `step` frames once its input has arrived, and at the
    end one shorter segment for what the full ones do not reach. Output is final up to
    `next_start` (the next segment's start: the cross-fades before it are complete)."""

    def __init__(self, segment: int, step: int) -> None:
        self.segment, self.step = segment, step
        self.next_start = 0
        self.queue: list[tuple[int, int]] = []

    def arrived(self, total: int) -> None:
        """`total` input frames have arrived."""
        while self.next_start + self.segment <= total:
            self.queue.append((self.next_start, self.segment))
            self.next_start += self.step

    def end(self, total: int) -> None:
        """The input ended after `total` frames."""
        self.arrived(total)
        last_end = self.next_start - self.step + self.segment if self.next_start else 0
        if last_end < total:
            self.queue.append((self.next_start, total - self.next_start))  # a last, shorter segment
        self.next_start = total


def _then_none(blocks: Iterable[torch.Tensor | np.ndarray]) -> Iterator[torch.Tensor | np.ndarray | None]:
    """The blocks, then None to mark the end of the input."""
    yield from blocks
    yield None
