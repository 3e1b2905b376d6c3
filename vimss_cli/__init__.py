"""VIMSS: conditioned music source separation (labels and video as side information).

The Python API: `load_model` resolves a checkpoint, `Separator` separates waveforms,
`separate_file` streams a file into stem files, `separate_media` does so for any file, videos
included (their players found and read by a visual model); `load_recognizer` and `hear_file`
tell which instruments a file plays; `load_splitter` gives `Separator` what parts two players
of one instrument. Importing the package is light (no
torch): each name is imported on first use, so `vimss --help` starts at once.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("vimss")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

_WHERE = {
    "INSTRUMENTS": "instruments",
    "LineUp": "instruments",
    "ConditionedUNet": "nets.unet",
    "ModelConfig": "nets.config",
    "SeparationModel": "nets.family",
    "Separator": "separator",
    "VimssError": "errors",
    "WaveUNet": "nets.waveunet",
    "build_model": "nets.family",
    "hear_file": "recognition",
    "load_model": "nets.checkpoints",
    "load_recognizer": "nets.checkpoints",
    "load_splitter": "nets.checkpoints",
    "parse_instruments": "instruments",
    "save_pretrained": "nets.checkpoints",
    "separate_file": "stems",
    "separate_media": "media",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'vimss_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
