"""Training data: the Solos and URMP layouts, mixed on the fly.

Solos (real, or written by `vimss synth --layout solos`) keeps one folder per
instrument, named as in the instrument table (`Violin/`, `DoubleBass/`, …), with
single-instrument recordings inside. A mixture is made as in the paper (Sec. 3):
pick 2..N instrument classes, a random segment of one recording of each, scale each
segment to peak 1, sum, and divide by the number of sources. URMP-layout pieces give
what Solos cannot: parts that play together, in time and in harmony (`PieceSegments`).
Every dataset here returns item i identically for a given seed, so training resumes
on exactly the data it would have seen.
"""

from __future__ import annotations

import functools
import json
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
import torch
import torchaudio

from ..boxes import Box
from ..constants import SAMPLE_RATE, SEGMENT_SAMPLES
from ..dsp.audio import SOUNDFILE_EXTENSIONS, to_model_input
from ..errors import VimssError
from ..evaluation.urmp import Piece
from ..instruments import INSTRUMENTS, N_INSTRUMENTS, index, instrument
from ..synth.notation import Note, load_parts

SILENCE_PEAK = 1e-3
"""A segment whose peak is below this (-60 dBFS) is rejected as silent."""
SPEED_DENOMINATOR = 100
"""Speed factors are drawn as fractions n / 100 (17-cent steps near 1): torchaudio's sinc
resampler then has at most 100 phases, a few milliseconds per training segment."""


def draw_speed(rng: random.Random, semitones: float) -> int:
    """A tape-speed factor of up to +-`semitones` as its numerator over SPEED_DENOMINATOR (100:
    unchanged); draws nothing when `semitones` is 0, so runs without it see the same items."""
    if semitones <= 0:
        return SPEED_DENOMINATOR
    return round(SPEED_DENOMINATOR * 2 ** (rng.uniform(-semitones, semitones) / 12))


@functools.cache
def _frames_and_rate(path: Path) -> tuple[int, int]:
    """A recording's length and sample rate, read once per process rather than per draw."""
    info = sf.info(path)
    return info.frames, info.samplerate


def solos_recordings(root: str | Path) -> dict[int, list[Path]]:
    """Instrument index -> its recordings, for every instrument folder present under `root`."""
    root = Path(root)
    if not root.is_dir():
        raise VimssError(f"dataset folder not found: {root}")
    found = {}
    for k, inst in enumerate(INSTRUMENTS):
        folder = root / inst.solos_folder
        files = (
            sorted(p for p in folder.glob("*") if p.suffix.lower() in SOUNDFILE_EXTENSIONS) if folder.is_dir() else []
        )
        if files:
            found[k] = files
    if len(found) < 2:
        raise VimssError(
            f"{root} needs recordings of at least two instruments in Solos-layout folders (Violin/, Cello/, …)"
        )
    return found


class Example(NamedTuple):
    """One training mixture (a NamedTuple, so torch's DataLoader batches it)."""

    mix: torch.Tensor
    """(samples,) mixture at the model's rate (SEGMENT_SAMPLES at 11025 Hz for the U-Nets)."""
    sources: torch.Tensor
    """(13, samples): each present source as it sits in the mix, zeros elsewhere."""
    labels: torch.Tensor
    """(13,) presence of each instrument class."""
    visual: torch.Tensor = torch.zeros(0)
    """(MAX_PLAYERS, frames, 2048) cached features of the players seen (padded with
    copies of the first, which the maximum over players ignores), or empty."""


MAX_PLAYERS = 8
"""Players a training example can show (Solos: one per source; URMP: up to 5)."""


class VisualLookup:
    """Cached player features (see `feature_cache`) of training videos, per segment.

    Holds only file names; each data-loading process reads a video's features once."""

    def __init__(self, files: dict[Path, Path], frames: int = 1) -> None:
        self.files, self.frames = files, frames
        self._loaded: dict[Path, torch.Tensor] = {}

    def __call__(self, video: Path, start: float) -> torch.Tensor:
        """(players, frames, 2048) of the segment of `video` starting at `start` seconds."""
        from safetensors.torch import load_file

        from ..video.feature_cache import features_at

        if video not in self._loaded:
            if video not in self.files:
                raise VimssError(f"no cached features for {video}")
            self._loaded[video] = load_file(str(self.files[video]))["features"]
        return features_at(self._loaded[video], start, SEGMENT_SAMPLES / SAMPLE_RATE, self.frames)

    def __getstate__(self) -> dict:
        return {"files": self.files, "frames": self.frames, "_loaded": {}}  # workers load their own


