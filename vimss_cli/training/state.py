"""What a run keeps on disk and starts from: the seeded or warm-started model, `latest/` with the
optimizer, scheduler, RNG and counters (safetensors + JSON, nothing pickled), `best/`, and log.csv."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ..errors import VimssError, one_line
from ..nets.checkpoints import WEIGHTS_FILE, load_model, model_card, save_pretrained
from ..nets.config import ModelConfig
from ..nets.family import Model, build_model
from ..nets.recognizer import InstrumentRecognizer
from .config import RESUMABLE_CHANGES, TrainConfig
from .validation import Validation

STATE_TENSORS = "training_state.safetensors"


STATE_JSON = "training_state.json"


LOG_FIELDS = (
    "step",
    "examples",
    "train_loss",
    "val_loss",
    "val_si_sdr",
    "val_si_sdri",
    "val_si_sdri_folds",
    "val_si_sdri_report",
    "val_exact_sets",
    "lr",
    "max_sources",
    "seconds",
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
RECOGNIZER_FIELDS = frozenset({"architecture", "mask", "dropout"})
"""What a recogniser may differ in besides from the U-Net that starts it: it takes the encoder, which
neither the masks nor the decoder's dropout touch."""


def warm_start(model: Model, start: Model, name: str) -> bool:
    """Copy `start`'s weights into `model`: all of them when the configs match, else the
    weights both share (the U-Net; a visual trunk), leaving new conditioning layers as
    initialised, so a label model can start a visual or unconditioned one, and a U-Net a
    recogniser (its encoder). Returns whether the visual trunk came from `start`."""
    differing = {f.name for f in fields(ModelConfig) if getattr(start.config, f.name) != getattr(model.config, f.name)}
    allowed = SIDE_INFORMATION_FIELDS | (RECOGNIZER_FIELDS if isinstance(model, InstrumentRecognizer) else set())
    if differing - allowed:
        raise VimssError(
            f"--init {name}: its model config differs from the training config's model "
            f"in {', '.join(sorted(differing - allowed))}"
        )
    own = model.state_dict()
    shared = {k: v for k, v in start.state_dict().items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(shared, strict=False)
    return (
        model.visual is not None
        and start.visual is not None
        and start.config.backbone_weights == model.config.backbone_weights
    )


def open_run_folder(run_dir: Path, resume: bool) -> None:
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


def starting_model(config: TrainConfig, resume: bool) -> Model:
    """The seeded model, warm-started from `config.init` (not on resume: latest/ has the
    weights); a visual model's backbone gets ImageNet weights unless they came with it, and is frozen."""
    torch.manual_seed(config.seed)
    model = build_model(config.model)
    trunk_given = resume
    if config.init and not resume:
        trunk_given = warm_start(model, load_model(config.init).model, config.init)
    if config.model.uses_visual:
        assert model.visual is not None, "build_model gives a visual model its trunk"
        if not trunk_given and config.model.backbone_weights == "imagenet":
            model.visual.trunk.load_state_dict(_imagenet_trunk())
        model.visual.trunk.requires_grad_(False)  # features are cached: the backbone stays as it starts
    return model


def card(config: TrainConfig, state: TrainState, result: Validation, which: str) -> str:
    if config.model.architecture == "recognizer":
        details = (
            f"Checkpoint `{which}` of `vimss train` after {state.step} steps of batch {config.batch_size} "
            f"({state.seconds / 60:.1f} min). Validation: loss {result.loss:.5f}, instruments named exactly "
            f"in {result.exact_sets:.1f} % of the mixtures"
            + (f" (mean of the folds {', '.join(f'{v:.1f}' for v in result.folds)})" if result.folds else "")
            + (f"; on the report-only folds {', '.join(f'{v:.1f}' for v in result.report)}." if result.report else ".")
        )
        return model_card(which, config.model, details)
    details = (
        f"Checkpoint `{which}` of `vimss train` after {state.step} steps of batch {config.batch_size} "
        f"({state.seconds / 60:.1f} min). Validation: loss {result.loss:.5f}, SI-SDR {result.si_sdr:.2f} dB, "
        f"SI-SDR improvement {result.si_sdri:+.2f} dB over the mix"
        + (f" (mean of the folds {', '.join(f'{v:+.2f}' for v in result.folds)})" if result.folds else "")
        + (f"; on the report-only folds {', '.join(f'{v:+.2f}' for v in result.report)}." if result.report else ".")
    )
    return model_card(which, config.model, details)


def save_checkpoints(
    model: Model,
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
    save_pretrained(model, run_dir / "latest", card=card(config, state, result, "latest"), extra=extra)
    if improved:
        save_pretrained(model, run_dir / "best", card=card(config, state, result, "best"))


def load_state(
    folder: Path, config: TrainConfig, model: Model, optimizer: torch.optim.Optimizer, scheduler: Any
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
    truncate_log(folder.parent / "log.csv", state.step)
    return state


def truncate_log(path: Path, step: int) -> None:
    """Keep the log's rows up to `step` (a resumed run rewrites what came after its checkpoint)."""
    rows = []
    if path.is_file():
        with path.open() as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def append_log(path: Path, state: TrainState, batch: int, train_loss: float, result: Validation, lr: float) -> None:
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
                "val_si_sdri_report": " ".join(f"{v:.3f}" for v in result.report),
                "val_exact_sets": "" if math.isnan(result.exact_sets) else f"{result.exact_sets:.2f}",
                "lr": f"{lr:.3g}",
                "max_sources": state.max_sources,
                "seconds": f"{state.seconds:.1f}",
            }
        )
