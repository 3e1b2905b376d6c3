"""Real recordings as training and validation material, beside what `vimss synth` renders.

`write_solos` lays out recordings of one instrument each (a Philharmonia phrase, a movement of
solo Bach, a Medley-solos clip) in the Solos layout `vimss train` mixes (the paper's
mix-and-separate): each decoded to mono at one rate, brought to one loudness (BS.1770, by
pyloudnorm), its silent ends trimmed and cut at long silences into segments of at most
`max_seconds`, each segment a file `<Instrument>/<set>-<recording>-<k>.flac`. `write_mixtures`
makes fixed test pieces of them in the URMP layout (`vimss evaluate` scores those): 2..N
instruments, a segment of one recording each, gained at random, summed exactly. Both record
every file's source in `manifest.json`, and a rerun skips what is complete.
"""

from __future__ import annotations

import itertools
import json
import random
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import atomic
from ..dsp.audio import load_available
from ..errors import VimssError
from ..instruments import instrument
from .item import urmp_piece

LOUDNESS_LUFS = -23.0
"""EBU R128's programme loudness, every recording's level before it is cut."""
QUIET_DB = -45.0
"""Frames (50 ms) this far below a recording's loudest frame are silence."""
FRAME = 0.05


@dataclass(frozen=True)
class Take:
    """One recording of one instrument, and the set it belongs to."""

    path: Path
    instrument: str
    family: str


def hold_out(takes: list[Take], share: float) -> tuple[list[Take], list[Take], list[Take]]:
    """(kept, validation, test): per instrument, the `share` of its recordings first in the order
    of their names' CRC (at least two, where it has three or more) is held out, in turns to
    validation and test. The same files on every machine, and every instrument in both halves."""
    kept: list[Take] = []
    val: list[Take] = []
    test: list[Take] = []
    for abbr in sorted({t.instrument for t in takes}):
        own = sorted(
            (t for t in takes if t.instrument == abbr), key=lambda t: (zlib.crc32(t.path.name.encode()), t.path)
        )
        n = len(own) if share >= 1 else min(len(own) - 1, max(2, round(share * len(own)))) if len(own) >= 3 else 0
        val += own[:n:2]
        test += own[1:n:2]
        kept += own[n:]
    return kept, val, test


