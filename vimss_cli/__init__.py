"""VIMSS: conditioned music source separation (labels and video as side information).

The Python API: `load_model` resolves a checkpoint, `Separator` separates waveforms,
`separate_file` streams a file into stem files.
"""

from .checkpoints import load_model, save_pretrained
from .config import ModelConfig
from .errors import VimssError
from .family import SeparationModel, build_model
from .instruments import INSTRUMENTS, parse_instruments
from .separator import Separator, separate_file
from .unet import ConditionedUNet
from .waveunet import WaveUNet

__all__ = [
    "INSTRUMENTS",
    "ConditionedUNet",
    "ModelConfig",
    "SeparationModel",
    "Separator",
    "VimssError",
    "WaveUNet",
    "build_model",
    "load_model",
    "parse_instruments",
    "save_pretrained",
    "separate_file",
]
