"""`vimss synth`: render multi-part scores into one stem per part with GM soundfonts.

Each item is an excerpt of one score: its tempo scaled, its parts given instruments of
the 13 classes and moved by octaves into their playing ranges, each part rendered on
its own by FluidSynth (so stems are sample-aligned and nothing bleeds), then gained and
quantised so that the written mix is exactly the sum of the written stems. Items are
committed in index order, so the output depends only on the seed and the settings,
never on the number of workers, and a rerun skips what is already complete.
"""

from __future__ import annotations

import ctypes
import functools
import io
import json
import math
import multiprocessing
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import atomic
from ..boxes import Box
from ..errors import VimssError
from ..instruments import INSTRUMENTS, Instrument, instrument
from . import augment, performance, physical
from .notation import PARSE_SECONDS, Note, Part, cached_parts, score_name, split_of, title_of
from .performance import CONTROL_RATE, RELEASE, Performance, mechanical, perform, rubato_notes
from .physical import PHYSICAL
from .video import FPS, FRAME_SIZE, encode_video, place_figures, render_frames

LAYOUTS = ("solos", "urmp")
SPLITS = ("train", "test", "all")
TAIL_SECONDS = 1.0
"""Rendered after the last note so releases and reverb decay are not cut."""
MIX_PEAK = 0.9
FIT_TOLERANCE = 0.05
"""An instrument fits a part when at most this share of its notes falls out of range
after the best octave shift (those notes are then folded into range one by one)."""
STATE_DIR = ".vimss-synth"
SF_GMBANK = "/usr/share/sounds/sf2/sf_GMbank.sf2"
"""Debian's csound-soundfont: a fourth GM sample set."""
REALISM = performance.STEPS + augment.STEPS
"""Every named realism step of `--realism` (performance, then recording)."""
CALIBRATION_RMS_DB = -20.0
"""Loudness every sample set's program is brought to (calibration step) before the drawn gains."""


def parse_realism(spec: str) -> tuple[str, ...]:
    """'all', 'none' or a comma list of REALISM steps (a leading '-' removes a step from all)."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if names in (["all"], []):
        return REALISM if names else ()
    if names == ["none"]:
        return ()
    drop = [n[1:] for n in names if n.startswith("-")]
    keep = [n for n in names if not n.startswith("-")]
    if drop and keep:
        raise VimssError("--realism takes steps to use or steps to drop (-name), not both")
    for name in drop + keep:
        if name not in REALISM:
            raise VimssError(f"unknown realism step '{name}' (choose from {', '.join(REALISM)}, all, none)")
    chosen = [n for n in REALISM if n not in drop] if drop else keep
    return tuple(n for n in REALISM if n in chosen)


def default_soundfonts() -> list[Path]:
    """pretty_midi's bundled TimGM6mb, plus Debian's FluidR3_GM, MuseScore_General,
    csound-soundfont's GM bank and Csound's physical models when installed."""
    import pretty_midi

    candidates = [
        Path(pretty_midi.__file__).parent / "TimGM6mb.sf2",
        Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
        Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
        Path(SF_GMBANK),
    ]
    return [p for p in candidates if p.is_file()] + [Path(PHYSICAL)] * physical.available()


@dataclass(frozen=True)
class SynthSettings:
    """Everything that decides the output besides the item index (saved with the data)."""

    layout: str
    soundfonts: tuple[str, ...]
    sample_rate: int = 22050
    seconds: float = 30.0
    min_parts: int = 2
    max_parts: int = 5
    split: str = "train"
    seed: int = 0
    video: bool = False
    """Also render a video of the players (synth_video.py): URMP `Vid_*.mp4`, or one per Solos recording."""
    realism: tuple[str, ...] = ()
    """Realism steps on (REALISM); none: the scores played mechanically on one shared reverb."""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise VimssError(f"unknown layout '{self.layout}' (choose {' or '.join(LAYOUTS)})")
        if self.split not in SPLITS:
            raise VimssError(f"unknown split '{self.split}' (choose {', '.join(SPLITS)})")
        if not 2 <= self.min_parts <= self.max_parts:
            raise VimssError(f"need 2 <= min parts <= max parts, got {self.min_parts}..{self.max_parts}")
        if self.seconds <= 0 or self.sample_rate < 8000:
            raise VimssError("seconds must be positive and the sample rate at least 8000 Hz")
        if not self.soundfonts:
            raise VimssError("no soundfont found; pass --soundfont FILE.sf2")
        for path in self.soundfonts:
            if path == PHYSICAL:
                if not physical.available():
                    raise VimssError(f"{PHYSICAL} need Csound: install Debian's csound (`make demo` does as root)")
            elif not Path(path).is_file():
                raise VimssError(f"soundfont not found: {path} (or give {PHYSICAL} for Csound's physical models)")
        unknown = [s for s in self.realism if s not in REALISM]
        if unknown:
            raise VimssError(f"unknown realism step '{unknown[0]}' (choose from {', '.join(REALISM)})")


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


@dataclass(frozen=True)
class RenderedItem:
    index: int
    record: dict
    """What manifest.json says of the item (with 'skipped' when its score was unusable)."""
    files: dict[str, np.ndarray | bytes] = field(repr=False)
    """Relative path -> mono 16-bit audio, or a file's bytes (the score)."""
    reused: bool = False
    """Complete in the output folder already: nothing to write."""


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
    voices: dict[int, Voice] = {}
    # Highest part first, so the instruments that can only play high get the top lines.
    for k in sorted(range(len(window)), key=lambda k: -sum(n.pitch for n in window[k].notes) / len(window[k].notes)):
        part = window[k]
        fits = {i.abbr: octave_fit(part.notes, i) for i in INSTRUMENTS}
        good = [i for i in INSTRUMENTS if fits[i.abbr][1] <= FIT_TOLERANCE * len(part.notes)]
        fresh = [i for i in good if i.abbr not in used]
        inst = rng.choice(fresh or good or [min(INSTRUMENTS, key=lambda i: fits[i.abbr][1])])
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
    return [voices[k] for k in range(len(window))]


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


