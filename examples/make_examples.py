"""Regenerate the example inputs (deterministic): `python examples/make_examples.py`.

duet.flac is a stand-in until the synthetic corpus renders real scores: two
harmonic voices, a bowed-string-like upper line (violin range) and a lower line
(cello range), 8 s, 44.1 kHz stereo with each voice panned to its own side.
"""

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100
HERE = Path(__file__).parent


def voice(midi_notes: list[int], note_seconds: float, harmonics: int, rng: np.random.Generator) -> np.ndarray:
    out = []
    for note in midi_notes:
        f0 = 440.0 * 2 ** ((note - 69) / 12)
        t = np.arange(int(note_seconds * SR)) / SR
        vibrato = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * t)
        phase = 2 * np.pi * np.cumsum(f0 * vibrato) / SR
        tone = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1) if k * f0 < SR / 2)
        envelope = np.minimum(1, t / 0.05) * np.minimum(1, (t[-1] - t) / 0.08)
        out.append(tone * envelope * rng.uniform(0.7, 1.0))
    return np.concatenate(out)


def main() -> None:
    rng = np.random.default_rng(2026)
    upper = voice([76, 74, 72, 74, 76, 76, 76, 74, 74, 74, 76, 79, 76, 74, 72, 74], 0.5, 12, rng)
    lower = voice([48, 43, 45, 43, 48, 41, 43, 36], 1.0, 16, rng)
    mix = np.stack([0.7 * upper + 0.3 * lower, 0.3 * upper + 0.7 * lower], axis=1)
    mix *= 0.8 / np.abs(mix).max()
    sf.write(HERE / "duet.flac", mix.astype(np.float32), SR, subtype="PCM_16")


if __name__ == "__main__":
    main()
