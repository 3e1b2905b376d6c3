"""The sampler: a part played with recorded notes (a `libraries.Library`), note by note.

Each note of the performance picks a recording (`choose`): the articulation the player uses
(sustained; staccato for short notes; a whole part pizzicato or a note tremolo now and then,
for the strings), the nearest recorded pitch (moved by resampling, so by at most a few
semitones where the library has the notes), the dynamic layer nearest its velocity, the
shortest nominal length that holds the note (Philharmonia's 0.25-1.5-s notes end as played),
and one of the round robins at random. The recording is resampled by soxr to the note's pitch,
follows the performance's pitch curve (vibrato, intonation) and loudness curve (phrase
dynamics, swell), is looped with a crossfade when shorter than the note, and fades out over a
release after the note ends. Every draw comes from the player's seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from ..errors import VimssError
from .libraries import Library, RecordedNote, recording
from .performance import CONTROL_RATE, Performance, PlayedNote

MAX_SHIFT = 4
"""Semitones a recording is moved at most when the library has notes that close; farther
notes are moved by octaves into the library's range first."""
RELEASE = 0.25
"""Seconds a note fades out over after its end (a recording's own tail, cut smoothly)."""
LOOP_FADE = 0.08
"""Crossfade, in seconds, where a recording shorter than its note loops."""
STACCATO_SECONDS = 0.3
"""Notes this short are played with staccato recordings where the library has them."""
VELOCITY_DB = 0.15
"""dB per velocity step between a note and the nominal velocity of the layer it plays."""
STRINGS = ("vn", "va", "vc", "db")


@dataclass(frozen=True)
class Habits:
    """How one player articulates: a pizzicato part (strings), and how often a long note is tremolo."""

    pizzicato: bool
    tremolo_share: float


def draw_habits(rng: random.Random, abbr: str) -> Habits:
    strings = abbr in STRINGS
    return Habits(pizzicato=strings and rng.random() < 0.08, tremolo_share=0.04 if strings else 0.0)


def choose(
    notes: tuple[RecordedNote, ...], played: PlayedNote, habits: Habits, rng: random.Random
) -> tuple[RecordedNote, int]:
    """The recording a note plays and the pitch it is played at (moved by octaves into the
    library's range when the library has nothing within MAX_SHIFT)."""
    length = played.end - played.start
    wanted = (
        "pizzicato"
        if habits.pizzicato
        else "staccato"
        if length <= STACCATO_SECONDS
        else "tremolo"
        if length > 0.6 and rng.random() < habits.tremolo_share
        else "sustain"
    )
    pool = [n for n in notes if n.articulation == wanted and abs(n.pitch - played.pitch) <= MAX_SHIFT]
    if not pool:  # the library has no such articulation near this pitch: sustained it is
        pool = [n for n in notes if n.articulation == "sustain"] or list(notes)
    pitches = sorted({n.pitch for n in pool})
    target = played.pitch
    if min(abs(p - target) for p in pitches) > MAX_SHIFT:
        target = min((target + 12 * k for k in range(-4, 5)), key=lambda t: (min(abs(p - t) for p in pitches), abs(t)))
    pitch = min(pitches, key=lambda p: (abs(p - target), p < target))  # ties: the recording above, shifted down
    at_pitch = [n for n in pool if n.pitch == pitch]
    velocity = min({n.velocity for n in at_pitch}, key=lambda v: abs(v - played.velocity))
    layer = [n for n in at_pitch if n.velocity == velocity]
    holds = [n for n in layer if n.seconds is None or n.seconds + 0.05 >= length]
    if holds:
        shortest = min(holds, key=lambda n: math.inf if n.seconds is None else n.seconds).seconds
        layer = [n for n in holds if n.seconds == shortest]
    return rng.choice(sorted(layer, key=lambda n: n.path)), target


def plan(performance: Performance, library: Library, abbr: str, seed: int) -> list[tuple[RecordedNote, int]]:
    """Each note's recording and played pitch, drawn from the player's `seed`."""
    notes = library.of(abbr)
    if not notes:
        raise VimssError(f"{library.name} has no {abbr} recordings")
    rng = random.Random(seed)
    habits = draw_habits(rng, abbr)
    return [choose(notes, n, habits, rng) for n in performance.notes]


def render_part(
    performance: Performance, library: Library, abbr: str, sample_rate: int, frames: int, seed: int
) -> np.ndarray:
    """One part through the library: (frames,) float32 mono."""
    out = np.zeros(frames, np.float32)
    for played, (recorded, pitch) in zip(performance.notes, plan(performance, library, abbr, seed)):
        start = round(played.start * sample_rate)
        if start >= frames:
            continue
        wave = play(recorded, played, pitch, performance, sample_rate)[: frames - start]
        out[start : start + len(wave)] += wave
    return out


def play(recorded: RecordedNote, played: PlayedNote, pitch: int, performance: Performance, rate: int) -> np.ndarray:
    """One note: the recording at `pitch`, following the note's curves, looped if short, released."""
    import soxr

    length = played.end - played.start
    total = length + RELEASE
    audio, native = recording(recorded.path)
    ratio = 2 ** ((pitch - recorded.pitch) / 12 + recorded.tune_cents / 1200)
    needed = math.ceil(total * native * ratio * 1.05) + 64  # source samples the note reads (vibrato's margin)
    moved = soxr.resample(audio[:needed], native, rate / ratio).astype(np.float32)
    n = math.ceil(total * rate)
    moved = _extend(moved, n + rate // 10, rate)
    times = np.arange(0.0, total + 1.0 / CONTROL_RATE, 1.0 / CONTROL_RATE)
    cents = np.array([performance.cents(played, played.start + t) for t in times])
    gain = np.array([performance.gain_db(played, played.start + t) for t in times])
    clock = np.arange(n) / rate
    if np.any(cents):
        speed = 2 ** (np.interp(clock, times, cents) / 1200)
        where = np.concatenate([[0.0], np.cumsum(speed[:-1])])
        wave = np.interp(where, np.arange(len(moved)), moved).astype(np.float32)
    else:
        wave = moved[:n]
    level_db = np.interp(clock, times, gain) + recorded.gain_db + VELOCITY_DB * (played.velocity - recorded.velocity)
    fade = np.clip((total - clock) / RELEASE, 0.0, 1.0)
    return (wave * 10 ** (level_db / 20) * (0.5 - 0.5 * np.cos(np.pi * fade))).astype(np.float32)


def _extend(wave: np.ndarray, n: int, rate: int) -> np.ndarray:
    """`wave` made at least `n` samples long by looping its sustained middle (from a third of the
    way in to a tenth before its end) with a crossfade; its attack is kept once."""
    if len(wave) >= n or len(wave) < rate // 5:
        return np.pad(wave, (0, max(0, n - len(wave))))
    fade = min(round(LOOP_FADE * rate), len(wave) // 8)
    begin, end = len(wave) // 3, len(wave) - len(wave) // 10
    loop = wave[begin:end]
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    pieces = [wave[:end]]
    total = end
    while total < n:
        joined = pieces[-1][-fade:] * (1 - ramp) + loop[:fade] * ramp
        pieces[-1] = pieces[-1][:-fade]
        pieces += [joined, loop[fade:]]
        total += len(loop) - fade
    return np.concatenate(pieces)[:n]
