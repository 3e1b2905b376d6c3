"""What pitch can and cannot tell two players of one instrument apart (issue 30, part 2).

On pieces in which two players play one instrument (scripts/players_corpus.sh), the two players'
true sum is parted by harmonic masks (on the separation model's STFT grid) built from the
score's pitches, given to the players three ways: each player their own notes (what knowing who
is who is worth); where both play the higher pitch to the upper player and a lone note to the
right one; and the higher pitch to the upper player with a lone note shared evenly (all that
pitch alone says). Each player's SI-SDR gain over half the sum (the trivial answer), whole
pieces, beside the ideal ratio masks. No separation model is involved: an upper bound.

    .venv/bin/python benchmarks/players_bounds.py [--folder data/real/folds/doubled-val] [--pieces 32]
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from vimss_cli.constants import HOP, N_FFT, SAMPLE_RATE
from vimss_cli.dsp.metrics import si_sdr
from vimss_cli.dsp.spectral import istft, stft
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.synth.notation import load_parts

HARMONICS = 40
WIDTH_CENTS = 35.0
MIN_WIDTH_HZ = 5.4  # half a bin of the model's grid


@functools.lru_cache(maxsize=256)
def harmonic_profile(pitch: float) -> torch.Tensor:
    """(bins,) weights of a harmonic tone at MIDI `pitch`: a Gaussian per partial, 1/sqrt(h)."""
    freqs = torch.arange(N_FFT // 2 + 1, dtype=torch.float64) * SAMPLE_RATE / N_FFT
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    partials = torch.arange(1, min(HARMONICS, int(SAMPLE_RATE / 2 / f0)) + 1, dtype=torch.float64) * f0
    width = (partials * (2 ** (WIDTH_CENTS / 1200) - 1)).clamp_min(MIN_WIDTH_HZ)
    bumps = torch.exp(-0.5 * ((freqs[:, None] - partials[None]) / width[None]) ** 2) / partials.div(f0).sqrt()
    return bumps.sum(1)


def salience(track: np.ndarray) -> torch.Tensor:
    """(bins, frames) harmonic weights of a pitch per frame (NaN: nothing)."""
    columns = [
        torch.zeros(N_FFT // 2 + 1, dtype=torch.float64) if math.isnan(p) else harmonic_profile(p) for p in track
    ]
    return torch.stack(columns, dim=1)


def rolls(notes_a: tuple, notes_b: tuple, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Each player's sounding pitch per STFT frame (NaN where it rests)."""
    times = np.arange(frames) * HOP / SAMPLE_RATE
    out = []
    for notes in (notes_a, notes_b):
        roll = np.full(frames, np.nan)
        for n in notes:
            roll[(times >= n.start) & (times < n.end)] = n.pitch
        out.append(roll)
    return out[0], out[1]


def ways(upper: np.ndarray, lower: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The (player 1, player 2) pitch tracks each way of giving pitches to players."""
    both = ~np.isnan(upper) & ~np.isnan(lower)
    high, low = np.fmax(upper, lower), np.fmin(upper, lower)  # a lone note is both: shared evenly
    return {
        "each player's own notes": (upper, lower),
        "rank where both play, lone notes to the right player": (
            np.where(both, high, upper),
            np.where(both, low, lower),
        ),
        "rank, lone notes shared": (high, low),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=Path("data/real/folds/doubled-val"))
    parser.add_argument("--pieces", type=int, default=None, help="the first N pieces only")
    args = parser.parse_args()
    gains: dict[str, list[float]] = {}
    pieces = [p for p in urmp_pieces(args.folder)[0] if any(len(v) == 2 for v in p.sources.values())]
    for piece in pieces[: args.pieces]:
        inst = next(i for i in piece.instruments if len(piece.sources[i]) == 2)
        seats = [n for n, player in enumerate(piece.line_up) if player == inst]
        parts = load_parts(piece.folder / f"Sco_{piece.name}.mid")
        if sf.info(str(piece.sources[inst][0])).samplerate != SAMPLE_RATE:
            raise SystemExit(f"{piece.name}: the bounds read {SAMPLE_RATE} Hz pieces")
        read = [torch.from_numpy(sf.read(p, dtype="float64")[0]) for p in piece.sources[inst]]
        total = read[0] + read[1]
        spec = stft(total)
        upper, lower = rolls(parts[seats[0]].notes, parts[seats[1]].notes, spec.shape[-1])
        first, second = stft(read[0]).abs(), stft(read[1]).abs()
        masks = {
            name: (salience(a) + 1e-3) / (salience(a) + salience(b) + 2e-3)
            for name, (a, b) in ways(upper, lower).items()
        }
        masks["ideal ratio masks"] = first / (first + second + 1e-9)
        for name, mask in masks.items():
            for player, share in zip(read, (mask, 1 - mask)):
                est = istft(spec * share, len(total))
                gains.setdefault(name, []).append(float(si_sdr(player, est) - si_sdr(player, total)))
    print(f"{args.folder.name}: {len(pieces[: args.pieces])} pieces; each player's SI-SDR gain over half the sum (dB)")
    for name, values in gains.items():
        print(f"| {name} | {statistics.fmean(values):+.2f} |")


if __name__ == "__main__":
    main()
