"""`vimss train`: mix-and-separate training for every model of the family.

Ratio-mask models learn the ideal ratio masks |S_k| / sum_j |S_j| with an L2 loss,
binary-mask models the ideal binary masks with binary cross-entropy; both losses are
weighted by the mixture magnitude (relative to its mean), so loud bins count more
than bins that are silent anyway (`losses.py`, which also has the SI-SDR loss on the
separated waveforms and the Wave-U-Net's). Adam, learning rate halved when the validation loss
stops improving, a fixed validation set per `--val-data` folder (a fold of the transfer
protocol; with several, checkpoints are chosen on the mean over the folds), checkpoints
`latest/` (with the training state, to resume) and `best/` (highest validation SI-SDR
improvement) as Hub-style folders, and `log.csv`. Step s always trains on the same
examples (datasets are indexed by seed and position), so `--resume` continues exactly
where a run stopped.
Under `torchrun`, each process takes its share of every batch (DistributedDataParallel;
gloo on CPU, NCCL on GPUs; the process group is `devices.py`'s).
"""

from __future__ import annotations

import csv
import functools
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ..constants import N_BINS, SAMPLE_RATE
from ..devices import process_group, resolve_device
from ..dsp.metrics import is_silent, si_sdr
from ..dsp.spectral import interpolation_matrix, istft, stft
from ..errors import Terminated, TrainingStopped, VimssError, one_line
from ..evaluation.urmp import Piece, urmp_pieces
from ..instruments import INSTRUMENTS
from ..nets.checkpoints import WEIGHTS_FILE, load_model, model_card, save_pretrained
from ..nets.config import LABEL_GATED, ModelConfig, check_keys, read_json
from ..nets.family import SeparationModel, build_model
from ..nets.separable import WaveformModel, separable
from ..nets.waveunet import centre_crop
from .data import Blend, Example, MixAndSeparate, PieceSegments, VisualLookup, solos_recordings
from .losses import mask_loss, si_sdr_loss, waveform_loss

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
LOSSES = ("mask", "si-sdr")
RESUMABLE_CHANGES = {"steps", "snapshots"}
"""What a resumed run may change: neither touches the weights' trajectory."""
LOG_FIELDS = (
    "step",
    "examples",
    "train_loss",
    "val_loss",
    "val_si_sdr",
    "val_si_sdri",
    "val_si_sdri_folds",
    "lr",
    "max_sources",
    "seconds",
)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters; `model` is the ModelConfig saved with every checkpoint."""

    model: ModelConfig = field(default_factory=lambda: ModelConfig(conditioning="label-multiply", context="labels"))
    steps: int = 20000
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.0
    min_sources: int = 2
    max_sources: int = 7
    curriculum: bool = False
    """Start with min_sources and allow one more source whenever validation stalls."""
    noise: float = 0.0
    """Share of mixtures that get white noise at 20-40 dB SNR (not a source: masks must ignore it)."""
    source_eq_db: float = 0.0
    """Online timbre augmentation: each present source's spectrum is multiplied by a smooth
    random curve of up to +-this many dB (knots on a log-frequency axis, a new draw every
    step) before the mix is summed again, so the envelope a sample set gives an instrument
    stops being a cue that separates it. 0 turns it off."""
    speed_semitones: float = 0.0
    """Online tape-speed augmentation: each solo source of a training mixture (each aligned
    segment, all players together) plays up to +-this many semitones faster or slower, so
    pitch, formants and tempo move together and a sample set's fixed formants stop being a
    cue (a viola is close to a violin scaled by 1.15). Validation is never augmented. 0 turns it off."""
    aligned_share: float = 0.5
    """Share of examples from URMP-layout pieces when both layouts are given."""
    loss: str = "mask"
    """U-Nets: "mask" (the magnitude-weighted L2 on ratio masks, or BCE on binary masks) or
    "si-sdr" (minus the SI-SDR of the separated waveforms, through the ISTFT, over the
    sources that play): a loss on what the user hears instead of on the masks."""
    validate_every: int = 500
    validation_size: int = 128
    plateau_patience: int = 2
    """Validations without improvement before the learning rate is halved."""
    seed: int = 0
    snapshots: bool = False
    """Also keep the weights of every validation in `snapshots/<step>/`: the candidates for
    weight averaging, chosen on validation afterwards (scripts/choose_average.py)."""
    init: str = ""
    """Model (folder, bundled name or Hub id) whose weights start the run instead of a
    random initialisation: fine-tuning. Its config must be `model`'s, or differ only in
    the side information (SIDE_INFORMATION_FIELDS): a warm start for a new conditioning."""

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", ModelConfig.from_dict(self.model))
        if not 2 <= self.min_sources <= self.max_sources <= len(INSTRUMENTS):
            raise VimssError(
                f"train config: need 2 <= min_sources <= max_sources <= 13, got {self.min_sources}..{self.max_sources}"
            )
        for name in ("steps", "batch_size", "validate_every", "validation_size"):
            if getattr(self, name) < 1:
                raise VimssError(f"train config: {name} must be at least 1")
        if not (self.lr > 0 and 0 <= self.noise <= 1 and 0 <= self.aligned_share <= 1):
            raise VimssError("train config: lr must be positive, noise and aligned_share within [0, 1]")
        if not (self.source_eq_db >= 0 and 0 <= self.speed_semitones <= 12):
            raise VimssError("train config: source_eq_db must be at least 0, speed_semitones within [0, 12]")
        if self.loss not in LOSSES:
            raise VimssError(f"train config: unknown loss '{self.loss}' (choose {' or '.join(LOSSES)})")

    def to_dict(self) -> dict[str, Any]:
        return {
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"},
            "model": self.model.to_dict(),
        }

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        data = read_json(path)
        check_keys(data, {f.name for f in fields(cls)}, f"{path}: ")
        try:
            return cls(**data)
        except (VimssError, TypeError, ValueError) as err:
            raise VimssError(f"{path}: {err}") from None


@dataclass
class Recordings:
    """What the data folders hold, read once per run."""

    solos: dict[int, list[Path]]
    """Instrument index -> single-instrument recordings (Solos layout)."""
    pieces: list[Piece]
    """URMP-layout pieces."""


def find_recordings(dirs: list[Path]) -> Recordings:
    """Solos-layout and URMP-layout folders, told apart by their instrument folders."""
    solos: dict[int, list[Path]] = {}
    pieces: list[Piece] = []
    for folder in dirs:
        if not folder.is_dir():
            raise VimssError(f"dataset folder not found: {folder}")
        if any((folder / inst.solos_folder).is_dir() for inst in INSTRUMENTS):
            for k, files in solos_recordings(folder).items():
                solos.setdefault(k, []).extend(files)
        else:
            pieces += urmp_pieces(folder)[0]
    return Recordings(solos, pieces)


TrainingSet = MixAndSeparate | PieceSegments | Blend


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
    """Mixtures from Solos-layout recordings (mix-and-separate) and URMP-layout pieces;
    `augment` False leaves out the tape-speed augmentation (validation sets)."""
    solos, pieces = found.solos, found.pieces
    window = config.model.example_window
    speed = config.speed_semitones if augment else 0.0
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


def _visual_lookup(
    model: SeparationModel, videos: dict[Path, int], dirs: list[Path], cache: Path, rank: int, world: int
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


@dataclass
class Validation:
    loss: float
    si_sdr: float
    si_sdri: float
    folds: tuple[float, ...] = ()
    """SI-SDR improvement on each validation folder when there are several; the other
    fields are their means, so a run is chosen on the mean over the folds."""

    @staticmethod
    def over_folds(results: list[Validation]) -> Validation:
        """The mean of each fold's validation (one fixed set per `--val-data` folder): pooled,
        a fold with more or longer pieces would outweigh the others."""
        if len(results) == 1:
            return results[0]
        return Validation(
            statistics.fmean(r.loss for r in results),
            statistics.fmean(r.si_sdr for r in results),
            statistics.fmean(r.si_sdri for r in results),
            tuple(r.si_sdri for r in results),
        )


@dataclass
class TrainState:
    step: int = 0
    best: float = -math.inf
    max_sources: int = 7
    stale: int = 0
    """Validations since the validation loss last improved (for the curriculum)."""
    best_loss: float = math.inf
    seconds: float = 0.0


def _batch_loss(
    net: torch.nn.Module, batch: Example, config: ModelConfig, *, estimates: bool = False, loss_kind: str = "mask"
) -> tuple[torch.Tensor, torch.Tensor | None, Example]:
    """The loss of a batch, the source estimates if asked, and the batch they are
    scored against: a waveform model's output is the centre of its input window."""
    labels = batch.labels if config.uses_labels else None
    model = separable(net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net)
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


