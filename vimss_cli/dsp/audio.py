"""Audio in and out: streaming readers for audio files and video containers, and
stem writers that only leave a finished file behind.

Readers hand out float32 blocks shaped (channels, frames) at the file's own sample
rate, so a file of any length is never held in memory whole. soundfile reads the
plain audio formats, PyAV (ffmpeg) the audio track of video containers.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import torch
import torchaudio

from ..atomic import temporary_beside
from ..errors import VimssError, one_line

SOUNDFILE_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
CONTAINER_EXTENSIONS = (".mp4", ".m4a", ".mkv", ".mka", ".mov", ".webm", ".opus", ".aac")
INPUT_EXTENSIONS = SOUNDFILE_EXTENSIONS + CONTAINER_EXTENSIONS

OUTPUT_FORMATS = ("wav", "flac", "mp3")
STEM_EXTENSIONS = ("wav", "flac", "mp3")
"""Every format a stem has been written in (a new run removes an earlier run's stems in any of them)."""
BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int | None
    """Number of frames when the container states it (used for progress only)."""


class AudioReader:
    """Streams one input file; use `open_audio` to get one."""

    def __init__(self, path: Path, info: AudioInfo) -> None:
        self.path = path
        self.info = info

    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file handle."""

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def read_all(self) -> np.ndarray:
        """The whole file as (channels, frames); for short files and tests."""
        parts = list(self.blocks(1 << 18))
        if not parts:
            return np.zeros((self.info.channels, 0), dtype=np.float32)
        return np.concatenate(parts, axis=1)


@contextlib.contextmanager
def _silent_c_stderr() -> Iterator[None]:
    """libsndfile's mp3 decoder (mpg123) prints its own warnings ("Xing stream size off by more
    than 1%") to the C stderr while a file opens; a truncated file is refused in one line instead."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class SoundFileReader(AudioReader):
    def __init__(self, path: Path) -> None:
        try:
            with _silent_c_stderr() if path.suffix.lower() == ".mp3" else contextlib.nullcontext():
                self._file = sf.SoundFile(path)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise VimssError(f"cannot decode {path}: {one_line(err)}") from None
        f = self._file
        if _truncated(f.extra_info):
            f.close()
            raise VimssError(f"{path} is truncated: the file ends before the audio its header announces")
        super().__init__(path, AudioInfo(f.samplerate, f.channels, f.frames))

    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        read = 0
        while True:
            try:
                block = self._file.read(block_frames, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as err:
                raise VimssError(f"cannot decode {self.path}: {one_line(err)}") from None
            if not len(block):
                break
            read += len(block)
            yield np.ascontiguousarray(block.T)
        if self.info.frames and read < self.info.frames:
            raise VimssError(
                f"{self.path} is truncated: its header promises {self.info.frames} frames, it holds {read}"
            )

    def close(self) -> None:
        self._file.close()


class ContainerReader(AudioReader):
    """The first audio stream of anything ffmpeg opens (mp4, mkv, mov, webm, m4a)."""

    def __init__(self, path: Path) -> None:
        try:
            self._container = av.open(str(path))
        except (av.error.FFmpegError, UnicodeDecodeError) as err:
            raise VimssError(f"cannot decode {path}: {one_line(err)}") from None
        streams = self._container.streams.audio
        if not streams:
            self._container.close()
            raise VimssError(f"{path} has no audio stream")
        self._stream = streams[0]
        ctx = self._stream.codec_context
        rate, channels = ctx.sample_rate or self._stream.rate, ctx.channels
        if not rate or not channels:
            self._container.close()
            raise VimssError(f"cannot decode {path}: the audio stream states no sample rate or channels")
        frames = None
        if self._stream.duration is not None and self._stream.time_base is not None:
            frames = int(self._stream.duration * self._stream.time_base * rate)
        elif self._container.duration:
            frames = int(self._container.duration / av.time_base * rate)
        super().__init__(path, AudioInfo(rate, channels, frames))

    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        channels, rate = self.info.channels, self.info.sample_rate
        resampler = av.AudioResampler(format="fltp", layout=self._stream.layout, rate=rate)
        pending: list[np.ndarray] = []
        held = 0
        try:
            for frame in self._container.decode(self._stream):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(channels, -1))
                    held += pending[-1].shape[1]
                while held >= block_frames:
                    block, pending, held = _split(pending, block_frames, held)
                    yield block
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(channels, -1))
                held += pending[-1].shape[1]
        except av.error.FFmpegError as err:
            raise VimssError(f"cannot decode {self.path}: {one_line(err)}") from None
        while held:
            block, pending, held = _split(pending, min(block_frames, held), held)
            yield block

    def close(self) -> None:
        self._container.close()