def _pcm16(wave: np.ndarray) -> np.ndarray:
    """16-bit samples: written as integers, stems and their integer sum (the mix) stay exact."""
    return np.clip(np.round(wave * 32767.0), -32768, 32767).astype(np.int16)


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
    recordings = _recordings(index, len(voices), soundfont, settings)
    length = max(n.end for v in voices for n in v.notes) + TAIL_SECONDS
    frames = math.ceil(length * settings.sample_rate)
    timbres = _timbres(index, voices, recordings, settings.seed)
    stems = []
    for voice, played, (sample_set, chain), timbre in zip(voices, performances, recordings, timbres):
        stem = render_stem(
            played, voice, sample_set, timbre, settings.sample_rate, None if "room" in steps else reverb, frames
        )
        if "calibration" in steps:
            stem *= 10 ** (
                calibration_db(voice.instrument, voice.program, sample_set, timbre, settings.sample_rate) / 20
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
        stems = [s * 10 ** (v.gain_db / 20) for s, v in zip(stems, voices)]
        scale = MIX_PEAK / max(float(np.abs(sum(stems)).max()), 1e-6)
        stems = [_pcm16(s * scale) for s in stems]
        piece = f"{index + 1:02d}_{title_of(score)}"
        folder = f"{piece}_{'_'.join(v.instrument for v in voices)}"
        files[f"{folder}/AuMix_{folder}.wav"] = _pcm16(np.stack(stems).sum(axis=0, dtype=np.int32) / 32767.0)
        for n, (voice, stem) in enumerate(zip(voices, stems), 1):
            files[f"{folder}/AuSep_{n}_{voice.instrument}_{piece}.wav"] = stem
        files[f"{folder}/Sco_{folder}.mid"] = _score_midi(voices)
        record["folder"] = folder
    else:
        for n, (voice, stem) in enumerate(zip(voices, stems), 1):
            peak = float(np.abs(stem).max())
            if peak < 1e-4:
                continue
            files[_solo_file(index, n, voice)] = _pcm16(stem * (MIX_PEAK / peak))
    if settings.video:
        files.update(_videos(index, settings, voices, files, record))
    record["parts"] = []
    for voice, played, (sample_set, chain), timbre in zip(voices, performances, recordings, timbres):
        part = {k: v for k, v in asdict(voice).items() if k != "notes"} | {"notes": len(voice.notes)}
        if timbre is not None:
            part["timbre"] = timbre
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


def _timbres(
    index: int, voices: list[Voice], recordings: list[tuple[str, dict | None]], seed: int
) -> list[dict | None]:
    """Each physical-model player's own model parameters (None for sample-set players)."""
    rng = random.Random(f"{seed}:{index}:timbre")
    return [physical.draw_timbre(rng, v.instrument) if s == PHYSICAL else None for v, (s, _) in zip(voices, recordings)]


def render_stem(
    played: Performance,
    voice: Voice,
    sample_set: str,
    timbre: dict | None,
    sample_rate: int,
    reverb: tuple[float, float, float, float] | None,
    frames: int,
) -> np.ndarray:
    """One part through its sample set (FluidSynth) or its physical model (Csound, dry)."""
    if sample_set == PHYSICAL:
        assert timbre is not None
        return physical.render_part(played, voice.instrument, timbre, sample_rate, frames)
    return render_part(played, voice.program, sample_set, sample_rate, reverb, frames)


def calibration_db(inst: str, program: int, sample_set: str, timbre: dict | None, sample_rate: int) -> float:
    """Gain in dB that brings a player's sound to CALIBRATION_RMS_DB: three notes across the
    instrument's range at velocity 100, one second each (sample sets differ by 10 dB and
    more between programs, physical models by 35 dB between families)."""
    return _calibration(inst, program, sample_set, physical.timbre_key(timbre) if timbre else (), sample_rate)


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
    return [round(v, 1) for v in (box.x1, box.y1, box.x2, box.y2)]


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


def _commit(out: Path, item: RenderedItem, layout: str, sample_rate: int) -> None:
    """Write an item's files under temporary names, rename them into place, then its record
    (which marks the item complete; a skipped item has only the record)."""
    if item.files:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
        try:
            for rel, content in item.files.items():
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    fmt = "FLAC" if rel.endswith(".flac") else "WAV"
                    sf.write(target, content, sample_rate, subtype="PCM_16", format=fmt)
            if layout == "urmp":
                folder = item.record["folder"]
                shutil.rmtree(out / folder, ignore_errors=True)
                os.replace(staging / folder, out / folder)
            else:
                for rel in item.files:
                    (out / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / rel, out / rel)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _write_json(_record_path(out, item.index), item.record)


def _record_path(out: Path, index: int) -> Path:
    return out / STATE_DIR / "items" / f"{index:06d}.json"


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(data, indent=1) + "\n")


