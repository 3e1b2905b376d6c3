"""The signal constants every model of the family shares (the paper's setup).

Changing any of these changes what a checkpoint means, so they live here once and
nowhere else.
"""

SAMPLE_RATE = 11025
"""Model sample rate in Hz: audio is downmixed to mono and resampled to it."""

N_FFT = 1022
"""STFT window length: gives exactly 512 frequency bins."""

HOP = 256
"""STFT hop in samples (23 ms at 11025 Hz)."""

N_BINS = N_FFT // 2 + 1
"""Frequency bins of the model STFT (512)."""

SEGMENT_SAMPLES = 65535
"""Training segment length at SAMPLE_RATE: 65535 samples give 256 STFT frames."""

DB_FLOOR = -80.0
"""Lowest level (dB below the example's maximum) kept by the dB-normalised input scaling."""