def _imagenet_trunk() -> dict[str, torch.Tensor]:
    from ..nets.visual import imagenet_trunk_weights

    try:
        return imagenet_trunk_weights()
    except Exception as err:  # no network, or torchvision's download failed
        raise VimssError(
            f"backbone_weights 'imagenet' needs torchvision's download ({one_line(err)}); "
            "offline, set backbone_weights to random"
        ) from None


SIDE_INFORMATION_FIELDS = frozenset({"conditioning", "context", "visual_pooling", "visual_frames", "backbone_weights"})
"""Config fields an --init model may differ in: its audio U-Net is reused, its side-information layers are not."""


def _warm_start(model: SeparationModel, start: SeparationModel, name: str) -> bool:
    """Copy `start`'s weights into `model`: all of them when the configs match, else the
    weights both share (the U-Net; a visual trunk), leaving new conditioning layers as
    initialised, so a label model can start a visual or unconditioned one. Returns
    whether the visual trunk came from `start`."""
    differing = {f.name for f in fields(ModelConfig) if getattr(start.config, f.name) != getattr(model.config, f.name)}
    if differing - SIDE_INFORMATION_FIELDS:
        raise VimssError(
            f"--init {name}: its model config differs from the training config's model "
            f"in {', '.join(sorted(differing - SIDE_INFORMATION_FIELDS))}"
        )
    own = model.state_dict()
    shared = {k: v for k, v in start.state_dict().items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(shared, strict=False)
    return (
        model.visual is not None
        and start.visual is not None
        and start.config.backbone_weights == model.config.backbone_weights
    )


def _examples_seed(config: TrainConfig, validation: bool) -> int:
    return config.seed * 2 + (1 if validation else 0)


def validation_set(found: Recordings, config: TrainConfig, visual: VisualLookup | None = None) -> TrainingSet:
    """The run's fixed validation mixtures: the same for every check of a run and for
    anything that scores its checkpoints afterwards (scripts/choose_average.py)."""
    seed = _examples_seed(config, True)
    return training_data(found, config, config.validation_size, seed, config.max_sources, visual, augment=False)


def train(
    data: list[Path],
    run_dir: Path,
    config: TrainConfig,
    *,
    val_data: list[Path] | None = None,
    resume: bool = False,
    device: str = "auto",
    workers: int = 2,
    on_step: Callable[[int, int, float], None] | None = None,
) -> Validation:
    """Train until `config.steps`; returns the last validation. See the module docstring."""
    with process_group() as (rank, world, local_rank):
        dev = resolve_device(device, local_rank)
        run_dir = Path(run_dir)
        latest = run_dir / "latest"
        # Folders are read before any file is written, so bad data leaves nothing behind.
        found = find_recordings(data)
        folds = [find_recordings([folder]) for folder in val_data] if val_data else [found]
        videos = {}
        if config.model.uses_visual:
            for recordings in (found, *folds):
                videos.update(videos_of(recordings))
        if rank == 0:
            _open_run_folder(run_dir, resume)
        model = _starting_model(config, resume).to(dev)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=config.plateau_patience)
        state = TrainState(max_sources=config.min_sources if config.curriculum else config.max_sources)
        if resume:
            state = _load_state(latest, config, model, optimizer, scheduler)
        elif rank == 0:
            (run_dir / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
            _truncate_log(run_dir / "log.csv", 0)
        # With the backbone's final weights (a resumed run's), every video's features are cached once.
        visual = (
            _visual_lookup(model, videos, [*data, *(val_data or [])], run_dir / "features", rank, world)
            if videos
            else None
        )
        val_sets = [validation_set(fold, config, visual) for fold in folds]
        net: torch.nn.Module = model
        if world > 1:
            net = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[dev.index] if dev.type == "cuda" else None
            )
        last = Validation(math.nan, math.nan, math.nan)
        started = time.monotonic() - state.seconds
        saved = state.step
        try:
            while state.step < config.steps:
                stop = min(config.steps, (state.step // config.validate_every + 1) * config.validate_every)
                loader = _steps_loader(found, config, state, stop, rank, world, visual, workers)
                net.train()
                losses = []
                for batch in loader:
                    batch = Example(*(t.to(dev) for t in batch))
                    # One generator per step and rank for every augmentation, so their draws
                    # are independent of each other and a resumed run repeats them exactly.
                    gen = torch.Generator().manual_seed(config.seed * 1_000_003 + state.step * world + rank)
                    batch = recolour_sources(batch, config.source_eq_db, gen)
                    batch = batch._replace(mix=_add_noise(batch.mix, config.noise, gen))
                    loss, _, _ = _batch_loss(net, batch, config.model, loss_kind=config.loss)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                    state.step += 1
                    if on_step:
                        on_step(state.step, config.steps, loss.item())
                last = Validation.over_folds([validate(model, v, config, dev, rank, world, workers) for v in val_sets])
                scheduler.step(last.loss)
                _update_curriculum(state, last, config)
                improved = last.si_sdri > state.best
                state.best = max(state.best, last.si_sdri)
                state.seconds = time.monotonic() - started
                if rank == 0:
                    _save(model, optimizer, scheduler, state, config, run_dir, last, improved)
                    if config.snapshots:
                        snapshot = run_dir / "snapshots" / str(state.step)
                        save_pretrained(model, snapshot, card=_card(config, state, last, f"snapshots/{state.step}"))
                    mean_loss = sum(losses) / max(1, len(losses))
                    lr = optimizer.param_groups[0]["lr"]
                    _append_log(run_dir / "log.csv", state, config.batch_size * world, mean_loss, last, lr)
                saved = state.step
        except (KeyboardInterrupt, Terminated) as interrupt:
            # Every finished step since the last checkpoint is kept: latest/ is saved where the
            # run is (a signal inside the optimizer's update may leave that step partly applied).
            if rank == 0 and state.step > saved:
                state.seconds = time.monotonic() - started
                _save(model, optimizer, scheduler, state, config, run_dir, last, improved=False)
            raise TrainingStopped(state.step, run_dir, interrupt) from None
        return last


def _open_run_folder(run_dir: Path, resume: bool) -> None:
    """Refuse to overwrite a run or to resume nothing, then make the folder."""
    latest = run_dir / "latest"
    if latest.exists() and not resume:
        raise VimssError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    if resume and not (latest / STATE_JSON).is_file():
        raise VimssError(f"nothing to resume: {latest} has no training state")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise VimssError(f"cannot create run folder {run_dir}: {err.strerror}") from None


def _starting_model(config: TrainConfig, resume: bool) -> SeparationModel:
    """The seeded model, warm-started from `config.init` (not on resume: latest/ has the
    weights); a visual model's backbone gets ImageNet weights unless they came with it, and is frozen."""
    torch.manual_seed(config.seed)
    model = build_model(config.model)
    trunk_given = resume
    if config.init and not resume:
        trunk_given = _warm_start(model, load_model(config.init).model, config.init)
    if config.model.uses_visual:
        assert model.visual is not None, "build_model gives a visual model its trunk"
        if not trunk_given and config.model.backbone_weights == "imagenet":
            model.visual.trunk.load_state_dict(_imagenet_trunk())
        model.visual.trunk.requires_grad_(False)  # features are cached: the backbone stays as it starts
    return model


def _steps_loader(
    found: Recordings,
    config: TrainConfig,
    state: TrainState,
    stop: int,
    rank: int,
    world: int,
    visual: VisualLookup | None,
    workers: int,
) -> torch.utils.data.DataLoader:
    """This process's batches of steps state.step .. stop - 1. Batch b of step s is examples
    (s * world + rank) * B ... + B - 1, whatever the stops were: the same on resume."""
    dataset = training_data(
        found, config, stop * world * config.batch_size, _examples_seed(config, False), state.max_sources, visual
    )
    indices = [
        (s * world + rank) * config.batch_size + b for s in range(state.step, stop) for b in range(config.batch_size)
    ]
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices), batch_size=config.batch_size, num_workers=workers, shuffle=False
    )


