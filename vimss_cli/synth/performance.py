"""Expressive performance for `vimss synth`: how a player plays the notes of a part.

A score played mechanically (fixed pitch, loudness only from velocity, every onset on
the grid) is what the model learned before, and real players do none of it. Here each
player gets a style drawn from the item's generator (a detune and a slow intonation
drift, a vibrato habit, an onset jitter, legato and staccato habits, accents, phrase
dynamics) and each note its own vibrato and swell drawn from that style. The result is
renderer-neutral: a pitch offset in cents and a gain in dB for each note at any time,
which the FluidSynth renderer sends as pitch bend and expression (CC 11) and a physical
model reads directly. Every draw is returned so the manifest can record it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from .notation import Note

STEPS = ("vibrato", "intonation", "dynamics", "timing")
"""The named performance steps; any subset can be switched on (the rest play mechanically)."""
CHANNELS = tuple(c for c in range(16) if c != 9)
"""MIDI channels a part's notes are spread over (9 is GM percussion), so each note can
carry its own pitch bend and expression."""
CONTROL_RATE = 200.0
"""Control updates per second while notes sound (pitch bend, CC 11)."""
RELEASE = 0.6
"""Seconds a note keeps its channel's controls after its end, while its release sounds."""

VIBRATO_SCALE = {
    "vn": 1.0,
    "va": 1.0,
    "vc": 1.0,
    "db": 0.8,
    "fl": 0.7,
    "ob": 0.7,
    "sax": 0.7,
    "bn": 0.5,
    "tpt": 0.4,
    "tbn": 0.4,
    "cl": 0.2,
    "hn": 0.2,
    "tba": 0.3,
}
"""How much vibrato each class uses relative to the strings (classical clarinet and horn
play almost none)."""


@dataclass(frozen=True)
class Style:
    """One player's habits, drawn once per player of an item."""

    detune_cents: float
    drift_cents: float
    drift_period: float
    drift_phase: float
    vibrato_share: float
    """Share of the player's notes with vibrato (0: a player without vibrato)."""
    vibrato_rate: float
    vibrato_depth: float
    """Cents, peak deviation."""
    jitter_ms: float
    lag_ms: float
    legato_share: float
    staccato_share: float
    accent_share: float
    swell_db: float
    phrase: tuple[tuple[float, float], ...]
    """(seconds, dB) breakpoints of the player's crescendi and diminuendi."""
    modulation: int
    """CC 1 level (the soundfont's own modulation, small)."""


@dataclass(frozen=True)
class PlayedNote:
    """A note as the player plays it: timing, velocity, channel and its own expression."""

    start: float
    end: float
    pitch: int
    velocity: int
    channel: int
    vibrato_rate: float
    vibrato_depth: float
    vibrato_delay: float
    swell_peak: float
    """Where in the note its loudness peaks (0 start .. 1 end)."""
    swell_db: float


@dataclass(frozen=True)
class Performance:
    """A part as played: its notes and the curves every renderer reads."""

    notes: tuple[PlayedNote, ...]
    style: Style | None
    steps: tuple[str, ...]

    @property
    def controlled(self) -> bool:
        """True when the notes carry curves (pitch or loudness that move within notes)."""
        return any(s in self.steps for s in ("vibrato", "intonation", "dynamics"))

    def cents(self, note: PlayedNote, t: float) -> float:
        """Pitch offset of `note` at time `t`, in cents."""
        style, offset = self.style, 0.0
        if style is None:
            return 0.0
        if "intonation" in self.steps:
            offset += style.detune_cents + style.drift_cents * math.sin(
                2 * math.pi * t / style.drift_period + style.drift_phase
            )
        if "vibrato" in self.steps and note.vibrato_depth > 0:
            since = t - note.start - note.vibrato_delay
            if since > 0:
                fade = min(1.0, since / 0.25)
                offset += fade * note.vibrato_depth * math.sin(2 * math.pi * note.vibrato_rate * since)
        return offset

    def gain_db(self, note: PlayedNote, t: float) -> float:
        """Loudness of `note` at time `t` relative to its velocity, in dB (≤ 0)."""
        if self.style is None or "dynamics" not in self.steps:
            return 0.0
        phrase = float(np.interp(t, *np.asarray(self.style.phrase).T))
        length = max(note.end - note.start, 1e-3)
        where = min(max((t - note.start) / length, 0.0), 1.0)
        # A swell that rises to its peak and falls after it; short notes barely move.
        shape = where / note.swell_peak if where < note.swell_peak else (1 - where) / (1 - note.swell_peak)
        return phrase - note.swell_db * (1 - shape)

    def record(self) -> dict:
        """What the manifest records: the style and every note's draws."""
        rounded = {k: _round(v) for k, v in vars(self.style).items()} if self.style else None
        fields = (
            "start",
            "end",
            "pitch",
            "velocity",
            "channel",
            "vibrato_rate",
            "vibrato_depth",
            "vibrato_delay",
            "swell_peak",
            "swell_db",
        )
        return {
            "steps": list(self.steps),
            "style": rounded,
            "note_fields": list(fields),
            "notes": [[_round(getattr(n, f)) for f in fields] for n in self.notes],
        }


