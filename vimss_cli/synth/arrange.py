"""An item's arrangement: an excerpt of a score, parts chosen and given instruments whose
playing range fits them, moved by octaves into range, velocities and gains drawn."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from ..instruments import INSTRUMENTS, Instrument
from .notation import Note, Part
from .settings import SynthSettings

FIT_TOLERANCE = 0.05
"""An instrument fits a part when at most this share of its notes falls out of range
after the best octave shift (those notes are then folded into range one by one)."""


@dataclass(frozen=True)
class Voice:
    """One part of an item as it is rendered."""

    part: str
    instrument: str
    program: int
    transpose: int
    velocity_scale: float
    gain_db: float
    notes: tuple[Note, ...] = field(repr=False)


def octave_fit(notes: tuple[Note, ...], inst: Instrument) -> tuple[int, int]:
    """(semitone shift by whole octaves, notes still out of range) that best fits the range."""
    low, high = inst.pitch_range
    best = None
    for octaves in range(-4, 5):
        shift = 12 * octaves
        out = sum(not low <= n.pitch + shift <= high for n in notes)
        key = (out, abs(octaves))
        if best is None or key < best[0]:
            best = (key, shift, out)
    assert best is not None
    return best[1], best[2]


def fold_into_range(pitch: int, inst: Instrument) -> int:
    low, high = inst.pitch_range
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def excerpt(parts: list[Part], rng: random.Random, seconds: float, tempo_scale: float) -> list[Part]:
    """Parts cut to `seconds` from a random note onset, times stretched by `tempo_scale`."""
    onsets = sorted({n.start for p in parts for n in p.notes})
    end = max(n.end for p in parts for n in p.notes)
    latest = max(0.0, end - seconds / tempo_scale)
    starts = [t for t in onsets if t <= latest] or onsets[:1]
    t0 = rng.choice(starts)
    window = []
    for part in parts:
        notes = tuple(
            Note((n.start - t0) * tempo_scale, min((n.end - t0) * tempo_scale, seconds), n.pitch, n.velocity)
            for n in part.notes
            if t0 <= n.start and (n.start - t0) * tempo_scale < seconds
        )
        window.append(Part(part.name, notes))
    return window


def arrange(parts: list[Part], rng: random.Random, settings: SynthSettings) -> list[Voice] | None:
    """Choose parts, instruments, octave shifts, velocities and gains for one item, or None
    when the score has too few sounding parts."""
    tempo_scale = rng.uniform(0.8, 1.25)
    for _ in range(5):
        window = [p for p in excerpt(parts, rng, settings.seconds, tempo_scale) if p.notes]
        if len(window) >= settings.min_parts:
            break
    else:
        return None
    count = rng.randint(settings.min_parts, min(settings.max_parts, len(window)))
    chosen = sorted(rng.sample(range(len(window)), count))
    window = [window[k] for k in chosen]
    used: set[str] = set()
    playable = [i for i in INSTRUMENTS if i.abbr in settings.instruments]  # all 13 unless libraries play fewer
    voices: dict[int, Voice] = {}
    # Highest part first, so the instruments that can only play high get the top lines.
    order = sorted(range(len(window)), key=lambda k: -_mean_pitch(window[k].notes))
    pair = _doubled_pair(window, order, playable, rng, settings.doubled)
    if pair is not None:
        used.add(pair[2].abbr)  # the other parts play other instruments where they can
    for k in order:
        part = window[k]
        fits = {i.abbr: octave_fit(part.notes, i) for i in playable}
        good = [i for i in playable if fits[i.abbr][1] <= FIT_TOLERANCE * len(part.notes)]
        fresh = [i for i in good if i.abbr not in used]
        inst = rng.choice(fresh or good or [min(playable, key=lambda i: fits[i.abbr][1])])
        if pair is not None and k in pair[:2]:
            inst = pair[2]
        used.add(inst.abbr)
        shift = fits[inst.abbr][0]
        velocity_scale = rng.uniform(0.6, 1.15)
        notes = tuple(
            Note(
                n.start,
                n.end,
                fold_into_range(n.pitch + shift, inst),
                int(np.clip(round(n.velocity * velocity_scale + rng.gauss(0, 6)), 20, 127)),
            )
            for n in part.notes
        )
        gain_db = rng.uniform(-9.0, 0.0) if settings.layout == "urmp" else 0.0
        voices[k] = Voice(part.name, inst.abbr, rng.choice(inst.gm_programs), shift, velocity_scale, gain_db, notes)
    ordered = [voices[k] for k in range(len(window))]
    if settings.doubled > 0:  # the upper player of an instrument comes first, as URMP's violin I
        for abbr in sorted({v.instrument for v in ordered}):
            seats = [k for k, v in enumerate(ordered) if v.instrument == abbr]
            # By the pitch it sounds: each part's octave shift is its own, so the part written higher can sound lower.
            if len(seats) == 2 and _mean_pitch(ordered[seats[0]].notes) < _mean_pitch(ordered[seats[1]].notes):
                ordered[seats[0]], ordered[seats[1]] = ordered[seats[1]], ordered[seats[0]]
    return ordered


def _mean_pitch(notes: tuple[Note, ...]) -> float:
    return sum(n.pitch for n in notes) / len(notes)


def _doubled_pair(
    window: list[Part], order: list[int], playable: list[Instrument], rng: random.Random, share: float
) -> tuple[int, int, Instrument] | None:
    """With probability `share`, two neighbouring parts (in pitch) and one instrument that fits
    both: violin I and II of a quartet, two voices of a chorale on one instrument. No draw at
    all when `share` is 0, so data sets made before this setting render the same."""
    if share <= 0 or len(order) < 2 or rng.random() >= share:
        return None
    j = rng.randrange(len(order) - 1)
    upper, lower = order[j], order[j + 1]

    def fits(k: int, inst: Instrument) -> bool:
        return octave_fit(window[k].notes, inst)[1] <= FIT_TOLERANCE * len(window[k].notes)

    both = [i for i in playable if fits(upper, i) and fits(lower, i)]
    return (upper, lower, rng.choice(both)) if both else None
