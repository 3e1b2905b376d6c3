"""One item rendered: its voices played (performance), each through its sample set, physical model
or recorded notes, recorded (room, EQ, compression, noise), gained and quantised so the mix is
exactly the sum of the stems; with its files, videos and manifest record."""

from __future__ import annotations

import functools
import io
import math
import os
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..boxes import Box
from ..errors import VimssError
from ..instruments import instrument
from . import augment, performance, physical, sampler
from .arrange import Voice, arrange
from .fluidsynth import render_part
from .libraries import UnreadableRecording, is_library, load_library
from .notation import PARSE_SECONDS, Note, cached_parts, score_name, split_of, title_of
from .performance import Performance, mechanical, perform, rubato_notes
from .physical import PHYSICAL
from .settings import SynthSettings, covered
from .video import FPS, FRAME_SIZE, encode_video, place_figures, render_frames

TAIL_SECONDS = 1.0
"""Rendered after the last note so releases and reverb decay are not cut."""
MIX_PEAK = 0.9
CALIBRATION_RMS_DB = -20.0
"""Loudness every sample set's program is brought to (calibration step) before the drawn gains."""


@dataclass(frozen=True)
class RenderedItem:
    index: int
    record: dict
    """What manifest.json says of the item (with 'skipped' when its score was unusable)."""
    files: dict[str, np.ndarray | bytes] = field(repr=False)
    """Relative path -> mono 16-bit audio, or a file's bytes (the score)."""
    reused: bool = False
    """Complete in the output folder already: nothing to write."""


def pcm16(wave: np.ndarray) -> np.ndarray:
    """16-bit samples: written as integers, stems and their integer sum (the mix) stay exact."""
    return np.clip(np.round(wave * 32767.0), -32768, 32767).astype(np.int16)


def urmp_piece(piece: str, instruments: list[str], stems: list[np.ndarray]) -> tuple[str, dict[str, np.ndarray]]:
    """A piece's URMP-layout folder (`NN_Title_inst_inst`) and audio files: one AuSep per player
    (`stems`, float, brought to MIX_PEAK together) and AuMix, their exact integer sum."""
    scale = MIX_PEAK / max(float(np.abs(sum(stems)).max()), 1e-6)
    quantised = [pcm16(s * scale) for s in stems]
    folder = f"{piece}_{'_'.join(instruments)}"
    files = {f"{folder}/AuMix_{folder}.wav": pcm16(np.stack(quantised).sum(axis=0, dtype=np.int32) / 32767.0)}
    for n, (abbr, stem) in enumerate(zip(instruments, quantised), 1):
        files[f"{folder}/AuSep_{n}_{abbr}_{piece}.wav"] = stem
    return folder, files


