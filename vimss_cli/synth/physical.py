"""Timbres that are not sampled at all: Csound's physical models, played like a sample set.

Every sample set is a recording of some real instrument; a model trained only on them may
learn the sample sets rather than the instruments. These models synthesise the sound from
a simulation of the instrument instead (`wgbow`: a bowed string, `wgflute`: an air jet on a
bore, `wgclar`: a reed on a cylindrical bore, `STKSaxofony`: a reed on a conical bore, for
oboe, bassoon and saxophone) and, for the brass, whose waveguide (`wgbrass`) jumps between
partials unpredictably, a Chowning FM brass whose brightness follows its loudness. Each note
follows the same performance curves as the sample sets (pitch in cents, gain in dB at 200
Hz), and each player draws their own model parameters (bow pressure and position, jet
ratio, reed stiffness, breath noise), recorded in the manifest.

Rendered by Debian's `csound` command (no Python binding needed) at 44.1 or 48 kHz, where
the waveguides' integer delays tune well, then resampled to the corpus' rate; each model's
remaining tuning error is measured once per process and corrected.
"""

from __future__ import annotations

import functools
import math
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import VimssError
from .notation import Note
from .performance import CONTROL_RATE, Performance, mechanical

PHYSICAL = "physical-models"
"""The sample-set name `--soundfont` takes for these models."""
FAMILIES = {
    "vn": "bowed",
    "va": "bowed",
    "vc": "bowed",
    "db": "bowed",
    "fl": "flute",
    "cl": "clarinet",
    "ob": "reed",
    "bn": "reed",
    "sax": "reed",
    "tpt": "brass",
    "hn": "brass",
    "tbn": "brass",
    "tba": "brass",
}
PARAMETERS = {
    "bowed": ("bow_pressure", "bow_position"),
    "flute": ("jet_ratio", "noise"),
    "clarinet": ("stiffness", "noise"),
    "reed": ("stiffness", "aperture"),
    "brass": ("ratio", "index"),
}
"""Each family's two player parameters, in the order the orchestra reads them (p8, p9)."""
RELEASE = 0.12
"""Seconds of decay after each note's end."""

ORCHESTRA = """
sr = {rate}
ksmps = 16
nchnls = 1
0dbfs = 1
giSine ftgen 1, 0, 16384, 10, 1

; p4 Hz, p5 amplitude, p6 first control point, p7 control points, p8 p9 p10: the player's model parameters
opcode Curves, kk, ii
  ifirst, icount xin
  kpoint line ifirst, p3, ifirst + p3 * {control}
  kpoint limit kpoint, ifirst, ifirst + icount - 1
  kcents tablei kpoint, 2
  kgain tablei kpoint, 3
  xout kcents, ampdb(kgain)
endop

instr bowed
  kcents, kgain Curves p6, p7
  kenv linseg 0, 0.04, 1, p3 - {release} - 0.04, 1, {release}, 0
  a1 wgbow p5 * kgain * kenv, p4 * cent(kcents), p8, p9, 0, 0, 1, 20
  out a1
endin

instr flute
  kcents, kgain Curves p6, p7
  kenv linseg 0, 0.05, 1, p3 - {release} - 0.05, 1, {release}, 0
  a1 wgflute p5 * kgain * kenv, p4 * cent(kcents), p8, 0.05, 0.1, p9, 0, 0, 1, 20
  out dcblock2(a1)
endin

instr clarinet
  kcents, kgain Curves p6, p7
  kenv linseg 0, 0.03, 1, p3 - {release} - 0.03, 1, {release}, 0
  a1 wgclar p5 * kgain * kenv, p4 * cent(kcents), p8, 0.05, 0.1, p9, 0, 0, 1, 20
  out dcblock2(a1)
endin

instr reed
  ; STK's saxophone takes its pitch at the note's start: the curve's changes within the note
  ; (vibrato, drift) become a varying delay, whose slope is the pitch ratio.
  kcents, kgain Curves p6, p7
  kstart init i(kcents)
  kenv linseg 0, 0.03, 1, p3 - {release} - 0.03, 1, {release}, 0
  a1 STKSaxofony p4 * cent(i(kcents)), 1, 2, p8, 26, p9, 11, 30, 4, 20, 1, 0, 128, 100
  adelay integ a(cent(kcents - kstart)) - 1
  out vdelay3(a1 * kgain * kenv, limit(8 - 1000 * adelay / sr, 0.1, 19), 20)
endin

instr brass
  kcents, kgain Curves p6, p7
  kenv linseg 0, 0.05, 1, 0.05, 0.85, p3 - {release} - 0.1, 0.8, {release}, 0
  kloud = kgain * kenv
  a1 foscili p5 * kloud, p4 * cent(kcents), 1, p8, 1 + p9 * kloud, 1
  out a1
endin
"""