def _truncated(extra_info: str) -> bool:
    """libsndfile reads a cut-off WAV or Ogg silently but says so in its diagnostics."""
    data_lines = [line for line in extra_info.splitlines() if line.startswith("data :")]
    ogg_cut = "ended unexpectedly" in extra_info or "lacks an end-of-stream" in extra_info
    return any("should be" in line for line in data_lines) or ogg_cut


def _split(pending: list[np.ndarray], n: int, held: int) -> tuple[np.ndarray, list[np.ndarray], int]:
    joined = np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
    return np.ascontiguousarray(joined[:, :n], dtype=np.float32), [joined[:, n:]], held - n


def open_audio(path: str | os.PathLike[str]) -> AudioReader:
    """Open an input for streaming, or raise a one-line `VimssError` saying why not."""
    path = Path(path)
    if not path.exists():
        raise VimssError(f"input not found: {path}")
    if path.is_dir():
        raise VimssError(f"input is a folder, not a file: {path}")
    ext = path.suffix.lower()
    if ext not in INPUT_EXTENSIONS:
        supported = " ".join(INPUT_EXTENSIONS)
        raise VimssError(f"unsupported input format '{ext or path.name}' for {path} (supported: {supported})")
    if path.stat().st_size == 0:
        raise VimssError(f"input is empty: {path}")
    return SoundFileReader(path) if ext in SOUNDFILE_EXTENSIONS else ContainerReader(path)


CLIP_MODES = ("rescale", "clamp")


def input_peak(path: str | os.PathLike[str], block_frames: int = 1 << 18) -> float:
    """The input's largest absolute sample, read once before separating: NaN or infinite
    samples are refused here (they would turn every stem into full-scale noise)."""
    peak = 0.0
    done = 0
    with open_audio(path) as reader:
        for block in reader.blocks(block_frames):
            finite = np.isfinite(block)
            if not finite.all():
                first = int(np.flatnonzero(~finite.all(axis=0))[0]) + done
                raise VimssError(
                    f"{path}: has NaN or infinite samples (the first at {first / reader.info.sample_rate:.2f} s);"
                    " repair the file first"
                )
            if block.size:
                peak = max(peak, float(np.abs(block).max()))
            done += block.shape[-1]
    return peak


def load_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """The whole file as (channels, frames) float32 and its sample rate."""
    with open_audio(path) as reader:
        return reader.read_all(), reader.info.sample_rate


