"""The URMP dataset layout (Li et al. 2018), read as the paper evaluates it.

One folder per piece, `NN_Title_inst1_inst2…/`, holding `AuMix_<folder>.wav`, one
`AuSep_<n>_<inst>_NN_Title.wav` per player and optionally `Vid_<folder>.mp4`. The
instrument of player n is taken from the folder name: piece 15_Surprise_tpt_tpt_tbn
names its third file `tpt` although the folder (and the score) say trombone.
Players of the same instrument are summed into one source, and pieces whose players
all play one instrument are skipped, as in the paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VimssError
from ..instruments import ABBREVIATIONS

_PIECE = re.compile(r"^(\d+)_([^_]+)_((?:[a-z]+_?)+)$")
_STEM = re.compile(r"^AuSep_(\d+)_([a-z]+)_.*\.(wav|flac)$")


@dataclass
class Piece:
    name: str
    folder: Path
    mix: Path
    sources: dict[str, list[Path]] = field(default_factory=dict)
    """Instrument abbreviation -> the stems of its players (summed into one source)."""
    video: Path | None = None
    line_up: tuple[str, ...] = ()
    """Each player's instrument, in file-name order: left to right in the video."""

    @property
    def instruments(self) -> list[str]:
        """Present instruments in the table's order."""
        return [a for a in ABBREVIATIONS if a in self.sources]

    @property
    def players(self) -> int:
        """Players (more than sources when players of one instrument are summed)."""
        return len(self.line_up)


def urmp_pieces(root: str | Path) -> tuple[list[Piece], list[str]]:
    """All evaluable pieces under `root`, and a note for every folder that was skipped."""
    root = Path(root)
    if not root.is_dir():
        raise VimssError(f"dataset folder not found: {root}")
    pieces, skipped, unnamed = [], [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        match = _PIECE.match(folder.name)
        if not match:
            unnamed.append(folder.name)
            continue
        players = match.group(3).split("_")
        unknown = [p for p in players if p not in ABBREVIATIONS]
        if unknown:
            skipped.append(f"{folder.name}: unknown instrument {', '.join(unknown)}")
            continue
        if len(set(players)) < 2:
            skipped.append(f"{folder.name}: every player plays {players[0]}")
            continue
        mixes = sorted(folder.glob("AuMix_*.wav")) + sorted(folder.glob("AuMix_*.flac"))
        if not mixes:
            skipped.append(f"{folder.name}: no AuMix file")
            continue
        piece = Piece(folder.name, folder, mixes[0], line_up=tuple(players))
        stems = sorted((int(m.group(1)), f) for f in folder.iterdir() if (m := _STEM.match(f.name)))
        if [n for n, _ in stems] != list(range(1, len(players) + 1)):
            skipped.append(f"{folder.name}: expected AuSep_1..{len(players)}, found {[f.name for _, f in stems]}")
            continue
        for (_, path), inst in zip(stems, players, strict=True):
            piece.sources.setdefault(inst, []).append(path)
        videos = sorted(folder.glob("Vid_*.mp4"))
        piece.video = videos[0] if videos else None
        pieces.append(piece)
    if not pieces:
        why = skipped + [f"{name}: not named NN_Title_inst_inst" for name in unnamed]
        detail = f": {'; '.join(why[:3])}{' ...' if len(why) > 3 else ''}" if why else ""
        raise VimssError(f"no URMP-layout pieces (NN_Title_inst_inst/ with AuMix_* and AuSep_*) in {root}{detail}")
    return pieces, skipped
