"""A tiny URMP-layout dataset (the real one's file names) of harmonic tones: the tests' pieces and
the evaluation-time benchmark's, which need pieces of known layout and no renderer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

PITCH = {"vn": 660.0, "va": 440.0, "vc": 130.0, "fl": 880.0, "tpt": 520.0, "tbn": 196.0, "cl": 294.0}


def tone(inst: str, seconds: float, sr: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = PITCH[inst] * (1 + 0.05 * np.floor(t * 2) % 3)  # a few notes
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wave = np.sum([np.sin(k * phase) / k for k in range(1, 6)], axis=0)
    wave *= np.sin(2 * np.pi * 0.5 * t + seed) > -0.3  # rests
    return (0.3 * wave / np.abs(wave).max() + 1e-4 * rng.standard_normal(len(t))).astype(np.float32)


def write_piece(
    root: Path,
    number: int,
    title: str,
    players: list[str],
    seconds: float = 8.0,
    sr: int = 22050,
    file_players: list[str] | None = None,
) -> Path:
    folder = root / f"{number:02d}_{title}_{'_'.join(players)}"
    folder.mkdir(parents=True)
    stems = [tone(p, seconds, sr, seed=number * 10 + i) for i, p in enumerate(players)]
    for i, (stem, name) in enumerate(zip(stems, file_players or players), start=1):
        sf.write(folder / f"AuSep_{i}_{name}_{number:02d}_{title}.wav", stem, sr)
    sf.write(folder / f"AuMix_{folder.name}.wav", sum(stems), sr)
    return folder


def write_dataset(root: Path) -> Path:
    write_piece(root, 1, "Jupiter", ["vn", "vc"])
    write_piece(root, 2, "Sonata", ["fl", "fl"])  # one instrument only: skipped
    write_piece(root, 3, "Trio", ["vn", "va", "vc"], seconds=13.0)
    write_piece(root, 15, "Surprise", ["tpt", "tpt", "tbn"], file_players=["tpt", "tpt", "tpt"])
    return root
