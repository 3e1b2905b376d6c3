"""`vimss train`: mix-and-separate training for every model of the family.

Ratio-mask models learn the ideal ratio masks |S_k| / sum_j |S_j| with an L2 loss,
binary-mask models the ideal binary masks with binary cross-entropy; both losses are
weighted by the mixture magnitude (relative to its mean), so loud bins count more
than bins that are silent anyway (`losses.py`, which also has the SI-SDR loss on the
separated waveforms and the Wave-U-Net's). Adam, learning rate halved when the validation loss
stops improving, a fixed validation set per `--val-data` folder (a fold of the transfer
protocol; with several, checkpoints are chosen on the mean over the folds), checkpoints
`latest/` (with the training state, to resume) and `best/` (highest validation SI-SDR
improvement) as Hub-style folders, and `log.csv`. An instrument recogniser trains in the same
loop on the same mixtures, with binary cross-entropy on which classes play, and `best/` is its
highest share of validation mixtures whose instruments it names exactly. Step s always trains on the same
examples (datasets are indexed by seed and position), so `--resume` continues exactly
where a run stopped.
Under `torchrun`, each process takes its share of every batch (DistributedDataParallel;
gloo on CPU, NCCL on GPUs; the process group is `devices.py`'s).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..devices import process_group, resolve_device
from ..errors import Terminated, TrainingStopped, VimssError
from ..nets.checkpoints import save_pretrained
from .config import TrainConfig
from .data import Example, VisualLookup
from .sets import Recordings, examples_seed, find_recordings, training_data, validation_set, videos_of, visual_lookup
from .state import (
    TrainState,
    append_log,
    card,
    load_state,
    open_run_folder,
    save_checkpoints,
    starting_model,
    truncate_log,
)
from .step import add_noise, batch_loss, recolour_sources
from .validation import Validation, validate


def train(
    data: list[Path],
    run_dir: Path,
    config: TrainConfig,
    *,
    val_data: list[Path] | None = None,
    report_data: list[Path] | None = None,
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
        if config.data_shares and len(config.data_shares) != len(data):
            raise VimssError(
                f"train config: data_shares gives {len(config.data_shares)} shares for {len(data)} --data folders"
            )
        folds = [find_recordings([folder]) for folder in val_data] if val_data else [found]
        reported = [find_recordings([folder]) for folder in report_data or []]
        videos = {}
        if config.model.uses_visual:
            for recordings in (found, *folds, *reported):
                videos.update(videos_of(recordings))
        if rank == 0:
            open_run_folder(run_dir, resume)
        model = starting_model(config, resume).to(dev)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=config.plateau_patience)
        state = TrainState(max_sources=config.min_sources if config.curriculum else config.max_sources)
        if resume:
            state = load_state(latest, config, model, optimizer, scheduler)
        if rank == 0:
            # A resumed run may have been extended (steps, snapshots): the file says what it runs to.
            (run_dir / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
            if not resume:
                truncate_log(run_dir / "log.csv", 0)
        # With the backbone's final weights (a resumed run's), every video's features are cached once.
        visual = (
            visual_lookup(
                model, videos, [*data, *(val_data or []), *(report_data or [])], run_dir / "features", rank, world
            )
            if videos
            else None
        )
        val_sets = [validation_set(fold, config, visual) for fold in folds]
        report_sets = [validation_set(fold, config, visual) for fold in reported]
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
                    batch = batch._replace(mix=add_noise(batch.mix, config.noise, gen))
                    loss, _, _ = batch_loss(net, batch, config.model, loss_kind=config.loss)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                    state.step += 1
                    if on_step:
                        on_step(state.step, config.steps, loss.item())
                last = Validation.over_folds([validate(model, v, config, dev, rank, world, workers) for v in val_sets])
                last.report = tuple(validate(model, v, config, dev, rank, world, workers).score for v in report_sets)
                scheduler.step(last.loss)
                _update_curriculum(state, last, config)
                improved = last.score > state.best
                state.best = max(state.best, last.score)
                state.seconds = time.monotonic() - started
                if rank == 0:
                    save_checkpoints(model, optimizer, scheduler, state, config, run_dir, last, improved)
                    if config.snapshots:
                        snapshot = run_dir / "snapshots" / str(state.step)
                        save_pretrained(model, snapshot, card=card(config, state, last, f"snapshots/{state.step}"))
                    mean_loss = sum(losses) / max(1, len(losses))
                    lr = optimizer.param_groups[0]["lr"]
                    append_log(run_dir / "log.csv", state, config.batch_size * world, mean_loss, last, lr)
                saved = state.step
        except (KeyboardInterrupt, Terminated) as interrupt:
            # Every finished step since the last checkpoint is kept: latest/ is saved where the
            # run is (a signal inside the optimizer's update may leave that step partly applied).
            if rank == 0 and state.step > saved:
                state.seconds = time.monotonic() - started
                save_checkpoints(model, optimizer, scheduler, state, config, run_dir, last, improved=False)
            raise TrainingStopped(state.step, run_dir, interrupt) from None
        return last


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
        found, config, stop * world * config.batch_size, examples_seed(config, False), state.max_sources, visual
    )
    indices = [
        (s * world + rank) * config.batch_size + b for s in range(state.step, stop) for b in range(config.batch_size)
    ]
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices), batch_size=config.batch_size, num_workers=workers, shuffle=False
    )


def _update_curriculum(state: TrainState, result: Validation, config: TrainConfig) -> None:
    if result.loss < state.best_loss * (1 - 1e-3):  # a relative improvement, as the LR scheduler counts one
        state.best_loss, state.stale = result.loss, 0
        return
    state.stale += 1
    if config.curriculum and state.stale >= config.plateau_patience and state.max_sources < config.max_sources:
        state.max_sources += 1
        state.stale = 0