def pad_players(features: list[torch.Tensor]) -> torch.Tensor:
    """Players of all sources, then copies of the first up to MAX_PLAYERS."""
    players = torch.cat(features)
    if len(players) > MAX_PLAYERS:
        raise VimssError(f"an example shows {len(players)} players; at most {MAX_PLAYERS} are supported")
    return torch.cat([players, players[:1].expand(MAX_PLAYERS - len(players), *players.shape[1:])])


class MixAndSeparate(torch.utils.data.Dataset):
    """Mixtures drawn on the fly; item i is the same mixture for a given seed, so a fixed
    validation set is just another seed."""

    def __init__(
        self,
        recordings: dict[int, list[Path]],
        size: int,
        *,
        max_sources: int = 7,
        min_sources: int = 2,
        seed: int = 0,
        max_tries: int = 20,
        visual: VisualLookup | None = None,
        samples: int = SEGMENT_SAMPLES,
        rate: int = SAMPLE_RATE,
        speed_semitones: float = 0.0,
    ) -> None:
        if not 2 <= min_sources <= max_sources:
            raise VimssError(f"need 2 <= min_sources <= max_sources, got {min_sources}..{max_sources}")
        self.recordings = recordings
        self.size = size
        self.min_sources, self.max_sources = min_sources, min(max_sources, len(recordings))
        self.seed = seed
        self.max_tries = max_tries
        self.visual = visual
        self.samples, self.rate = samples, rate
        self.speed_semitones = speed_semitones

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Example:
        rng = random.Random(self.seed * 1_000_003 + index)
        count = rng.randint(min(self.min_sources, self.max_sources), self.max_sources)
        classes = sorted(rng.sample(sorted(self.recordings), count))
        sources = torch.zeros(N_INSTRUMENTS, self.samples)
        seen = []
        for k in classes:
            sources[k], path, start = self._segment(rng, self.recordings[k])
            if self.visual is not None:  # each Solos recording has its own video of one player
                seen.append(self.visual(path.with_suffix(".mp4"), start))
        sources /= count
        labels = torch.zeros(N_INSTRUMENTS)
        labels[classes] = 1.0
        return Example(sources.sum(0), sources, labels, pad_players(seen) if seen else torch.zeros(0))

    def _segment(self, rng: random.Random, files: list[Path]) -> tuple[torch.Tensor, Path, float]:
        """A non-silent segment of a random recording, mono at the model's rate, peak 1, at
        its own tape speed; with the recording and the segment's start in seconds."""
        speed = draw_speed(rng, self.speed_semitones)
        for _ in range(self.max_tries):
            path = rng.choice(files)
            frames, rate = _frames_and_rate(path)
            start = rng.randint(0, max(0, frames - file_frames(self.samples, speed, rate, self.rate)))
            wave = read_segment(path, start, self.samples, self.rate, speed)
            peak = wave.abs().max()
            if peak >= SILENCE_PEAK:
                return wave / peak, path, start / rate
        raise VimssError(f"no non-silent segment found in {self.max_tries} tries among {files[0].parent}")


def read_segment(
    path: Path,
    start: int,
    samples: int = SEGMENT_SAMPLES,
    model_rate: int = SAMPLE_RATE,
    speed: int = SPEED_DENOMINATOR,
) -> torch.Tensor:
    """`samples` mono at `model_rate` from frame `start` (at the file's rate), zero-padded;
    played `speed` / SPEED_DENOMINATOR times as fast (tape speed: pitch, formants and tempo
    move together), which reads that many times as much of the file."""
    _frames, rate = _frames_and_rate(path)
    length = file_frames(samples, speed, rate, model_rate)
    block, sr = sf.read(path, frames=length, start=start, dtype="float32", always_2d=True)
    wave = to_model_input(torch.from_numpy(block.T.copy()), sr, model_rate)[: segment_frames(samples, speed)]
    if speed != SPEED_DENOMINATOR:
        wave = torchaudio.functional.resample(wave, speed, SPEED_DENOMINATOR)[:samples]
    return torch.nn.functional.pad(wave, (0, samples - wave.shape[-1]))