def available() -> bool:
    return shutil.which("csound") is not None


def draw_timbre(rng: random.Random, instrument: str) -> dict:
    """One player's model parameters (p8, p9 of the orchestra)."""
    family = FAMILIES[instrument]
    if family == "bowed":
        return {
            "family": family,
            "bow_pressure": round(rng.uniform(2.5, 4.5), 3),
            "bow_position": round(rng.uniform(0.1, 0.2), 4),
        }
    if family == "flute":
        return {
            "family": family,
            "jet_ratio": round(rng.uniform(0.3, 0.34), 4),
            "noise": round(rng.uniform(0.05, 0.2), 3),
        }
    if family == "clarinet":
        return {
            "family": family,
            "stiffness": round(rng.uniform(-0.45, -0.2), 3),
            "noise": round(rng.uniform(0.1, 0.25), 3),
        }
    if family == "reed":
        # STK's saxophone sounds in a band of stiffness + aperture (about 100-130 of 127 each); outside it, silence.
        stiffness = rng.randint(50, 80)
        return {
            "family": family,
            "stiffness": stiffness,
            "aperture": rng.randint(max(30, 100 - stiffness), min(64, 130 - stiffness)),
        }
    return {"family": family, "ratio": 1, "index": round(rng.uniform(2.5, 5.0), 2)}


RATE = 44100
"""Csound's rate: the waveguides' delay lines tune well at it; the result is resampled."""


