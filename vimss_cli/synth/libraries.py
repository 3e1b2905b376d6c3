"""Folders of recorded notes as sample sets for `vimss synth` (the sampler plays them).

A library is a folder with a `library.json` that says how its recordings are named:

- `philharmonia`: the Philharmonia Orchestra's samples, `<instrument>_<note>_<length>_<dynamic>_
  <style>.mp3` (e.g. `cello_As2_05_forte_arco-normal.mp3`): pitch, a nominal length (0.25-1.5 s,
  long), a dynamic layer and an articulation per file; phrases are not notes and are left out;
- `sfz`: SFZ programs, each for one instrument and articulation, read with `sfzen` (the region's
  sample, key centre, velocity range, tune and volume; release, legato and noise regions left out;
  `samples_from` names the folder a program's sample paths start from, when not its own);
- `iowa`: the University of Iowa's `<Instrument>.[vib.]<dynamic>.<note>.stereo.aif`;
- `named-notes`: one instrument's files named by their note (`A3.mp3`, `Cs4.mp3`), as VSCO's.

Every note becomes a `RecordedNote`; `Library.of(abbr)` gives an instrument's notes. Recordings are
decoded on first use, mono, their leading silence trimmed, and kept in a bounded per-process cache.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..dsp.audio import load_available
from ..errors import VimssError
from ..instruments import ABBREVIATIONS, instrument

LIBRARY_FILE = "library.json"
FORMATS = ("philharmonia", "sfz", "iowa", "named-notes")
ARTICULATIONS = ("sustain", "staccato", "pizzicato", "tremolo")
DYNAMICS = {
    "molto-pianissimo": 20,
    "pianissimo": 32,
    "pp": 32,
    "piano": 48,
    "p": 48,
    "mezzo-piano": 64,
    "mp": 64,
    "mezzo-forte": 80,
    "mf": 80,
    "forte": 96,
    "f": 96,
    "fortissimo": 112,
    "ff": 112,
}
"""Each dynamic marking's nominal velocity: the layer a note of that velocity plays."""
PHILHARMONIA_CLASSES = {
    "violin": "vn",
    "viola": "va",
    "cello": "vc",
    "double-bass": "db",
    "flute": "fl",
    "oboe": "ob",
    "clarinet": "cl",
    "bassoon": "bn",
    "saxophone": "sax",
    "trumpet": "tpt",
    "french-horn": "hn",
    "trombone": "tbn",
    "tuba": "tba",
}
PHILHARMONIA_LENGTHS = {"025": 0.25, "05": 0.5, "1": 1.0, "15": 1.5, "long": None, "very-long": None}
PHILHARMONIA_STYLES = {
    "sustain": (
        "normal",
        "arco-normal",
        "legato",
        "arco-legato",
        "arco-detache",
        "tenuto",
        "arco-tenuto",
        "nonlegato",
        "non-vibrato",
        "molto-vibrato",
        "vibrato",
    ),
    "staccato": ("staccato", "staccatissimo", "arco-staccato", "arco-spiccato", "arco-martele"),
    "pizzicato": ("pizz-normal",),
    "tremolo": ("arco-tremolo", "tremolo"),
}
"""Philharmonia styles by articulation; the rest (harmonics, col legno, trills, mutes, flutter
tonguing, glissandi...) are effects a chamber part rarely asks for, and are left out."""
ONSET_DB = -40.0
"""A recording starts where its level first comes within this of its peak (leading silence cut)."""
PRE_ROLL = 0.005
MIN_BYTES = 1024
"""Files smaller than this hold no note (the Philharmonia's set has two empty ones): left out."""


class UnreadableRecording(VimssError):
    """A library's recording that cannot be decoded: the item that plays it is skipped, not the run."""


@dataclass(frozen=True)
class RecordedNote:
    """One recording of one note, and what the sampler needs to choose and play it."""

    path: str
    instrument: str
    pitch: int
    """MIDI key the recording sounds at (SFZ: its key centre)."""
    velocity: int
    """Nominal velocity of its dynamic layer."""
    articulation: str = "sustain"
    seconds: float | None = None
    """Nominal played length (Philharmonia's 0.25-1.5 s notes); None: sustained as recorded."""
    tune_cents: float = 0.0
    """Cents to add on playback to be in tune (SFZ `tune`)."""
    gain_db: float = 0.0
    group: str = ""
    """Round-robin and layer group: recordings of one group are alternatives for the same note."""