def _add_noise(mix: torch.Tensor, share: float, gen: torch.Generator) -> torch.Tensor:
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


@torch.inference_mode()
def validate(
    model: SeparationModel,
    dataset: TrainingSet,
    config: TrainConfig,
    dev: torch.device,
    rank: int = 0,
    world: int = 1,
    workers: int = 0,
) -> Validation:
    """Loss and SI-SDR (and its improvement over the mix) of present, non-silent sources on the fixed set."""
    model.eval()
    subset = torch.utils.data.Subset(dataset, range(rank, len(dataset), world))
    loader = torch.utils.data.DataLoader(subset, batch_size=config.batch_size, num_workers=workers)
    totals = torch.zeros(
        4, dtype=torch.float64
    )  # loss sum, examples, SI-SDR sum, SI-SDRi sum (per source: count below)
    count = torch.zeros(1, dtype=torch.float64)
    for batch in loader:
        loss, estimates, scored = _batch_loss(
            model, Example(*(t.to(dev) for t in batch)), config.model, estimates=True, loss_kind=config.loss
        )
        mix, sources, labels = scored.mix, scored.sources, scored.labels
        totals[0] += loss.item() * mix.shape[0]
        totals[1] += mix.shape[0]
        assert estimates is not None, "asked for with estimates=True"
        present = (labels > 0) & ~is_silent(sources)
        scores = si_sdr(sources, estimates)[present]
        baseline = si_sdr(sources, mix.unsqueeze(1).expand_as(sources))[present]
        totals[2] += scores.sum().cpu()
        totals[3] += (scores - baseline).sum().cpu()
        count += present.sum().cpu()
    if world > 1:
        dist.all_reduce(totals)
        dist.all_reduce(count)
    n = max(1.0, count.item())
    return Validation(totals[0].item() / max(1.0, totals[1].item()), totals[2].item() / n, totals[3].item() / n)