def render_part(played: Performance, instrument: str, timbre: dict, sample_rate: int, frames: int) -> np.ndarray:
    """One part through its physical model: (frames,) float32 mono at `sample_rate`."""
    if not available():
        raise VimssError(
            "Csound is not installed (the physical models need Debian's `csound`; `make demo` installs it)"
        )
    wave = _csound(played, timbre, frames / sample_rate, tuning(instrument, timbre_key(timbre)))
    if sample_rate != RATE:
        from scipy.signal import resample_poly

        g = math.gcd(RATE, sample_rate)
        wave = resample_poly(wave, sample_rate // g, RATE // g).astype(np.float32)
    out = np.zeros(frames, np.float32)
    out[: min(frames, len(wave))] = wave[:frames]
    return out


def _csound(played: Performance, timbre: dict, seconds: float, correction: Callable[[int], float]) -> np.ndarray:
    """Render the notes at RATE with Csound (a temporary .csd, the `csound` command)."""
    family = timbre["family"]
    p8, p9 = (float(timbre[name]) for name in PARAMETERS[family])
    cents: list[float] = []
    gains: list[float] = []
    lines = []
    for note in played.notes:
        length = note.end - note.start + RELEASE
        times = note.start + np.arange(math.ceil(length * CONTROL_RATE) + 1) / CONTROL_RATE
        first = len(cents)
        cents += [played.cents(note, float(t)) for t in times]
        gains += [played.gain_db(note, float(t)) for t in times]
        hz = 440.0 * 2 ** ((note.pitch - 69) / 12) * 2 ** (correction(note.pitch) / 1200)
        amp = 0.5 * (note.velocity / 127) ** 1.5
        lines.append(f'i "{family}" {note.start:.5f} {length:.5f} {hz:.4f} {amp:.5f} {first} {len(times)} {p8} {p9}')
    with tempfile.TemporaryDirectory(prefix="vimss-csound-") as tmp:
        folder = Path(tmp)
        (folder / "cents.txt").write_text(" ".join(f"{c:.3f}" for c in cents or [0.0]))
        (folder / "gains.txt").write_text(" ".join(f"{g:.3f}" for g in gains or [0.0]))
        orchestra = ORCHESTRA.format(rate=RATE, control=CONTROL_RATE, release=RELEASE)
        score = "\n".join(['f 2 0 0 -23 "cents.txt"', 'f 3 0 0 -23 "gains.txt"', *lines, f"e {seconds + 0.05:.4f}"])
        (folder / "part.csd").write_text(
            f"<CsoundSynthesizer>\n<CsInstruments>\n{orchestra}\n</CsInstruments>\n<CsScore>\n{score}\n</CsScore>\n"
            "</CsoundSynthesizer>\n"
        )
        done = subprocess.run(
            ["csound", "-d", "-m0", "-W", "-f", "-o", "part.wav", "part.csd"],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not (folder / "part.wav").is_file():
            raise VimssError(f"Csound failed to render a {family} part: {' '.join(done.stderr.split()[-30:])}")
        wave, _ = sf.read(folder / "part.wav", dtype="float32")
    return np.nan_to_num(wave)


def timbre_key(timbre: dict) -> tuple:
    return tuple(sorted(timbre.items()))


@functools.cache
def tuning(instrument: str, key: tuple) -> Callable[[int], float]:
    """Cents to add to each MIDI pitch so the model sounds in tune: measured once per
    player's parameters on a note every 2 semitones across the instrument's range."""
    from ..instruments import instrument as find

    low, high = find(instrument).pitch_range
    pitches = list(range(low, high + 1, 2))
    notes = tuple(Note(0.6 * k, 0.6 * k + 0.5, p, 100) for k, p in enumerate(pitches))
    wave = _csound(mechanical(notes), dict(key), 0.6 * len(pitches) + 0.5, lambda pitch: 0.0)
    errors = measure_cents(wave, RATE, [(0.6 * k + 0.2, 0.6 * k + 0.45, p) for k, p in enumerate(pitches)])
    known = [(p, -e) for p, e in zip(pitches, errors) if e is not None]
    if not known:
        return lambda pitch: 0.0
    xs, ys = zip(*known)
    return lambda pitch: float(np.interp(pitch, xs, ys))


def measure_cents(wave: np.ndarray, sample_rate: int, notes: list[tuple[float, float, int]]) -> list[float | None]:
    """Each (start, end, MIDI pitch) note's tuning error in cents: the spectral peak within
    1.5 semitones of the pitch's fundamental, parabolically refined (None when silent)."""
    errors: list[float | None] = []
    size = 1 << 17
    for start, end, pitch in notes:
        segment = wave[int(start * sample_rate) : int(end * sample_rate)]
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), size))
        want = 440.0 * 2 ** ((pitch - 69) / 12)
        lo, hi = (int(want * 2 ** (d / 12) * size / sample_rate) for d in (-1.5, 1.5))
        if float(spectrum[lo:hi].max(initial=0.0)) < 1e-3 * float(spectrum.max(initial=0.0)) or spectrum.max() < 1e-6:
            errors.append(None)
            continue
        i = lo + int(np.argmax(spectrum[lo:hi]))
        a, b, c = np.log(spectrum[i - 1 : i + 2] + 1e-12)
        errors.append(1200 * math.log2((i + 0.5 * (a - c) / (a - 2 * b + c)) * sample_rate / size / want))
    return errors