def render_item(index: int, score: Path, settings: SynthSettings, parse_limit: float = PARSE_SECONDS) -> RenderedItem:
    """Render item `index` from `score`; a record with 'skipped' when the score cannot be used.

    The arrangement, sample set and reverb come from the item's generator; the performance
    and the recording chain from generators of their own, so the mechanical renderings of
    earlier versions stay the same with `realism` off."""
    rng = random.Random(f"{settings.seed}:{index}")
    record: dict = {"index": index, "score": score_name(score), "split": split_of(score)}
    try:
        parts = cached_parts(score, parse_limit)
    except VimssError as err:
        return RenderedItem(index, {**record, "skipped": str(err).removeprefix(f"{score}: ")}, {})
    voices = arrange(parts, rng, settings) if len(parts) >= settings.min_parts else None
    if voices is None:
        return RenderedItem(index, {**record, "skipped": f"fewer than {settings.min_parts} sounding parts"}, {})
    soundfont = rng.choice(settings.soundfonts)
    reverb = (rng.uniform(0.1, 0.7), rng.uniform(0.0, 0.6), 0.5, rng.uniform(0.05, 0.6))
    steps = settings.realism
    performances = _perform(index, voices, settings)
    voices = [
        replace(v, notes=tuple(Note(n.start, n.end, n.pitch, n.velocity) for n in p.notes))
        for v, p in zip(voices, performances)
    ]
    recordings = _covering(index, voices, _recordings(index, len(voices), soundfont, settings), settings)
    length = max(n.end for v in voices for n in v.notes) + TAIL_SECONDS
    frames = math.ceil(length * settings.sample_rate)
    timbres = _timbres(index, voices, recordings, settings.seed)
    stems = []
    for voice, played, (sample_set, chain), timbre in zip(voices, performances, recordings, timbres):
        try:
            stem = render_stem(
                played, voice, sample_set, timbre, settings.sample_rate, None if "room" in steps else reverb, frames
            )
            if "calibration" in steps:
                stem *= 10 ** (
                    calibration_db(voice.instrument, voice.program, sample_set, timbre, settings.sample_rate) / 20
                )
        except UnreadableRecording as err:  # one broken recording skips its item, not the run
            return RenderedItem(
                index, {**record, "skipped": f"{voice.instrument} on {Path(sample_set).name}: {err}"}, {}
            )
        if chain is not None:
            stem = augment.record(stem, chain, settings.sample_rate, steps)
        if not np.isfinite(stem).all():
            where = f"{voice.instrument} on {Path(sample_set).name}"
            return RenderedItem(index, {**record, "skipped": f"rendering gave non-finite samples ({where})"}, {})
        stems.append(stem)
    record.update(
        soundfont=Path(soundfont).name,
        reverb=None if "room" in steps else [round(x, 3) for x in reverb],
        seconds=frames / settings.sample_rate,
    )
    files: dict[str, np.ndarray | bytes] = {}
    if settings.layout == "urmp":
        gained = [s * 10 ** (v.gain_db / 20) for s, v in zip(stems, voices)]
        folder, audio = urmp_piece(f"{index + 1:02d}_{title_of(score)}", [v.instrument for v in voices], gained)
        files.update(audio)
        files[f"{folder}/Sco_{folder}.mid"] = _score_midi(voices)
        record["folder"] = folder
    else:
        for n, (voice, stem) in enumerate(zip(voices, stems), 1):
            peak = float(np.abs(stem).max())
            if peak < 1e-4:
                continue
            files[_solo_file(index, n, voice)] = pcm16(stem * (MIX_PEAK / peak))
    if settings.video:
        files.update(_videos(index, settings, voices, files, record))
    record["parts"] = []
    for voice, played, (sample_set, chain), timbre in zip(voices, performances, recordings, timbres):
        part = {k: v for k, v in asdict(voice).items() if k != "notes"} | {"notes": len(voice.notes)}
        if timbre is not None:
            part["timbre"] = timbre
        if is_library(sample_set):
            library = load_library(sample_set)
            used = sampler.plan(played, library, voice.instrument, timbre["seed"] if timbre else 0)
            part["recordings"] = sorted({os.path.relpath(r.path, library.root) for r, _ in used})
        if steps:
            part |= {"sample_set": Path(sample_set).name, "performance": played.record(), "recording": chain}
            if "calibration" in steps:
                gain = calibration_db(voice.instrument, voice.program, sample_set, timbre, settings.sample_rate)
                part["calibration_db"] = round(gain, 2)
        record["parts"].append(part)
    if steps:
        record["realism"] = list(steps)
    record["files"] = sorted(files)
    return RenderedItem(index, record, files)


def _perform(index: int, voices: list[Voice], settings: SynthSettings) -> list[Performance]:
    """Each voice as its player plays it (mechanically when no performance step is on)."""
    steps = tuple(s for s in settings.realism if s in performance.STEPS)
    if not steps:
        return [mechanical(v.notes) for v in voices]
    rng = random.Random(f"{settings.seed}:{index}:performance")
    rubato = performance.draw_rubato(rng, settings.seconds)
    return [
        perform(
            rubato_notes(v.notes, rubato) if "timing" in steps else v.notes, rng, v.instrument, steps, settings.seconds
        )
        for v in voices
    ]


def _recordings(index: int, players: int, soundfont: str, settings: SynthSettings) -> list[tuple[str, dict | None]]:
    """Each player's sample set and recording draws (None when no recording step is on)."""
    if not any(s in augment.STEPS for s in settings.realism):
        return [(soundfont, None)] * players
    rng = random.Random(f"{settings.seed}:{index}:recording")
    chosen: list[tuple[str, dict | None]] = []
    for _ in range(players):
        own = rng.choice(settings.soundfonts)
        chosen.append(
            (own if "mixed-sets" in settings.realism else soundfont, augment.draw_recording(rng, settings.sample_rate))
        )
    return chosen


def _covering(
    index: int, voices: list[Voice], recordings: list[tuple[str, dict | None]], settings: SynthSettings
) -> list[tuple[str, dict | None]]:
    """Each player's sample set, another one that plays its instrument where the drawn set has
    no recordings of it (a library of one instrument); drawn from a generator of its own, so
    items whose sets play every instrument are rendered as before."""
    rng = random.Random(f"{settings.seed}:{index}:coverage")
    chosen = []
    for voice, (sample_set, chain) in zip(voices, recordings):
        if voice.instrument not in covered(sample_set):
            sample_set = rng.choice([s for s in settings.soundfonts if voice.instrument in covered(s)])
        chosen.append((sample_set, chain))
    return chosen


def _timbres(
    index: int, voices: list[Voice], recordings: list[tuple[str, dict | None]], seed: int
) -> list[dict | None]:
    """Each physical-model player's own model parameters, each recorded-notes player's seed for
    its choice of recordings (None for sample-set players)."""
    rng = random.Random(f"{seed}:{index}:timbre")
    timbres: list[dict | None] = []
    for voice, (sample_set, _) in zip(voices, recordings):
        if sample_set == PHYSICAL:
            timbres.append(physical.draw_timbre(rng, voice.instrument))
        else:
            timbres.append({"seed": rng.randrange(2**31)} if is_library(sample_set) else None)
    return timbres


