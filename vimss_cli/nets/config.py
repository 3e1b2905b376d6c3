"""`ModelConfig`: the one description from which every model of the family is built.

It is saved as `config.json` next to the weights, so a checkpoint folder always says
what it holds, and a config the code cannot build is refused with one line.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..constants import SAMPLE_RATE, SEGMENT_SAMPLES
from ..errors import VimssError
from ..instruments import ABBREVIATIONS

ARCHITECTURES = ("unet", "multihead-unet", "wave-unet", "recognizer", "player-splitter")
"""recognizer: no masks, but which instrument classes play (`recognizer.py`), on the U-Nets' front end;
player-splitter: one class's stem into its two players' (`splitter.py`)."""
INPUT_SCALINGS = ("db-norm", "log")
FREQUENCY_SCALES = ("linear", "log")
MASKS = ("ratio", "binary")
CONDITIONINGS = (
    "none",
    "film-bottleneck",
    "film-encoder",
    "film-final",
    "label-multiply",
    "film-encoder-multiply",
    "final-multiply",
)
"""film-encoder-multiply: FiLM in every encoder block and the masks gated by the labels, so the
U-Net knows which instruments share the mix (label-multiply alone predicts each instrument's mask
without knowing who else plays: the same low notes are the viola's beside a violin, the cello's
beside a viola) and absent instruments stay exactly silent."""
LABEL_GATED = ("label-multiply", "film-encoder-multiply")
"""Conditionings whose masks are multiplied by the labels."""
ENCODER_FILM = ("film-encoder", "film-encoder-multiply")
"""Conditionings with FiLM in every encoder block."""
WAVE_CONDITIONINGS = (
    "none",
    "label-multiply",
    "multiply-bottleneck",
    "add-bottleneck",
    "add-final",
    "concat-bottleneck",
    "concat-final",
    "film-bottleneck",
    "film-final",
)
"""The Wave-U-Net's: labels gate the output waveforms (label-multiply), or scale (multiply),
shift (add), join (concat) or scale and shift (film) the bottleneck or the features the
output layer reads (final)."""
WAVE_SAMPLE_RATES = (11025, 22050)
CONTEXTS = ("none", "labels", "visual", "labels+visual")
VISUAL_POOLINGS = ("frame", "lstm", "maxpool")
"""frame: one frame per segment; lstm / maxpool: motion models over `visual_frames` frames."""
BACKBONE_WEIGHTS = ("imagenet", "random")
VISUAL_DIM = 1024
"""Size of the visual context vector (ResNet-50's 2048 max-pooled to 1024)."""

LIBRARY = "vimss"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of one conditioned U-Net (paper, Fig. 1 and Table V)."""

    architecture: str = "unet"
    input_scaling: str = "db-norm"
    frequency_scale: str = "linear"
    mask: str = "ratio"
    conditioning: str = "none"
    context: str = "none"
    visual_pooling: str = "frame"
    visual_frames: int = 1
    backbone_weights: str = "imagenet"
    """What a new model's ResNet-50 starts from; a checkpoint always carries its own weights."""
    channels: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    dropout: float = 0.2
    leaky_slope: float = 0.2
    instruments: tuple[str, ...] = field(default=ABBREVIATIONS)
    sample_rate: int = SAMPLE_RATE
    """Rate the model hears: the spectrogram U-Nets' STFT grid is fixed at 11025 Hz; a
    Wave-U-Net runs at 11025 or 22050 Hz."""
    levels: int = 12
    """Wave-U-Net: downsampling levels (conv, then decimation by 2)."""
    filters: int = 24
    """Wave-U-Net: level i has filters * i channels (the bottleneck filters * (levels + 1))."""
    down_kernel: int = 15
    up_kernel: int = 5
    input_samples: int = 147443
    """Wave-U-Net: samples in, of which the centre `output_samples` come out (no padding)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "instruments", tuple(self.instruments))
        for name, allowed in (
            ("architecture", ARCHITECTURES),
            ("input_scaling", INPUT_SCALINGS),
            ("frequency_scale", FREQUENCY_SCALES),
            ("mask", MASKS),
            ("conditioning", tuple(dict.fromkeys(CONDITIONINGS + WAVE_CONDITIONINGS))),
            ("context", CONTEXTS),
            ("visual_pooling", VISUAL_POOLINGS),
            ("backbone_weights", BACKBONE_WEIGHTS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise VimssError(f"config: {name} '{value}' is not one of {', '.join(allowed)}")
        if (self.conditioning == "none") != (self.context == "none"):
            raise VimssError(
                f"config: conditioning '{self.conditioning}' needs a context, and context "
                f"'{self.context}' needs a conditioning"
            )
        if self.conditioning in LABEL_GATED and not self.uses_labels:
            raise VimssError(f"config: {self.conditioning} needs labels in the context, not '{self.context}'")
        if self.conditioning == "final-multiply" and not self.uses_visual:
            raise VimssError(f"config: final-multiply needs visual context, not '{self.context}'")
        if (self.visual_pooling == "frame") != (self.visual_frames == 1) or self.visual_frames < 1:
            raise VimssError(
                f"config: visual_pooling '{self.visual_pooling}' with {self.visual_frames} frames "
                "(frame takes 1, lstm and maxpool 2 or more)"
            )
        if self.architecture == "wave-unet":
            self._check_wave_unet()
        elif self.architecture == "recognizer" and self.conditioning != "none":
            raise VimssError("config: a recognizer hears the mix alone; its conditioning is none")
        elif self.architecture == "player-splitter" and (self.conditioning, self.context) != ("film-encoder", "labels"):
            raise VimssError("config: a player splitter reads its class through film-encoder conditioning on labels")
        elif self.conditioning not in CONDITIONINGS or self.sample_rate != SAMPLE_RATE:
            raise VimssError(
                f"config: a spectrogram U-Net runs at {SAMPLE_RATE} Hz with conditioning "
                f"one of {', '.join(CONDITIONINGS)}"
            )
        if not self.channels or any(c < 1 for c in self.channels):
            raise VimssError(f"config: channels must be positive, got {list(self.channels)}")
        if self.instruments != ABBREVIATIONS:
            raise VimssError(
                f"config: instruments {list(self.instruments)} differ from this version's table {list(ABBREVIATIONS)}"
            )

    def _check_wave_unet(self) -> None:
        if self.conditioning not in WAVE_CONDITIONINGS:
            raise VimssError(f"config: a Wave-U-Net's conditioning is one of {', '.join(WAVE_CONDITIONINGS)}")
        if self.uses_visual:
            raise VimssError("config: the Wave-U-Net reads labels only, not visual context")
        if self.sample_rate not in WAVE_SAMPLE_RATES:
            raise VimssError(f"config: a Wave-U-Net runs at {' or '.join(map(str, WAVE_SAMPLE_RATES))} Hz")
        if min(self.levels, self.filters, self.down_kernel, self.up_kernel) < 1:
            raise VimssError("config: levels, filters and kernels must be positive")
        if output_samples(self) is None:
            near = valid_input_samples(self.levels, self.down_kernel, self.up_kernel, self.input_samples)
            raise VimssError(
                f"config: input_samples {self.input_samples} does not fit {self.levels} levels "
                f"without padding; the nearest that do: {', '.join(map(str, near))}"
            )

    @property
    def depth(self) -> int:
        """Number of encoder (and decoder) blocks; the input frames must divide 2**depth."""
        return len(self.channels)

    @property
    def example_window(self) -> dict[str, int]:
        """Samples and rate of one training example: a waveform model's input window
        (`input_samples` at `sample_rate`), else the masking models' segment."""
        if self.architecture == "wave-unet":
            return {"samples": self.input_samples, "rate": self.sample_rate}
        return {"samples": SEGMENT_SAMPLES, "rate": SAMPLE_RATE}

    @property
    def n_sources(self) -> int:
        return len(self.instruments)

    @property
    def uses_labels(self) -> bool:
        return "labels" in self.context

    @property
    def uses_visual(self) -> bool:
        return "visual" in self.context

    @property
    def context_dim(self) -> int:
        """Length of the context vector: labels, then the visual context."""
        return self.n_sources * self.uses_labels + VISUAL_DIM * self.uses_visual

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        data["instruments"] = list(self.instruments)
        return {"library": LIBRARY, "format_version": FORMAT_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        if not isinstance(data, dict):
            raise VimssError("config: expected a JSON object")
        if data.get("library") != LIBRARY:
            raise VimssError(f"config: not a {LIBRARY} model (library is {data.get('library')!r})")
        if data.get("format_version") != FORMAT_VERSION:
            raise VimssError(f"config: format_version {data.get('format_version')!r} is not supported")
        known = {f.name for f in fields(cls)}
        check_keys(data, known | {"library", "format_version"}, "config: ")
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as err:
            raise VimssError(f"config: {err}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        data = read_json(path)
        try:
            return cls.from_dict(data)
        except VimssError as err:
            raise VimssError(f"{path}: {err}") from None


def read_json(path: Path) -> Any:
    """A config file's JSON (a model's or a training run's), or a one-line error naming it."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise VimssError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise VimssError(f"{path}: not valid JSON ({err})") from None


def check_keys(data: Any, known: set[str], where: str) -> None:
    """Refuse a config that is not a JSON object or names keys no field has (a typo
    would otherwise be ignored silently)."""
    if not isinstance(data, dict):
        raise VimssError(f"{where}expected a JSON object")
    unknown = sorted(set(data) - known)
    if unknown:
        raise VimssError(f"{where}unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})")


# A Wave-U-Net's length arithmetic: integers only, here beside the config it checks (waveunet.py
# builds the network from them; keeping them there made config.py and waveunet.py import each other).


def _output(levels: int, down_kernel: int, up_kernel: int, n: int) -> int | None:
    """Samples out for `n` in, or None when they do not fit: a layer would empty, or a
    skip could not be cropped evenly to its upsampled size."""
    skips = []
    for _ in range(levels):
        n -= down_kernel - 1
        skips.append(n)
        n = (n + 1) // 2
        if n < 1:
            return None
    n -= down_kernel - 1
    for skip in reversed(skips):
        if n < 1:
            return None
        n = 2 * n - 1
        if skip < n or (skip - n) % 2:
            return None
        n -= up_kernel - 1
    return n if n >= 1 else None


def output_samples(config: ModelConfig, input_samples: int | None = None) -> int | None:
    """Samples out for `input_samples` in (the config's by default); None if they do not fit."""
    n = config.input_samples if input_samples is None else input_samples
    return _output(config.levels, config.down_kernel, config.up_kernel, n)


def valid_input_samples(levels: int, down_kernel: int, up_kernel: int, around: int) -> list[int]:
    """The input lengths nearest `around` that fit these layers: the largest below (if
    any) and the smallest above. Fitting lengths recur every 2**levels samples."""
    fits = functools.partial(_output, levels, down_kernel, up_kernel)
    below = next((n for n in range(around, max(0, around - 2 ** (levels + 1)), -1) if fits(n)), None)
    above = around + 1
    while fits(above) is None:
        above += 1
    return [n for n in (below, above) if n is not None]
