"""What decides a rendered data set besides the item index: layout, sample sets, rate, lengths,
split, seed, videos and the realism steps (`SynthSettings`, saved with the data)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import VimssError
from ..instruments import ABBREVIATIONS
from . import augment, performance, physical
from .libraries import is_library, load_library
from .physical import PHYSICAL

LAYOUTS = ("solos", "urmp")
SPLITS = ("train", "test", "all")
SF_GMBANK = "/usr/share/sounds/sf2/sf_GMbank.sf2"
"""Debian's csound-soundfont: a fourth GM sample set."""
REALISM = performance.STEPS + augment.STEPS
"""Every named realism step of `--realism` (performance, then recording)."""


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


def covered(sample_set: str) -> tuple[str, ...]:
    """The instruments a sample set plays: all 13 for a GM soundfont or the physical models, a
    library of recorded notes those it has recordings of."""
    return load_library(sample_set).instruments if is_library(sample_set) else ABBREVIATIONS


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
    doubled: float = 0.0
    """Share of items in which two neighbouring parts play one instrument (two violins of a
    quartet): the data that teaches a player splitter (`nets/splitter.py`) to part them."""

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
            elif is_library(path):
                load_library(path)  # a library that names no recording is refused here, before any item
            elif not Path(path).is_file():
                raise VimssError(
                    f"soundfont not found: {path} (give an SF2/SF3 file, a folder of recorded notes with a "
                    f"library.json, or {PHYSICAL} for Csound's physical models)"
                )
        if not self.instruments:
            raise VimssError("the sample sets play no instrument")
        if not 0 <= self.doubled <= 1:
            raise VimssError(f"--doubled is a share between 0 and 1, got {self.doubled:g}")
        unknown = [s for s in self.realism if s not in REALISM]
        if unknown:
            raise VimssError(f"unknown realism step '{unknown[0]}' (choose from {', '.join(REALISM)})")

    @property
    def instruments(self) -> tuple[str, ...]:
        """The instruments some sample set plays: the only ones an item's parts are given."""
        played = {abbr for s in self.soundfonts for abbr in covered(s)}
        return tuple(a for a in ABBREVIATIONS if a in played)