def render_stem(
    played: Performance,
    voice: Voice,
    sample_set: str,
    timbre: dict | None,
    sample_rate: int,
    reverb: tuple[float, float, float, float] | None,
    frames: int,
) -> np.ndarray:
    """One part through its sample set (FluidSynth), its physical model (Csound, dry) or a
    library of recorded notes (the sampler, dry: the recordings have their own room)."""
    if sample_set == PHYSICAL:
        assert timbre is not None
        return physical.render_part(played, voice.instrument, timbre, sample_rate, frames)
    if is_library(sample_set):
        seed = timbre["seed"] if timbre else 0
        return sampler.render_part(played, load_library(sample_set), voice.instrument, sample_rate, frames, seed)
    return render_part(played, voice.program, sample_set, sample_rate, reverb, frames)


def calibration_db(inst: str, program: int, sample_set: str, timbre: dict | None, sample_rate: int) -> float:
    """Gain in dB that brings a player's sound to CALIBRATION_RMS_DB: three notes across the
    instrument's range at velocity 100, one second each (sample sets differ by 10 dB and
    more between programs, physical models by 35 dB between families)."""
    key = physical.timbre_key(timbre) if timbre and sample_set == PHYSICAL else ()  # a library: its first draws
    return _calibration(inst, program, sample_set, key, sample_rate)


@functools.cache
def _calibration(inst: str, program: int, sample_set: str, timbre: tuple, sample_rate: int) -> float:
    low, high = instrument(inst).pitch_range
    pitches = (low + 4, (low + high) // 2, high - 4)
    notes = tuple(Note(1.5 * k, 1.5 * k + 1.0, p, 100) for k, p in enumerate(pitches))
    voice = Voice("calibration", inst, program, 0, 1.0, 0.0, notes)
    wave = render_stem(
        mechanical(notes), voice, sample_set, dict(timbre) or None, sample_rate, None, math.ceil(4.5 * sample_rate)
    )
    rms = float(np.sqrt(np.mean(wave.astype(np.float64) ** 2)))
    return CALIBRATION_RMS_DB - 20 * math.log10(max(rms, 1e-7))


def _videos(
    index: int, settings: SynthSettings, voices: list[Voice], files: dict[str, np.ndarray | bytes], record: dict
) -> dict[str, bytes]:
    """The item's videos, with their audio track, and each player's box in the record.

    A generator of its own draws the look of the videos, so the audio is the same with
    or without them."""
    rng = random.Random(f"{settings.seed}:{index}:video")
    seconds = record["seconds"]
    onsets = [tuple(n.start for n in v.notes) for v in voices]
    videos: dict[str, bytes] = {}
    boxes: dict[str, list[list[float]]] = {}  # video -> its players' boxes, left to right
    if settings.layout == "urmp":
        figures = place_figures([v.instrument for v in voices], onsets, rng)
        folder = record["folder"]
        video = f"{folder}/Vid_{folder}.mp4"
        mix = files[f"{folder}/AuMix_{folder}.wav"]
        assert isinstance(mix, np.ndarray), "the mix is written as audio samples"
        videos[video] = encode_video(render_frames(figures, seconds, rng), mix, settings.sample_rate)
        boxes[video] = [_rounded(f.box()) for f in figures]
    else:
        for n, voice in enumerate(voices, 1):
            audio = _solo_file(index, n, voice)
            if audio not in files:  # a silent part writes no recording
                continue
            (figure,) = place_figures([voice.instrument], [onsets[n - 1]], rng)
            video = audio.removesuffix(".flac") + ".mp4"
            samples = files[audio]
            assert isinstance(samples, np.ndarray), "recordings are written as audio samples"
            videos[video] = encode_video(render_frames([figure], seconds, rng), samples, settings.sample_rate)
            boxes[video] = [_rounded(figure.box())]
    record["boxes"] = boxes
    record["video"] = {"width": FRAME_SIZE[0], "height": FRAME_SIZE[1], "fps": FPS}
    return videos


def _solo_file(index: int, n: int, voice: Voice) -> str:
    """Where part n of item `index` goes in the Solos layout."""
    return f"{instrument(voice.instrument).solos_folder}/{index:06d}p{n}.flac"


def _rounded(box: Box) -> list[float]:
    """The box as the manifest records it: inside the frame (a figure at the edge may be drawn
    partly past it, and a box past the frame is refused where boxes are read), to 0.1 px."""
    width, height = FRAME_SIZE
    inside = (max(0.0, box.x1), max(0.0, box.y1), min(float(width), box.x2), min(float(height), box.y2))
    return [round(v, 1) for v in inside]


def _score_midi(voices: list[Voice]) -> bytes:
    """The excerpt as rendered (transposed, re-timed) as a MIDI file, one track per player."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(resolution=960)  # 0.5-ms ticks at 120 bpm: onsets as played
    for voice in voices:
        track = pretty_midi.Instrument(program=voice.program, name=voice.instrument)
        track.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in voice.notes]
        midi.instruments.append(track)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()