def _round(value: object) -> object:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, tuple):
        return [_round(v) for v in value]
    return value


def draw_rubato(rng: random.Random, seconds: float) -> tuple[tuple[float, float], ...]:
    """A shared, slow tempo drift: (score seconds, tempo factor) breakpoints every 2-6 s."""
    depth = rng.uniform(0.02, 0.08)
    points, t = [], 0.0
    while True:
        points.append((round(t, 3), round(1 + max(-2.5, min(2.5, rng.gauss(0, 1))) * depth, 4)))
        if t > seconds:
            return tuple(points)
        t += rng.uniform(2.0, 6.0)


def warp(times: np.ndarray, rubato: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Score time -> performed time under the tempo drift (performed = ∫ 1 / tempo)."""
    grid = np.arange(0.0, max(float(times.max(initial=0.0)), 0.0) + 0.02, 0.01)
    tempo = np.interp(grid, *np.asarray(rubato).T)
    elapsed = np.concatenate([[0.0], np.cumsum(0.01 / tempo[:-1])])
    return np.interp(times, grid, elapsed)


def rubato_notes(notes: tuple[Note, ...], rubato: tuple[tuple[float, float], ...]) -> tuple[Note, ...]:
    """A part's notes moved by the shared tempo drift."""
    if not notes:
        return notes
    starts = warp(np.array([n.start for n in notes]), rubato)
    ends = warp(np.array([n.end for n in notes]), rubato)
    return tuple(Note(float(s), float(e), n.pitch, n.velocity) for n, s, e in zip(notes, starts, ends))


def draw_style(rng: random.Random, instrument: str, seconds: float) -> Style:
    """One player's habits (every value from `rng`)."""
    scale = VIBRATO_SCALE.get(instrument, 0.5)
    phrase, t = [], 0.0
    while True:
        phrase.append((round(t, 3), round(-rng.uniform(0.0, 12.0), 2)))
        if t > seconds:
            break
        t += rng.uniform(1.5, 6.0)
    return Style(
        detune_cents=max(-12.0, min(12.0, rng.gauss(0, 5))),
        drift_cents=rng.uniform(0.0, 10.0),
        drift_period=rng.uniform(5.0, 20.0),
        drift_phase=rng.uniform(0, 2 * math.pi),
        vibrato_share=0.0 if rng.random() < 0.15 else rng.uniform(0.5, 1.0),
        vibrato_rate=rng.uniform(4.5, 7.0),
        vibrato_depth=scale * rng.uniform(5.0, 40.0),
        jitter_ms=rng.uniform(5.0, 30.0),
        lag_ms=rng.gauss(0, 10),
        legato_share=rng.uniform(0.0, 0.8),
        staccato_share=rng.uniform(0.0, 0.4),
        accent_share=rng.uniform(0.0, 0.25),
        swell_db=rng.uniform(0.0, 6.0),
        phrase=tuple(phrase),
        modulation=rng.randint(0, 20),
    )


def perform(
    notes: tuple[Note, ...], rng: random.Random, instrument: str, steps: tuple[str, ...], seconds: float
) -> Performance:
    """Play `notes` (already moved by the shared rubato) as one player with the given steps.

    The style and every note's values are drawn whatever the steps, so switching a step
    off changes only what it controls, not the other draws."""
    style = draw_style(rng, instrument, seconds)
    draws = [_NoteDraws(*(rng.random() for _ in range(13))) for _ in notes]
    timed = "timing" in steps
    played: list[tuple[float, float, int, int]] = []
    for k, (note, d) in enumerate(zip(notes, draws)):
        start, end, velocity = note.start, note.end, note.velocity
        if timed:
            jitter = max(-2.5, min(2.5, d.jitter))
            shift = (style.lag_ms + jitter * style.jitter_ms) / 1000
            start, end = max(0.0, start + shift), end + shift
            following = next((n.start for n in notes[k + 1 :] if n.start > note.start), None)
            if d.staccato < style.staccato_share and end - start < 0.6:
                end = start + (end - start) * (0.4 + 0.3 * d.staccato_length)
            elif following is not None and -0.01 <= following - note.end <= 0.08 and d.legato < style.legato_share:
                end = following + shift + 0.01 + 0.04 * d.overlap  # joined into the next note
        if "dynamics" in steps and d.accent < style.accent_share:
            velocity = min(127, velocity + round(10 + 15 * d.accent_size))
        played.append((start, max(end, start + 0.03), note.pitch, velocity))
    channels = (
        assign_channels(played) if any(s in steps for s in ("vibrato", "intonation", "dynamics")) else [0] * len(played)
    )
    out = []
    for (start, end, pitch, velocity), channel, d in zip(played, channels, draws):
        with_vibrato = d.vibrato < style.vibrato_share
        out.append(
            PlayedNote(
                start,
                end,
                pitch,
                velocity,
                channel,
                style.vibrato_rate * (0.9 + 0.2 * d.rate) if with_vibrato else 0.0,
                min(40.0, style.vibrato_depth * (0.6 + 0.8 * d.depth)) if with_vibrato else 0.0,
                0.08 + 0.22 * d.delay,
                0.1 + 0.5 * d.swell_peak,
                style.swell_db * (0.3 + 0.7 * d.swell),
            )
        )
    return Performance(tuple(out), style, tuple(s for s in STEPS if s in steps))


@dataclass(frozen=True)
class _NoteDraws:
    """A note's uniform draws in [0, 1): its jitter is made Gaussian-like from one of them."""

    jitter_u: float
    vibrato: float
    staccato: float
    staccato_length: float
    legato: float
    overlap: float
    accent: float
    accent_size: float
    rate: float
    depth: float
    delay: float
    swell_peak: float
    swell: float

    @property
    def jitter(self) -> float:
        """A standard-normal value from the uniform draw (inverse CDF)."""
        from statistics import NormalDist

        return NormalDist().inv_cdf(min(max(self.jitter_u, 1e-6), 1 - 1e-6))


def mechanical(notes: tuple[Note, ...]) -> Performance:
    """The notes as written, every note on channel 0 with no curves (the old renderings)."""
    return Performance(
        tuple(PlayedNote(n.start, n.end, n.pitch, n.velocity, 0, 0.0, 0.0, 0.0, 0.5, 0.0) for n in notes), None, ()
    )


def assign_channels(notes: list[tuple[float, float, int, int]]) -> list[int]:
    """A channel for each note such that no two notes sounding at once (release included)
    share one: the channel free the longest, else the one whose note ends first."""
    free_at = dict.fromkeys(CHANNELS, -math.inf)
    chosen = []
    for start, end, _, _ in notes:
        idle = [c for c in CHANNELS if free_at[c] <= start]
        channel = min(idle or CHANNELS, key=lambda c: free_at[c])
        free_at[channel] = end + RELEASE
        chosen.append(channel)
    return chosen