def _update_curriculum(state: TrainState, result: Validation, config: TrainConfig) -> None:
    if result.loss < state.best_loss * (1 - 1e-3):  # a relative improvement, as the LR scheduler counts one
        state.best_loss, state.stale = result.loss, 0
        return
    state.stale += 1
    if config.curriculum and state.stale >= config.plateau_patience and state.max_sources < config.max_sources:
        state.max_sources += 1
        state.stale = 0


def _card(config: TrainConfig, state: TrainState, result: Validation, which: str) -> str:
    details = (
        f"Checkpoint `{which}` of `vimss train` after {state.step} steps of batch {config.batch_size} "
        f"({state.seconds / 60:.1f} min). Validation: loss {result.loss:.5f}, SI-SDR {result.si_sdr:.2f} dB, "
        f"SI-SDR improvement {result.si_sdri:+.2f} dB over the mix"
        + (f" (mean of the folds {', '.join(f'{v:+.2f}' for v in result.folds)})." if result.folds else ".")
    )
    return model_card(which, config.model, details)


def _save(
    model: SeparationModel,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: TrainState,
    config: TrainConfig,
    run_dir: Path,
    result: Validation,
    improved: bool,
) -> None:
    opt_state = optimizer.state_dict()
    tensors = {
        f"optimizer.{i}.{k}": v.detach().cpu().contiguous() for i, s in opt_state["state"].items() for k, v in s.items()
    }
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {
        "state": asdict(state),
        "param_groups": opt_state["param_groups"],
        "scheduler": scheduler.state_dict(),
        "train_config": config.to_dict(),
    }
    extra = {STATE_TENSORS: save_tensors(tensors), STATE_JSON: json.dumps(meta, indent=1).encode()}
    save_pretrained(model, run_dir / "latest", card=_card(config, state, result, "latest"), extra=extra)
    if improved:
        save_pretrained(model, run_dir / "best", card=_card(config, state, result, "best"))