def sounding_spans(
    mono: np.ndarray, rate: int, *, min_seconds: float = 1.0, max_seconds: float = 12.0, gap: float = 0.6
) -> list[tuple[int, int]]:
    """(start, end) samples of a recording's sounding stretches: silences longer than `gap`
    cut it, stretches longer than `max_seconds` are cut evenly, shorter than `min_seconds` dropped."""
    hop = max(1, round(FRAME * rate))
    frames = len(mono) // hop
    if frames == 0:
        return []
    rms = np.sqrt(np.mean(mono[: frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1))
    loud = rms >= rms.max() * 10 ** (QUIET_DB / 20) if rms.max() > 0 else np.zeros(frames, bool)
    spans: list[tuple[int, int]] = []
    start = None
    quiet = 0
    for k, on in enumerate([*loud, False]):
        if on:
            start = k if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * FRAME >= gap or k == frames:
                spans.append((start * hop, (k - quiet + 1) * hop))
                start, quiet = None, 0
    cut: list[tuple[int, int]] = []
    longest = round(max_seconds * rate)
    for a, b in spans:
        pieces = -(-(b - a) // longest)
        edges = np.linspace(a, b, pieces + 1).round().astype(int)
        cut += [(int(s), int(e)) for s, e in itertools.pairwise(edges) if e - s >= min_seconds * rate]
    return cut


def write_solos(takes: list[Take], out: Path, sample_rate: int = 22050, *, max_seconds: float = 12.0) -> int:
    """Lay `takes` out in the Solos layout under `out`; returns how many segments it holds."""
    import pyloudnorm
    import soxr

    manifest_path = out / "manifest.json"
    done = json.loads(manifest_path.read_text())["segments"] if manifest_path.is_file() else {}
    sources = {str(t.path) for t in takes}
    for take in takes:
        if any(s["source"] == str(take.path) for s in done.values()):
            continue
        wave, rate = load_available(take.path)
        mono = soxr.resample(wave.mean(axis=0), rate, sample_rate).astype(np.float32)
        if len(mono) < sample_rate // 2:
            continue
        loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(mono)
        if np.isfinite(loudness):
            mono = mono * 10 ** ((LOUDNESS_LUFS - loudness) / 20)
        mono = mono * min(1.0, 0.99 / max(float(np.abs(mono).max()), 1e-9))
        folder = out / instrument(take.instrument).solos_folder
        folder.mkdir(parents=True, exist_ok=True)
        for k, (a, b) in enumerate(sounding_spans(mono, sample_rate, max_seconds=max_seconds)):
            name = f"{folder.name}/{take.family}-{take.path.stem.replace(' ', '_')}-{k:03d}.flac"
            with atomic.replacing(out / name) as temporary:
                sf.write(temporary, mono[a:b], sample_rate, subtype="PCM_16", format="FLAC")
            done[name] = {"source": str(take.path), "family": take.family, "instrument": take.instrument}
            done[name] |= {"start": round(a / sample_rate, 3), "end": round(b / sample_rate, 3)}
        atomic.write_text(manifest_path, json.dumps({"segments": done}, indent=1) + "\n")
    stale = [n for n, s in done.items() if s["source"] not in sources]
    if stale:
        raise VimssError(f"{out} holds segments of recordings not asked for now ({stale[0]}); use a new folder")
    return len(done)


@dataclass(frozen=True)
class Mixtures:
    pieces: int
    seconds: float = 12.0
    min_parts: int = 2
    max_parts: int = 4
    seed: int = 0
    gain_db: float = 6.0


def write_mixtures(solos: Path, out: Path, settings: Mixtures) -> int:
    """Fixed URMP-layout pieces mixed from the Solos-layout folder `solos` (its manifest
    names the segments): piece n draws its instruments and segments from the seed and n."""
    segments = json.loads((solos / "manifest.json").read_text())["segments"]
    by_class: dict[str, list[str]] = {}
    for name, record in sorted(segments.items()):
        by_class.setdefault(record["instrument"], []).append(name)
    if len(by_class) < settings.min_parts:
        raise VimssError(f"{solos} holds {len(by_class)} instruments; a piece needs {settings.min_parts}")
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "mixtures.json"
    if saved.is_file() and json.loads(saved.read_text())["settings"] != asdict(settings):
        raise VimssError(f"{out} was mixed with other settings; use a new folder")
    pieces = []
    for n in range(settings.pieces):
        rng = random.Random(f"{settings.seed}:{n}")
        count = rng.randint(settings.min_parts, min(settings.max_parts, len(by_class)))
        chosen = sorted(rng.sample(sorted(by_class), count), key=lambda a: instrument(a).abbr)
        stems, rate, used = [], 0, []
        for abbr in chosen:
            name = rng.choice(by_class[abbr])
            wave, rate = sf.read(solos / name, dtype="float32")
            length = round(settings.seconds * rate)
            start = rng.randint(0, max(0, len(wave) - length))
            stem = np.pad(wave[start : start + length], (0, max(0, length - len(wave))))
            stems.append(stem * 10 ** (rng.uniform(-settings.gain_db, 0.0) / 20))
            used.append({"instrument": abbr, "segment": name, "start": round(start / rate, 3)})
        folder, files = urmp_piece(f"{n + 1:02d}_mix", chosen, stems)
        for rel, audio in files.items():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic.replacing(target) as temporary:
                sf.write(temporary, audio, rate, subtype="PCM_16", format="WAV")
        pieces.append({"folder": folder, "parts": used})
    atomic.write_text(saved, json.dumps({"settings": asdict(settings), "pieces": pieces}, indent=1) + "\n")
    return len(pieces)