def segment_frames(samples: int, speed: int) -> int:
    """Model-rate samples a segment of `samples` played at `speed` reads."""
    return -(-samples * speed // SPEED_DENOMINATOR)


def file_frames(samples: int, speed: int, file_rate: int, model_rate: int) -> int:
    """Frames of a `file_rate` recording that a segment of `samples` at `model_rate`,
    played at `speed`, reads: what `read_segment` reads and where a draw's start must leave room."""
    return int(np.ceil(segment_frames(samples, speed) * file_rate / model_rate))


def draw_window(
    rng: random.Random, piece: Piece, samples: int, model_rate: int, speed_semitones: float
) -> tuple[int, int, int, int]:
    """A segment of `piece` that every player's file holds: (start frame, file rate,
    draw_speed's speed, the segment's length in file frames)."""
    frames, rate = min(_frames_and_rate(p) for inst in piece.instruments for p in piece.sources[inst])
    speed = draw_speed(rng, speed_semitones)
    length = file_frames(samples, speed, rate, model_rate)
    return rng.randint(0, max(0, frames - length)), rate, speed, length


class PieceSegments(torch.utils.data.Dataset):
    """Segments of URMP-layout pieces: every player of the piece, in time, at the
    piece's own balance changed by a random gain of up to `gain_db` per source; players
    of one instrument are summed; the mixture is scaled to peak 1. Labels are the
    piece's instruments, as `vimss evaluate` gives them. With `speed_semitones`, the whole
    segment plays at one random tape speed, so the players stay in time and in tune."""

    def __init__(
        self,
        pieces: list[Piece],
        size: int,
        *,
        seed: int = 0,
        gain_db: float = 6.0,
        max_tries: int = 20,
        visual: VisualLookup | None = None,
        samples: int = SEGMENT_SAMPLES,
        rate: int = SAMPLE_RATE,
        speed_semitones: float = 0.0,
    ) -> None:
        if not pieces:
            raise VimssError("no URMP-layout pieces to train on")
        self.pieces, self.size, self.seed, self.gain_db, self.max_tries = pieces, size, seed, gain_db, max_tries
        self.visual = visual
        self.samples, self.rate = samples, rate
        self.speed_semitones = speed_semitones

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, item: int) -> Example:
        rng = random.Random(self.seed * 1_000_003 + item)
        for _ in range(self.max_tries):
            piece = rng.choice(self.pieces)
            start, rate, speed, _length = draw_window(rng, piece, self.samples, self.rate, self.speed_semitones)
            sources = torch.zeros(N_INSTRUMENTS, self.samples)
            for inst in piece.instruments:
                gain = 10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20)
                sources[index(instrument(inst))] = gain * sum(
                    read_segment(p, start, self.samples, self.rate, speed) for p in piece.sources[inst]
                )
            mix = sources.sum(0)
            peak = mix.abs().max()
            if peak >= SILENCE_PEAK:
                labels = torch.zeros(N_INSTRUMENTS)
                labels[[index(instrument(i)) for i in piece.instruments]] = 1.0
                seen = torch.zeros(0)
                if self.visual is not None:
                    assert piece.video is not None, "visual training keeps only pieces with a video"
                    seen = pad_players([self.visual(piece.video, start / rate)])
                return Example(mix / peak, sources / peak, labels, seen)
        raise VimssError(f"no non-silent segment found in {self.max_tries} tries among the URMP pieces")


PLAYER_AUDIBLE_DB = -20.0
"""Both players of a splitter's example hold at least this share of their sum's energy: a part
that rests has no place (upper or lower) to learn."""
BLEED_DB = (-35.0, -12.0)
"""The rest of the piece leaks into a splitter's input at this level below the two players (drawn
per example): a separation model's class stem is never clean."""


