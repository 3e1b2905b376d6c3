"""The model family: which network a `ModelConfig` builds.

Spectrogram U-Nets (`unet.py`: one decoder or one per source, every conditioning of the
paper) and the time-domain Wave-U-Net (`waveunet.py`) share configs, checkpoints,
`vimss separate`, `vimss train` and `vimss evaluate`; the instrument recogniser
(`recognizer.py`) shares configs, checkpoints and `vimss train`, and tells `vimss separate`
which instruments play.
"""

from __future__ import annotations

from .config import ModelConfig
from .recognizer import InstrumentRecognizer
from .splitter import PlayerSplitter
from .unet import ConditionedUNet
from .waveunet import WaveUNet

SeparationModel = ConditionedUNet | WaveUNet
Model = SeparationModel | InstrumentRecognizer | PlayerSplitter


def build_model(config: ModelConfig) -> Model:
    """The one constructor: every variant of the family comes from its config."""
    if config.architecture == "recognizer":
        return InstrumentRecognizer(config)
    if config.architecture == "player-splitter":
        return PlayerSplitter(config)
    return WaveUNet(config) if config.architecture == "wave-unet" else ConditionedUNet(config)
