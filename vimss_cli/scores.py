"""Multi-part scores as note lists, from the music21 corpus or the user's own files.

MIDI files are read with pretty_midi (one part per non-drum instrument track); every
other format music21 reads (MusicXML, .mxl, Humdrum, ABC) is converted to MIDI by
music21 first, so both paths give notes in seconds with the score's own tempo.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import VimssError

MIDI_EXTENSIONS = (".mid", ".midi")
SCORE_EXTENSIONS = (*MIDI_EXTENSIONS, ".mxl", ".xml", ".musicxml", ".krn", ".abc")
DEFAULT_CORPUS = ("bach", "beethoven", "haydn", "mozart", "monteverdi", "palestrina", "trecento")
"""music21 corpus folders of multi-part vocal and chamber music (chorales, string
quartets, madrigals, masses, Trecento duets and trios)."""
TEST_SHARE = 10
"""One score in TEST_SHARE (by a stable hash of its name) belongs to the held-out split."""


@dataclass(frozen=True)
class Note:
    start: float
    end: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class Part:
    name: str
    notes: tuple[Note, ...]


def corpus_scores(composers: tuple[str, ...] = DEFAULT_CORPUS) -> list[Path]:
    """The music21 corpus files of the given composers (folders), sorted."""
    from music21 import corpus

    paths = []
    for path in corpus.getCorePaths():
        if path.suffix in SCORE_EXTENSIONS and any(part in composers for part in path.parts[-3:-1]):
            paths.append(Path(path))
    return sorted(paths)


def find_scores(paths: list[Path]) -> list[Path]:
    """Score files given directly or found (recursively) in the given folders."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in SCORE_EXTENSIONS)
        elif path.is_file():
            if path.suffix.lower() not in SCORE_EXTENSIONS:
                raise VimssError(f"{path}: not a score file ({', '.join(SCORE_EXTENSIONS)})")
            found.append(path)
        else:
            raise VimssError(f"score not found: {path}")
    if not found:
        raise VimssError(f"no score files ({', '.join(SCORE_EXTENSIONS)}) in {', '.join(map(str, paths))}")
    return found


def score_name(path: Path) -> str:
    """A stable name from the file's last two path components (corpus paths differ by machine)."""
    return f"{path.parent.name}/{path.name}"


def split_of(path: Path) -> str:
    """'test' for a fixed tenth of scores, 'train' for the rest: the same on every machine."""
    digest = hashlib.sha1(score_name(path).encode()).digest()
    return "test" if int.from_bytes(digest[:4], "big") % TEST_SHARE == 0 else "train"


def title_of(path: Path) -> str:
    """A CamelCase title without underscores, as URMP folder names need (e.g. Opus1no1Movement1)."""
    words = [path.parent.name, path.stem] if path.parent.name not in DEFAULT_CORPUS else [path.stem]
    text = "".join(w[:1].upper() + w[1:] for w in words)
    return "".join(ch for ch in text if ch.isalnum())[:40] or "Piece"


def load_parts(path: Path) -> list[Part]:
    """Every part with notes, in score order, timed in seconds."""
    import pretty_midi

    try:
        if path.suffix.lower() in MIDI_EXTENSIONS:
            midi = pretty_midi.PrettyMIDI(str(path))
        else:
            midi = pretty_midi.PrettyMIDI(io.BytesIO(_music21_to_midi(path)))
    except Exception as err:  # music21 and mido raise many types for unreadable files
        text = " ".join(str(err).split())[:200] or type(err).__name__
        raise VimssError(f"{path}: cannot read score ({text})") from None
    parts = []
    for k, inst in enumerate(midi.instruments):
        notes = tuple(
            Note(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
            for n in sorted(inst.notes, key=lambda n: (n.start, n.pitch))
            if n.end > n.start
        )
        if notes and not inst.is_drum:
            parts.append(Part(inst.name.strip() or f"part {k + 1}", notes))
    return parts


def _music21_to_midi(path: Path) -> bytes:
    import music21

    # Long scores overflow music21's default resolution and pretty_midi rejects the file.
    music21.defaults.ticksPerQuarter = 960
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = music21.converter.parse(path)
        return music21.midi.translate.music21ObjectToMidiFile(score).writestr()
