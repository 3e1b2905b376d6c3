"""What a run is asked to do: `TrainConfig` (saved as train_config.json beside the checkpoints) and
what `vimss train`'s options make of it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..errors import VimssError
from ..instruments import INSTRUMENTS
from ..nets.checkpoints import load_model
from ..nets.config import ModelConfig, check_keys, read_json

LOSSES = ("mask", "si-sdr")
PLAYER_ORDERS = ("segment", "piece")


RESUMABLE_CHANGES = {"steps", "snapshots"}
"""What a resumed run may change: neither touches the weights' trajectory."""


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
    player_order: str = "segment"
    """Player splitters: which of a pair is the upper part of an example, by the mean pitch of
    the score's notes in the "segment", or in the whole "piece" (the player `vimss evaluate`
    scores as AuSep_1, also where the two parts cross inside the segment)."""
    data_shares: tuple[float, ...] = ()
    """Share of examples drawn from each `--data` folder, in their order (each folder then
    mixes only its own recordings); empty: the Solos-layout folders pooled into one
    mix-and-separate set and the URMP-layout ones into another, blended by aligned_share."""
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
        object.__setattr__(self, "data_shares", tuple(float(s) for s in self.data_shares))
        if any(s < 0 for s in self.data_shares) or (self.data_shares and not sum(self.data_shares) > 0):
            raise VimssError("train config: data_shares must be at least 0, and not all 0")
        if self.model.architecture == "player-splitter" and (self.source_eq_db > 0 or self.loss != "mask"):
            raise VimssError("train config: a player splitter trains on the mask loss, without source_eq_db")
        if self.player_order not in PLAYER_ORDERS:
            raise VimssError(
                f"train config: unknown player_order '{self.player_order}' (choose {' or '.join(PLAYER_ORDERS)})"
            )
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