def load_available(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """As `load_audio`, but what a file holds even when its header promised more: recorded
    notes and phrases for training (a few of the Philharmonia's mp3 files end early), where
    a separation input so cut is refused."""
    if Path(path).suffix.lower() not in SOUNDFILE_EXTENSIONS:
        return load_audio(path)
    try:
        wave, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise VimssError(f"cannot decode {path}: {one_line(err)}") from None
    return np.ascontiguousarray(wave.T), rate


def read_ahead(blocks: Iterator[np.ndarray], depth: int = 1) -> Iterator[np.ndarray]:
    """The same blocks, decoded `depth` blocks ahead in a thread (the decoders release the
    GIL), so decoding overlaps separation; the reader's errors surface here. A consumer
    that stops early stops the thread too, whatever it was about to hand over."""
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: tuple[np.ndarray | None, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def decode() -> None:
        try:
            for block in blocks:
                if not offer((block, None)):
                    return
            offer((None, None))
        except BaseException as err:  # handed to the consumer
            offer((None, err))

    thread = threading.Thread(target=decode, daemon=True)
    thread.start()
    try:
        while True:
            block, err = ahead.get()
            if err is not None:
                raise err
            if block is None:
                return
            yield block
    finally:
        stop.set()
        thread.join()


def to_model_input(wave: torch.Tensor, sample_rate: int, model_rate: int) -> torch.Tensor:
    """Downmix (..., channels, frames) to mono and resample to the model's rate."""
    mono = wave.mean(dim=-2)
    if sample_rate == model_rate:
        return mono
    return torchaudio.functional.resample(mono, sample_rate, model_rate)


def resample_stream(blocks: Iterable[torch.Tensor], from_rate: int, to_rate: int) -> Iterator[torch.Tensor]:
    """Resample (..., n) blocks as they arrive; joined, the output equals resampling the
    whole signal at once (torchaudio's sinc kernel). Each piece starts on the grid where
    `down` input samples are exactly `up` output samples and is resampled with a margin
    wider than the kernel, so only the whole signal's own edges see zero padding."""
    if from_rate == to_rate:
        yield from blocks
        return
    gcd = math.gcd(from_rate, to_rate)
    up, down = to_rate // gcd, from_rate // gcd
    kernel = math.ceil(6 * down / (0.99 * min(up, down)))  # torchaudio's default half-width, input samples
    margin = down * (2 + -(-kernel // down))
    held: torch.Tensor | None = None  # input from `held_from` on
    held_from = total = done = 0  # `done`: input samples whose output went out, a multiple of `down`
    for block in blocks:
        held = block if held is None else torch.cat([held, block], dim=-1)
        total += block.shape[-1]
        end = (total - margin) // down * down
        if end <= done:
            continue
        low = max(0, done - margin)
        part = torchaudio.functional.resample(held[..., low - held_from : end + margin - held_from], from_rate, to_rate)
        yield part[..., (done - low) // down * up : (end - low) // down * up]
        keep_from = max(0, end - margin)
        held, held_from, done = held[..., keep_from - held_from :], keep_from, end
    if held is None:
        return
    low = max(0, done - margin)
    part = torchaudio.functional.resample(held[..., low - held_from :], from_rate, to_rate)
    yield part[..., (done - low) // down * up :]


def check_output_format(fmt: str, bit_depth: str) -> str:
    """The soundfile subtype for a format and bit depth, or a one-line error."""
    if fmt not in OUTPUT_FORMATS:
        raise VimssError(f"unsupported output format '{fmt}' (choose {' or '.join(OUTPUT_FORMATS)})")
    if bit_depth not in BIT_DEPTHS:
        raise VimssError(f"unsupported bit depth '{bit_depth}' (choose {', '.join(BIT_DEPTHS)})")
    if fmt == "flac" and bit_depth == "32f":
        raise VimssError("flac cannot hold 32-bit float samples; use --bit-depth 16 or 24, or --format wav")
    if fmt == "mp3":
        return "MPEG_LAYER_III"  # lossy: the bit depth does not apply
    return BIT_DEPTHS[bit_depth]


class AtomicAudioWriter:
    """Writes blocks to a hidden temporary file beside `path`; `commit` renames it into
    place, `discard` removes it, so a failed run never leaves a half-written file."""

    def __init__(self, path: Path, sample_rate: int, channels: int, fmt: str, bit_depth: str) -> None:
        subtype = check_output_format(fmt, bit_depth)
        self.path = path
        self._tmp = temporary_beside(path)
        self._file = sf.SoundFile(self._tmp, "w", sample_rate, channels, subtype=subtype, format=fmt.upper())
        self._integer = subtype != "FLOAT"
        self.clipped = 0
        """Samples beyond full scale that integer output clamped."""
        self.samples = 0

    def write(self, block: np.ndarray) -> None:
        """Append a (channels, frames) block (clamped to full scale for integer output)."""
        self.samples += block.size
        if self._integer:
            over = np.abs(block) > 1.0
            if over.any():
                self.clipped += int(over.sum())
                block = np.clip(block, -1.0, 1.0)
        self._file.write(np.ascontiguousarray(block.T))

    def commit(self) -> Path:
        self._file.close()
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)


def write_audio(path: Path, wave: np.ndarray, sample_rate: int, fmt: str = "wav", bit_depth: str = "32f") -> Path:
    """Write a whole (channels, frames) array atomically."""
    writer = AtomicAudioWriter(path, sample_rate, wave.shape[0], fmt, bit_depth)
    try:
        writer.write(wave)
    except BaseException:
        writer.discard()
        raise
    return writer.commit()