@dataclass(frozen=True)
class Library:
    name: str
    root: Path
    notes: tuple[RecordedNote, ...]

    @property
    def instruments(self) -> tuple[str, ...]:
        present = {n.instrument for n in self.notes}
        return tuple(a for a in ABBREVIATIONS if a in present)

    def of(self, abbr: str) -> tuple[RecordedNote, ...]:
        return _notes_of(self, abbr)


@functools.cache
def _notes_of(library: Library, abbr: str) -> tuple[RecordedNote, ...]:
    return tuple(n for n in library.notes if n.instrument == abbr)


def is_library(path: str | Path) -> bool:
    return (Path(path) / LIBRARY_FILE).is_file()


@functools.cache
def load_library(path: str | Path) -> Library:
    """The library in folder `path` (read once per process)."""
    root = Path(path)
    spec_file = root / LIBRARY_FILE
    if not spec_file.is_file():
        raise VimssError(f"{root} is not a library of recorded notes (no {LIBRARY_FILE})")
    try:
        spec = json.loads(spec_file.read_text())
    except (OSError, ValueError) as err:
        raise VimssError(f"{spec_file}: cannot read it ({err})") from None
    kind = spec.get("format")
    readers = {"philharmonia": _philharmonia, "sfz": _sfz, "iowa": _iowa, "named-notes": _named_notes}
    if kind not in readers:
        raise VimssError(f"{spec_file}: format must be one of {', '.join(FORMATS)}, not {kind!r}")
    found = [n for n in readers[kind](root, spec) if os.path.getsize(n.path) >= MIN_BYTES]
    notes = tuple(sorted(found, key=lambda n: (n.instrument, n.pitch, n.velocity, n.path)))
    if not notes:
        raise VimssError(f"{root}: {LIBRARY_FILE} names no playable recording")
    return Library(spec.get("name", root.name), root, notes)


NOTE_NAME = re.compile(r"^([A-Ga-g])(#|s|b)?(-?\d)$")
PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def note_pitch(name: str) -> int:
    """'A4' -> 69; sharps as '#' or 's' ('As2', Philharmonia's A#2), flats as 'b' ('Ab3')."""
    match = NOTE_NAME.match(name)
    if match is None:
        raise ValueError(f"not a note name: {name!r}")
    letter, accidental, octave = match.groups()
    shift = {"#": 1, "s": 1, "b": -1, None: 0}[accidental]
    return 12 * (int(octave) + 1) + PITCH_CLASS[letter.lower()] + shift


def _philharmonia(root: Path, spec: dict[str, Any]) -> list[RecordedNote]:
    style_of = {style: art for art, styles in PHILHARMONIA_STYLES.items() for style in styles}
    notes = []
    for path in sorted((root / spec.get("folder", ".")).rglob("*.mp3")):
        fields = path.stem.split("_")
        if len(fields) != 5 or fields[2] == "phrase":
            continue
        name, note, length, dynamic, style = fields
        abbr = PHILHARMONIA_CLASSES.get(name)
        if abbr is None or length not in PHILHARMONIA_LENGTHS or dynamic not in DYNAMICS or style not in style_of:
            continue
        pitch = _pitch_or_none(note)
        if pitch is None:
            continue
        notes.append(
            RecordedNote(
                str(path),
                abbr,
                pitch,
                DYNAMICS[dynamic],
                style_of[style],
                PHILHARMONIA_LENGTHS[length],
                group=f"{abbr}:{pitch}:{dynamic}:{style}",
            )
        )
    return notes


def _pitch_or_none(name: str) -> int | None:
    try:
        return note_pitch(name)
    except ValueError:
        return None


