"""Shared fixtures: tiny real models (3 levels, 4-16 channels) and generated audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import soundfile as sf
import torch

from vimss_cli.nets.checkpoints import save_pretrained
from vimss_cli.nets.config import ModelConfig
from vimss_cli.nets.family import build_model
from vimss_cli.nets.unet import ConditionedUNet

TINY = {"channels": (4, 8, 16)}


def tiny_config(**overrides: Any) -> ModelConfig:
    fields: dict[str, Any] = {**TINY, **overrides}
    if fields.get("conditioning", "none") != "none":
        fields.setdefault("context", "visual" if fields["conditioning"] == "final-multiply" else "labels")
    return ModelConfig(**fields)


def tiny_model(seed: int = 0, **overrides: Any) -> ConditionedUNet:
    torch.manual_seed(seed)
    model = build_model(tiny_config(**overrides))
    assert isinstance(model, ConditionedUNet)
    # Random BatchNorm statistics, so eval-mode outputs depend on them (save/load checks).
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def ones_model() -> ConditionedUNet:
    """A real model whose every mask is 1: zero mask-layer weights, a large bias."""
    model = tiny_model()
    for decoder in model.decoders:
        conv = cast(torch.nn.Sequential, decoder.out)[-1]
        assert isinstance(conv, torch.nn.Conv2d) and conv.bias is not None
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.constant_(conv.bias, 40.0)
    return model


def harmonic_mix(sr: int, seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    voices = [sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 6)) for f in (220.0, 523.0)]
    mix = np.stack([voices[0] * (0.3 + 0.4 * c) + voices[1] * (0.7 - 0.4 * c) for c in range(channels)])
    mix += 0.01 * rng.standard_normal(mix.shape)
    return (0.4 * mix / np.abs(mix).max()).astype(np.float32)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return save_pretrained(tiny_model(conditioning="label-multiply"), tmp_path / "tiny-labels")


@pytest.fixture
def mix_wav(tmp_path: Path) -> Path:
    path = tmp_path / "quartet.wav"
    sf.write(path, harmonic_mix(22050, 7.0, 2).T, 22050, subtype="FLOAT")
    return path


@pytest.fixture(autouse=True, scope="session")
def score_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read scores are cached in a folder of the test session's own, not the user's cache."""
    import os

    folder = tmp_path_factory.mktemp("vimss-cache")
    os.environ["VIMSS_CACHE"] = str(folder)
    return folder
