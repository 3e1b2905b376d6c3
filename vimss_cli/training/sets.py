"""The data a run trains and validates on: the folders read once (`find_recordings`), the
training mixtures (mix-and-separate of Solos-layout recordings blended with aligned URMP-layout
segments), the fixed validation set of each fold, and a visual model's cached video features."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch.distributed as dist

from ..errors import VimssError
from ..evaluation.urmp import Piece, urmp_pieces
from ..instruments import INSTRUMENTS
from ..nets.family import Model
from .config import TrainConfig
from .data import Blend, MixAndSeparate, PieceSegments, PlayerPairs, VisualLookup, solos_recordings


@dataclass
class Recordings:
    """What the data folders hold, read once per run."""

    solos: dict[int, list[Path]]
    """Instrument index -> single-instrument recordings (Solos layout)."""
    pieces: list[Piece]
    """URMP-layout pieces."""
    folders: list[Recordings] = field(default_factory=list)
    """Each folder's own, in order (for `data_shares`)."""


def find_recordings(dirs: list[Path]) -> Recordings:
    """Solos-layout and URMP-layout folders, told apart by their instrument folders."""
    solos: dict[int, list[Path]] = {}
    pieces: list[Piece] = []
    folders = []
    for folder in dirs:
        if not folder.is_dir():
            raise VimssError(f"dataset folder not found: {folder}")
        if any((folder / inst.solos_folder).is_dir() for inst in INSTRUMENTS):
            own = Recordings(solos_recordings(folder), [])
            for k, files in own.solos.items():
                solos.setdefault(k, []).extend(files)
        else:
            own = Recordings({}, urmp_pieces(folder)[0])
            pieces += own.pieces
        folders.append(own)
    return Recordings(solos, pieces, folders)


TrainingSet = MixAndSeparate | PieceSegments | PlayerPairs | Blend


def training_data(
    found: Recordings,
    config: TrainConfig,
    size: int,
    seed: int,
    max_sources: int,
    visual: VisualLookup | None = None,
    *,
    augment: bool = True,
) -> TrainingSet:
    """Mixtures from Solos-layout recordings (mix-and-separate) and URMP-layout pieces, or with
    `data_shares` from each folder apart in those shares; `augment` False leaves out the
    tape-speed augmentation (validation sets)."""
    if config.data_shares:
        if len(config.data_shares) != len(found.folders):
            raise VimssError(
                f"train config: data_shares gives {len(config.data_shares)} shares "
                f"for {len(found.folders)} --data folders"
            )
        own = replace(config, data_shares=())
        sets = [training_data(f, own, size, seed, max_sources, visual, augment=augment) for f in found.folders]
        return Blend(sets, list(config.data_shares), size, seed)
    solos, pieces = found.solos, found.pieces
    window = config.model.example_window
    speed = config.speed_semitones if augment else 0.0
    if config.model.architecture == "player-splitter":  # pairs of players of one instrument, from aligned pieces
        return PlayerPairs(pieces, size, seed=seed, speed_semitones=speed, order=config.player_order, **window)
    parts: list[MixAndSeparate | PieceSegments] = []
    weights = []
    if solos:
        parts.append(
            MixAndSeparate(
                solos,
                size,
                min_sources=min(config.min_sources, max_sources),
                max_sources=max_sources,
                seed=seed,
                visual=visual,
                speed_semitones=speed,
                **window,
            )
        )
        weights.append(1.0 - config.aligned_share if pieces else 1.0)
    if pieces:
        parts.append(PieceSegments(pieces, size, seed=seed, visual=visual, speed_semitones=speed, **window))
        weights.append(config.aligned_share if solos else 1.0)
    return parts[0] if len(parts) == 1 else Blend(parts, weights, size, seed)


def videos_of(found: Recordings) -> dict[Path, int]:
    """Every training video and how many players it shows: Solos recordings have one
    beside them (`<id>.mp4`), URMP pieces their `Vid_*`."""
    videos = {}
    for piece in found.pieces:
        if piece.video is None:
            raise VimssError(f"a visual model trains on videos; {piece.folder} has no Vid_*.mp4")
        videos[piece.video] = piece.players
    for files in found.solos.values():
        for recording in files:
            video = recording.with_suffix(".mp4")
            if not video.is_file():
                raise VimssError(f"a visual model trains on videos; {recording} has no {video.name} beside it")
            videos[video] = 1
    return videos


def visual_lookup(
    model: Model, videos: dict[Path, int], dirs: list[Path], cache: Path, rank: int, world: int
) -> VisualLookup:
    """Cache the player features of every training and validation video once (rank 0
    first; the others then find them cached) and look them up per example."""
    from ..video.detector import load_detector
    from ..video.feature_cache import cache_videos
    from .data import manifest_boxes

    branch = model.visual
    assert branch is not None, "only visual models cache video features"

    def cached() -> dict[Path, Path]:
        return cache_videos(branch, videos, cache, known=manifest_boxes(dirs), detector=functools.cache(load_detector))

    files = cached() if rank == 0 else {}
    if world > 1:
        dist.barrier()
        if rank != 0:
            files = cached()
    return VisualLookup(files, model.config.visual_frames)


def examples_seed(config: TrainConfig, validation: bool) -> int:
    return config.seed * 2 + (1 if validation else 0)


def validation_set(found: Recordings, config: TrainConfig, visual: VisualLookup | None = None) -> TrainingSet:
    """The run's fixed validation mixtures: the same for every check of a run and for
    anything that scores its checkpoints afterwards (scripts/choose_average.py)."""
    seed = examples_seed(config, True)
    pooled = replace(config, data_shares=())  # a fold is validated as one set
    return training_data(found, pooled, config.validation_size, seed, config.max_sources, visual, augment=False)
