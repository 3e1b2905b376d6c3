"""The signal constants every model of the family shares (the paper's setup), and the
post-processing default that separation and evaluation share.

Changing a signal constant changes what a checkpoint means, so they live here once and
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

DEFAULT_SEGMENT = SEGMENT_SAMPLES / SAMPLE_RATE
MIN_SEGMENT = 1.0
"""Shortest segment in seconds: an input shorter than that is separated zero-padded to it (the
STFT needs more samples than half its window; 100 samples could not be separated)."""
"""Seconds per separated segment by default: the training length (5.944 s)."""

DB_FLOOR = -80.0
"""Lowest level (dB below the example's maximum) kept by the dB-normalised input scaling."""

WIENER_ITERATIONS = 1
"""Default EM Wiener iterations of `separate` and `evaluate` (evaluate scores what separate
writes). Chosen on the validation pieces, whole pieces: SI-SDR improvement +4.42 / +5.09 /
+4.70 dB for 0 / 1 / 2 iterations with the bundled vimss-labels (+4.23 / +4.90 / +4.51 / +3.84
for 0-3 with its step-2,900 checkpoint); the paper's tables use 2."""