class PlayerPairs(torch.utils.data.Dataset):
    """Segments of URMP-layout pieces in which two players play one instrument, for the player
    splitter (`nets/splitter.py`): the input is the two players' sum (each at a random gain of up
    to `gain_db`) with the rest of the piece leaking in (BLEED_DB), the sources the two players,
    the upper part first (the higher mean pitch of the score's notes in the segment, or with
    `order` "piece" in the whole piece; the file order without a `Sco_*.mid`), the labels the class."""

    def __init__(
        self,
        pieces: list[Piece],
        size: int,
        *,
        seed: int = 0,
        gain_db: float = 6.0,
        max_tries: int = 30,
        samples: int = SEGMENT_SAMPLES,
        rate: int = SAMPLE_RATE,
        speed_semitones: float = 0.0,
        order: str = "segment",
    ) -> None:
        self.pairs = [(piece, inst) for piece in pieces for inst in piece.instruments if len(piece.sources[inst]) == 2]
        if not self.pairs:
            raise VimssError(
                "a player splitter trains on pieces in which two players play one instrument "
                "(e.g. NN_Title_vn_vn_va_vc/; `vimss synth --doubled 1` renders them); none found"
            )
        self.size, self.seed, self.gain_db, self.max_tries = size, seed, gain_db, max_tries
        self.samples, self.rate, self.speed_semitones, self.order = samples, rate, speed_semitones, order

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, item: int) -> Example:
        rng = random.Random(self.seed * 1_000_003 + item)
        for _ in range(self.max_tries):
            piece, inst = rng.choice(self.pairs)
            start, rate, speed, length = draw_window(rng, piece, self.samples, self.rate, self.speed_semitones)
            stems = [p for i in piece.instruments for p in piece.sources[i]]
            players = [
                10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20)
                * read_segment(p, start, self.samples, self.rate, speed)
                for p in piece.sources[inst]
            ]
            pair = torch.stack(players)
            energy = pair.pow(2).sum(-1)
            if bool((energy < pair.sum(0).pow(2).sum() * 10 ** (PLAYER_AUDIBLE_DB / 10)).any()):
                continue
            others = [
                read_segment(p, start, self.samples, self.rate, speed) for p in stems if p not in piece.sources[inst]
            ]
            bleed = sum(others, torch.zeros(self.samples))
            bleed_energy = bleed.pow(2).sum()
            if bleed_energy > 0:
                level = 10 ** (rng.uniform(*BLEED_DB) / 10) * energy.sum() / bleed_energy
                bleed = bleed * level.sqrt()
            span = (start / rate, (start + length) / rate) if self.order == "segment" else (0.0, math.inf)
            if upper_first(piece, inst, *span) is False:
                pair = pair.flip(0)
            mix = pair.sum(0) + bleed
            peak = mix.abs().max()
            if peak >= SILENCE_PEAK:
                labels = torch.zeros(N_INSTRUMENTS)
                labels[index(instrument(inst))] = 1.0
                return Example(mix / peak, pair / peak, labels)
        raise VimssError(f"no segment in which both players sound found in {self.max_tries} tries")


def upper_first(piece: Piece, inst: str, start: float, end: float) -> bool | None:
    """Whether the first of the two players of `inst` plays higher (mean pitch of the score's
    notes between `start` and `end` seconds, weighted by their sounding time) than the second:
    None when the piece has no readable score or one of them plays no note there."""
    score = piece.folder / f"Sco_{piece.name}.mid"
    parts = _score_parts(score, len(piece.line_up), score.stat().st_mtime_ns if score.is_file() else None)
    if parts is None:
        return None
    means = []
    for n, player in enumerate(piece.line_up):
        if player != inst:
            continue
        weights = [(min(end, note.end) - max(start, note.start), note.pitch) for note in parts[n]]
        heard = [(w, p) for w, p in weights if w > 0]
        if not heard:
            return None
        means.append(sum(w * p for w, p in heard) / sum(w for w, _ in heard))
    return means[0] >= means[1]


@functools.lru_cache(maxsize=512)
def _score_parts(path: Path, players: int, stamp: int | None) -> list[tuple[Note, ...]] | None:
    """Each player's notes from a piece's score (one track per player, in file order), or None;
    read once per version (`stamp`, its modification time) of the file."""
    if stamp is None:
        return None
    try:
        parts = load_parts(path)
    except VimssError:
        return None
    return [p.notes for p in parts] if len(parts) == players else None


class Blend(torch.utils.data.Dataset):
    """Item i comes from one of several datasets, chosen by `weights` and the seed."""

    def __init__(
        self, datasets: Sequence[torch.utils.data.Dataset], weights: list[float], size: int, seed: int = 0
    ) -> None:
        self.datasets, self.weights, self.size, self.seed = datasets, weights, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, item: int) -> Example:
        rng = random.Random(self.seed * 1_000_003 + item)
        dataset = rng.choices(self.datasets, self.weights)[0]
        return dataset[item]


def manifest_boxes(folders: list[Path]) -> dict[Path, list[Box]]:
    """The players' boxes `vimss synth --video` wrote in each folder's manifest, by video."""
    boxes: dict[Path, list[Box]] = {}
    for folder in folders:
        manifest = Path(folder) / "manifest.json"
        if not manifest.is_file():
            continue
        for item in json.loads(manifest.read_text()).get("items", []):
            for video, found in item.get("boxes", {}).items():
                boxes[(Path(folder) / video).resolve()] = [Box(*b) for b in found]
    return boxes
