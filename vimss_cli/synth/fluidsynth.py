"""FluidSynth renders one part alone on a fresh synthesizer, each note on its own channel so it
carries its own pitch bend and expression curves."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

import numpy as np

from ..errors import VimssError
from .performance import CONTROL_RATE, RELEASE, Performance


@functools.cache
def _write_float() -> Callable[..., int]:
    import fluidsynth

    fn = fluidsynth._fl.fluid_synth_write_float
    fn.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    fn.restype = ctypes.c_int
    return fn


BEND_PER_CENT = 8192 / 200
"""Pitch-bend units per cent at FluidSynth's default wheel range of two semitones."""


def expression_value(gain_db: float) -> int:
    """CC 11 for a gain in dB (GM: 40·log10(value / 127) dB)."""
    return max(1, min(127, round(127 * 10 ** (gain_db / 40))))


def render_part(
    performance: Performance,
    program: int,
    soundfont: str,
    sample_rate: int,
    reverb: tuple[float, float, float, float] | None,
    frames: int,
) -> np.ndarray:
    """One part alone on a fresh synthesizer: (frames,) float32 mono.

    Each note sounds on its own channel (`Performance` spreads them), whose pitch bend and
    expression follow the note's curves at `CONTROL_RATE`; `reverb` None turns FluidSynth's
    reverb off (a room is applied afterwards instead)."""
    try:
        import fluidsynth
    except ImportError as err:  # pyfluidsynth raises ImportError when libfluidsynth is missing
        raise VimssError(f"FluidSynth is not available ({err}); run `make demo` or install libfluidsynth3") from None
    write = _write_float()
    synth = fluidsynth.Synth(
        gain=0.5,
        samplerate=float(sample_rate),
        **{"synth.dynamic-sample-loading": 1, "synth.chorus.active": 0, "synth.reverb.active": int(reverb is not None)},
    )
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise VimssError(f"{soundfont}: FluidSynth cannot load this soundfont")
        notes = performance.notes
        for channel in sorted({n.channel for n in notes}):
            synth.program_select(channel, sfid, 0, program)
            if performance.style is not None and "dynamics" in performance.steps:
                synth.cc(channel, 1, performance.style.modulation)
        if reverb is not None:
            synth.set_reverb(*reverb)
        # (sample, order, note): note-offs, then note-ons, then control ticks at one sample.
        events = [(round(n.start * sample_rate), 1, k) for k, n in enumerate(notes)]
        events += [(round(n.end * sample_rate), 0, k) for k, n in enumerate(notes)]
        if performance.controlled:
            step = max(1, round(sample_rate / CONTROL_RATE))
            events += [(pos, 2, -1) for pos in range(0, frames, step)]
        events.sort()
        owner: dict[int, int] = {}  # channel -> the note that holds its controls
        sent: dict[tuple[int, int], int] = {}  # (channel, control) -> last value sent

        def control(channel: int, k: int, t: float) -> None:
            note = notes[k]
            bend = round(performance.cents(note, t) * BEND_PER_CENT)
            if sent.get((channel, -1)) != bend:
                synth.pitch_bend(channel, bend)
                sent[channel, -1] = bend
            value = expression_value(performance.gain_db(note, t))
            if sent.get((channel, 11)) != value:
                synth.cc(channel, 11, value)
                sent[channel, 11] = value

        left, right = np.zeros(frames, np.float32), np.zeros(frames, np.float32)
        pos = 0
        for target, order, k in [*events, (frames, 0, -1)]:
            target = min(frames, target)
            if target > pos:
                write(synth.synth, target - pos, left[pos:].ctypes.data, 0, 1, right[pos:].ctypes.data, 0, 1)
                pos = target
            t = target / sample_rate
            if order == 2:
                for channel, held in owner.items():
                    if t < notes[held].end + RELEASE:
                        control(channel, held, t)
            elif k >= 0:
                note = notes[k]
                if order == 1:
                    owner[note.channel] = k
                    if performance.controlled:
                        control(note.channel, k, t)
                    synth.noteon(note.channel, note.pitch, note.velocity)
                elif (
                    not performance.controlled
                    or owner[note.channel] == k
                    or notes[owner[note.channel]].pitch != note.pitch
                ):
                    synth.noteoff(note.channel, note.pitch)
        return 0.5 * (left + right)
    finally:
        synth.delete()
