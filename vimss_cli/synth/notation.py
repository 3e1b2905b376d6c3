"""Multi-part scores as note lists, from the music21 corpus or the user's own files.

MIDI files are read with pretty_midi (one part per non-drum instrument track); every
other format music21 reads (MusicXML, .mxl, Humdrum, ABC) is converted to MIDI by
music21 first, so both paths give notes in seconds with the score's own tempo.
"""

from __future__ import annotations

import hashlib
import io
import json
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import VimssError, one_line

MIDI_EXTENSIONS = (".mid", ".midi")
SCORE_EXTENSIONS = (*MIDI_EXTENSIONS, ".mxl", ".xml", ".musicxml", ".krn", ".abc")
DEFAULT_CORPUS = ("bach", "beethoven", "haydn", "mozart", "monteverdi", "palestrina", "trecento")
"""music21 corpus folders of multi-part vocal and chamber music (chorales, string
quartets, madrigals, masses, Trecento duets and trios)."""
TEST_SHARE = 10
"""One score in TEST_SHARE (by a stable hash of its name) belongs to the held-out split."""
PARSE_SECONDS = 120.0
"""Default time limit for reading one score (a whole opus in MusicXML can take music21 10+ minutes)."""
CACHE_VERSION = 1
"""Bumped when the note lists read from a score change, so older cached lists are not reused."""


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
    except TimeoutError:
        raise
    except Exception as err:  # music21 and mido raise many types for unreadable files
        raise VimssError(f"{path}: cannot read score ({one_line(err)})") from None
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


def cache_folder() -> Path:
    """Where read scores are kept (`cache.cache_root()`/scores)."""
    from ..cache import cache_root

    return cache_root() / "scores"


def cached_parts(path: Path, time_limit: float = PARSE_SECONDS) -> list[Part]:
    """`load_parts`, read once per file content: the note lists (or the reason the score
    is unusable) are kept in `cache_folder()` under the file's SHA-256, so a corpus that
    draws a score many times, or a second corpus, never parses it again. A score that takes
    longer than `time_limit` seconds is given up (and remembered as such for that limit)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = cache_folder() / f"{digest[:2]}/{digest}-v{CACHE_VERSION}.json"
    try:
        saved = json.loads(entry.read_text())
    except (OSError, ValueError):
        saved = None
    if saved is not None and ("parts" in saved or saved.get("limit", 0) >= time_limit):
        if "error" in saved:
            raise VimssError(f"{path}: {saved['error']}")
        return [Part(name, tuple(Note(*n) for n in notes)) for name, notes in saved["parts"]]
    try:
        with _time_limit(time_limit):
            parts = load_parts(path)
        saved = {"parts": [[p.name, [[n.start, n.end, n.pitch, n.velocity] for n in p.notes]] for p in parts]}
    except TimeoutError:
        saved = {"error": f"reading took longer than {time_limit:g} s (--parse-limit)", "limit": time_limit}
    except VimssError as err:
        saved = {"error": str(err).removeprefix(f"{path}: "), "limit": float("inf")}
    _save(entry, saved)
    if "error" in saved:
        raise VimssError(f"{path}: {saved['error']}")
    return parts


def _save(entry: Path, data: dict) -> None:
    """Write the cache entry atomically; a cache that cannot be written is only a slower run."""
    from ..atomic import write_text

    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_text(entry, json.dumps(data))
    except OSError:
        pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block after `seconds` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(*_: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