def _sfz(root: Path, spec: dict[str, Any]) -> list[RecordedNote]:
    import sfzen

    notes: list[RecordedNote] = []
    for program in spec.get("programs", []):
        abbr = instrument(program["instrument"]).abbr
        articulation = program.get("articulation", "sustain")
        if articulation not in ARTICULATIONS:
            raise VimssError(f"{root / LIBRARY_FILE}: unknown articulation {articulation!r}")
        file = root / program["sfz"]
        try:
            parsed = sfzen.SFZ(str(file))
        except Exception as err:  # sfzen raises its own parse errors and OSError
            raise VimssError(f"{file}: sfzen cannot read it ({err})") from None
        # A program written to be #included by another resolves its samples from that one's folder.
        base = (root / program["samples_from"] if "samples_from" in program else file.parent) / _default_path(parsed)
        seen: set[Path] = set()
        for region in parsed.regions():
            ops = {k: v.value for k, v in region.inherited_opcodes().items()}
            sample = ops.get("sample")
            if not isinstance(sample, str) or ops.get("trigger") not in (None, "attack", "first"):
                continue
            path = (base / sample.replace("\\", "/")).resolve()
            if path in seen or "noise" in path.name.lower() or not path.is_file():
                continue
            seen.add(path)
            own = {k: v.value for k, v in region.opcodes().items()}
            key = own.get("key", own.get("pitch_keycenter", ops.get("pitch_keycenter", ops.get("key"))))
            if key is None:
                continue
            low, high = int(ops.get("lovel") or 1), int(ops.get("hivel") or 127)
            notes.append(
                RecordedNote(
                    str(path),
                    abbr,
                    int(_midi_key(key)) + int(ops.get("transpose") or 0),
                    (low + high) // 2,
                    articulation,
                    tune_cents=float(ops.get("tune") or 0.0),
                    gain_db=float(ops.get("volume") or 0.0),
                    group=f"{file.name}:{key}:{low}-{high}",
                )
            )
    return notes


def _default_path(parsed: Any) -> str:
    """The <control> header's default_path, where its samples live relative to the program."""
    for element in getattr(parsed, "elements", []):
        if type(element).__name__ == "Control":
            value = {k: v.value for k, v in element.opcodes().items()}.get("default_path")
            if value:
                return str(value).replace("\\", "/")
    return ""


def _midi_key(value: object) -> int:
    """An SFZ key: a MIDI number or a note name ('c4' is 60 in SFZ, as here)."""
    if isinstance(value, int | float):
        return int(value)
    return note_pitch(str(value))


def _iowa(root: Path, spec: dict[str, Any]) -> list[RecordedNote]:
    notes = []
    for abbr, folder in spec.get("instruments", {}).items():
        for path in sorted((root / folder).glob("*.aif*")):
            fields = path.name.split(".")
            dynamic = next((f for f in fields if f in DYNAMICS), None)
            pitch = next((p for p in map(_pitch_or_none, fields) if p is not None), None)
            if dynamic is None or pitch is None:
                continue
            notes.append(
                RecordedNote(str(path), instrument(abbr).abbr, pitch, DYNAMICS[dynamic], group=f"{abbr}:{pitch}")
            )
    return notes


def _named_notes(root: Path, spec: dict[str, Any]) -> list[RecordedNote]:
    abbr = instrument(spec["instrument"]).abbr
    notes = []
    for path in sorted((root / spec.get("folder", ".")).iterdir()):
        if path.suffix.lower() not in (".mp3", ".wav", ".flac", ".ogg", ".aif", ".aiff"):
            continue
        pitch = _pitch_or_none(path.stem.split()[0])  # 'F2 v2.mp3': a second take of F2
        if pitch is not None:
            notes.append(RecordedNote(str(path), abbr, pitch, spec.get("velocity", 96), group=f"{abbr}:{pitch}"))
    return notes


@functools.lru_cache(maxsize=768)
def recording(path: str) -> tuple[np.ndarray, int]:
    """A recording decoded to mono float32 (what it holds, `load_available`), its leading
    silence cut, and its sample rate."""
    try:
        wave, rate = load_available(path)
    except VimssError as err:
        raise UnreadableRecording(str(err)) from None
    mono = wave.mean(axis=0).astype(np.float32)
    level = np.abs(mono)
    peak = float(level.max(initial=0.0))
    if peak <= 0:
        return mono, rate
    loud = np.flatnonzero(level >= peak * 10 ** (ONSET_DB / 20))
    start = max(0, int(loud[0]) - round(PRE_ROLL * rate))
    return mono[start:], rate