def _load_state(
    folder: Path, config: TrainConfig, model: SeparationModel, optimizer: torch.optim.Optimizer, scheduler: Any
) -> TrainState:
    """Restore model, optimizer, scheduler, RNG and counters from `latest/` (safetensors + JSON only)."""
    meta = json.loads((folder / STATE_JSON).read_text())
    # Both through TrainConfig: a run saved before a field existed has its default.
    saved, current = (
        json.loads(json.dumps(TrainConfig(**c).to_dict())) for c in (meta["train_config"], config.to_dict())
    )
    changed = sorted(k for k in saved if saved.get(k) != current.get(k))
    if set(changed) - RESUMABLE_CHANGES:
        raise VimssError(
            f"--resume with a different config ({', '.join(changed)}); "
            f"only {' and '.join(sorted(RESUMABLE_CHANGES))} may change"
        )
    weights = load_tensors((folder / WEIGHTS_FILE).read_bytes())
    model.load_state_dict(weights)
    tensors = load_tensors((folder / STATE_TENSORS).read_bytes())
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            per_param.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": per_param, "param_groups": meta["param_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(tensors["rng.cpu"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    state = TrainState(**meta["state"])
    _truncate_log(folder.parent / "log.csv", state.step)
    return state


def _truncate_log(path: Path, step: int) -> None:
    """Keep the log's rows up to `step` (a resumed run rewrites what came after its checkpoint)."""
    rows = []
    if path.is_file():
        with path.open() as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _append_log(path: Path, state: TrainState, batch: int, train_loss: float, result: Validation, lr: float) -> None:
    with path.open("a", newline="") as f:
        csv.DictWriter(f, LOG_FIELDS).writerow(
            {
                "step": state.step,
                "examples": state.step * batch,
                "train_loss": f"{train_loss:.6f}",
                "val_loss": f"{result.loss:.6f}",
                "val_si_sdr": f"{result.si_sdr:.3f}",
                "val_si_sdri": f"{result.si_sdri:.3f}",
                "val_si_sdri_folds": " ".join(f"{v:.3f}" for v in result.folds),
                "lr": f"{lr:.3g}",
                "max_sources": state.max_sources,
                "seconds": f"{state.seconds:.1f}",
            }
        )


def run_config(
    config: Path | None,
    run_dir: Path,
    *,
    resume: bool = False,
    init: str | None = None,
    conditioning: str | None = None,
    mask: str | None = None,
    **overrides: Any,
) -> TrainConfig:
    """What `vimss train`'s options ask for: the --config file (a resumed run's own
    train_config.json when none is given), else the defaults; --init's model config
    unless the file gives one; then the options given (None keeps the file's value)."""
    if resume and config is None and (run_dir / "train_config.json").is_file():
        config = run_dir / "train_config.json"
    base = TrainConfig.load(config) if config else TrainConfig()
    if init is not None:
        base = replace(base, init=init, model=base.model if config else load_model(init).model.config)
    model = base.model
    if conditioning is not None:
        model = replace(model, conditioning=conditioning, context="none" if conditioning == "none" else "labels")
    if mask is not None:
        model = replace(model, mask=mask)
    return replace(base, model=model, **{k: v for k, v in overrides.items() if v is not None})