@dataclass
class SynthSummary:
    items: int
    seconds: float
    rendered: int
    """Items rendered by this run (the rest were already complete)."""
    skipped: list[str]
    manifest: Path


def synthesize(
    out: Path,
    scores: list[Path],
    settings: SynthSettings,
    *,
    pieces: int | None = None,
    hours: float | None = None,
    workers: int = 1,
    parse_limit: float = PARSE_SECONDS,
    on_progress: Callable[[float], None] | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> SynthSummary:
    """Render items until `pieces` items or `hours` of audio exist in `out`.

    Hours count the mixes (urmp) or the recordings (solos). `on_progress` gets the
    fraction done after each item, `on_skip` a line for each score given up as it happens
    (unreadable, too few parts, or slower to read than `parse_limit` seconds).
    """
    if (pieces is None) == (hours is None):
        raise VimssError("give one of --pieces or --hours")
    if (pieces is not None and pieces < 1) or (hours is not None and hours <= 0):
        raise VimssError("--pieces and --hours must be positive")
    if settings.split != "all":
        scores = [s for s in scores if split_of(s) == settings.split]
    if not scores:
        raise VimssError(f"no score belongs to the '{settings.split}' split; pass --split all")
    order = score_order(scores, settings.seed)
    _prepare(out, settings)
    target = pieces if pieces is not None else hours * 3600.0  # type: ignore[operator]
    seconds = 0.0
    rendered = failures_in_a_row = 0
    skipped: list[str] = []
    records = []
    for item in _items(out, order, settings, workers, parse_limit):
        if not item.reused:
            _commit(out, item, settings.layout, settings.sample_rate)
            rendered += "skipped" not in item.record
        if "skipped" in item.record:
            skipped.append(f"{item.record['score']}: {item.record['skipped']}")
            if on_skip and not item.reused:
                on_skip(skipped[-1])
            failures_in_a_row += 1
            if failures_in_a_row >= len(order):
                raise VimssError(f"no usable score: {skipped[-1]}")
        else:
            records.append(item.record)
            seconds += _audio_seconds(item.record)
            failures_in_a_row = 0
        done = len(records) if pieces is not None else seconds
        if on_progress:
            on_progress(min(1.0, done / target))
        if done >= target:
            break
    manifest = out / "manifest.json"
    _write_json(manifest, {"settings": asdict(settings), "items": records})
    return SynthSummary(len(records), seconds, rendered, skipped, manifest)


def score_order(scores: list[Path], seed: int) -> list[Path]:
    """Scores shuffled within each top folder (composer) and taken from the folders in
    turn, so the corpus' 1,318 Palestrina mass sections do not crowd out the quartets."""
    rng = random.Random(seed)
    root = Path(os.path.commonpath([s.parent for s in scores]))
    groups: dict[str, list[Path]] = {}
    for path in sorted(scores, key=score_name):
        top = path.relative_to(root).parts
        groups.setdefault(top[0] if len(top) > 1 else "", []).append(path)
    queues = [rng.sample(group, len(group)) for _, group in sorted(groups.items())]
    order = []
    while any(queues):
        for queue in rng.sample(queues, len(queues)):
            if queue:
                order.append(queue.pop())
    return order


def _audio_seconds(record: dict) -> float:
    audio = [f for f in record["files"] if f.endswith((".wav", ".flac")) and "/AuSep_" not in f]
    return record["seconds"] * len(audio)


def _prepare(out: Path, settings: SynthSettings) -> None:
    """Create `out`, or check that an existing run used the same settings."""
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise VimssError(f"cannot create output folder {out}: {err.strerror}") from None
    saved = out / STATE_DIR / "settings.json"
    current = {
        **asdict(settings),
        "soundfonts": [Path(s).name for s in settings.soundfonts],
        "realism": list(settings.realism),
    }
    if saved.is_file():
        previous = {"video": False, "realism": [], **json.loads(saved.read_text())}  # folders made before both
        if previous != current:
            changed = sorted(k for k in current if previous.get(k) != current[k])
            raise VimssError(f"{out} was made with other settings ({', '.join(changed)}); use a new folder")
    else:
        _write_json(saved, current)
    if not os.access(out, os.W_OK):
        raise VimssError(f"output folder is not writable: {out}")


def _items(
    out: Path, order: list[Path], settings: SynthSettings, workers: int, parse_limit: float
) -> Iterator[RenderedItem]:
    """Items in index order: complete ones from their records, the rest rendered
    (in `workers` processes, a few ahead of the one being committed)."""

    def existing(index: int) -> RenderedItem | None:
        path = _record_path(out, index)
        if not path.is_file():
            return None
        record = json.loads(path.read_text())
        if not all((out / f).is_file() for f in record.get("files", [])):
            return None
        return RenderedItem(index, record, {}, reused=True)

    def score(index: int) -> Path:
        return order[index % len(order)]

    if workers <= 1:
        index = 0
        while True:
            yield existing(index) or render_item(index, score(index), settings, parse_limit)
            index += 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: dict[int, Future | RenderedItem] = {}
        next_index = 0
        index = 0
        try:
            while True:
                while len(pending) < 2 * workers:
                    found = existing(next_index)
                    pending[next_index] = found or pool.submit(
                        render_item, next_index, score(next_index), settings, parse_limit
                    )
                    next_index += 1
                job = pending.pop(index)
                yield job if isinstance(job, RenderedItem) else job.result()
                index += 1
        finally:
            for job in pending.values():
                if isinstance(job, Future):
                    job.cancel()
