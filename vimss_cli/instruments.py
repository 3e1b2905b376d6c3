"""The table of the 13 instrument classes, in the fixed order of the model's masks.

Mask k of every model belongs to INSTRUMENTS[k]; URMP file names use `abbr`, the
Solos dataset uses `solos_folder`, and synthesis uses the General MIDI programs and
the playing range (FluidR3's contrabass is silent above A3, tuba above C5, bassoon and
alto saxophone above C6, so ranges stay inside what the soundfonts sound).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from .errors import VimssError


@dataclass(frozen=True)
class Instrument:
    abbr: str
    name: str
    solos_folder: str
    gm_programs: tuple[int, ...]
    pitch_range: tuple[int, int]
    """Sounding MIDI pitches the instrument plays (and the GM soundfonts sound)."""
    aliases: tuple[str, ...] = ()

    def spellings(self) -> tuple[str, ...]:
        """Every spelling that names this instrument, normalised."""
        return tuple(_normalise(k) for k in (self.abbr, self.name, self.solos_folder, *self.aliases))


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("vn", "violin", "Violin", (40,), (55, 100), ("vln", "fiddle")),
    Instrument("va", "viola", "Viola", (41,), (48, 88), ("vla",)),
    Instrument("vc", "cello", "Cello", (42,), (36, 76), ("violoncello", "vlc")),
    Instrument("db", "double bass", "DoubleBass", (43,), (28, 57), ("contrabass", "bass", "cb")),
    Instrument("fl", "flute", "Flute", (73,), (60, 96)),
    Instrument("ob", "oboe", "Oboe", (68,), (58, 91)),
    Instrument("cl", "clarinet", "Clarinet", (71,), (50, 91)),
    Instrument("bn", "bassoon", "Bassoon", (70,), (34, 75), ("bsn",)),
    Instrument("sax", "saxophone", "Saxophone", (65, 66), (49, 81), ("alto sax", "tenor sax")),
    Instrument("tpt", "trumpet", "Trumpet", (56,), (54, 82), ("tp",)),
    Instrument("hn", "french horn", "Horn", (60,), (34, 77), ("hr",)),
    Instrument("tbn", "trombone", "Trombone", (57,), (40, 72), ("tb",)),
    Instrument("tba", "tuba", "Tuba", (58,), (28, 58)),
)

N_INSTRUMENTS = len(INSTRUMENTS)
ABBREVIATIONS: tuple[str, ...] = tuple(i.abbr for i in INSTRUMENTS)


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


_BY_KEY: dict[str, Instrument] = {k: inst for inst in INSTRUMENTS for k in inst.spellings()}


def instrument(name: str) -> Instrument:
    """Look up one instrument by abbreviation, name, Solos folder or alias, in any case."""
    found = _BY_KEY.get(_normalise(name))
    if found is None:
        choices = [i.abbr for i in INSTRUMENTS] + [i.name for i in INSTRUMENTS]
        close = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; valid: {', '.join(ABBREVIATIONS)}"
        raise VimssError(f"unknown instrument '{name}'{hint}")
    return found


PLAYERS_PER_CLASS = 2
"""Players of one instrument a line-up may name (`vn,vn,va,vc`): the player splitter parts two."""


def parse_instruments(spec: str | list[str]) -> list[Instrument]:
    """Parse a comma-separated list (or list of names) into instruments; an instrument named
    twice is two players of it (violin I and II), more is refused."""
    names = spec.split(",") if isinstance(spec, str) else [n for s in spec for n in s.split(",")]
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise VimssError("no instruments given; pass e.g. --instruments vn,va,vc")
    chosen = [instrument(name) for name in names]
    for inst in dict.fromkeys(chosen):
        if chosen.count(inst) > PLAYERS_PER_CLASS:
            raise VimssError(
                f"instrument '{inst.abbr}' is given {chosen.count(inst)} times: "
                f"at most {PLAYERS_PER_CLASS} players of one instrument are parted"
            )
    return chosen


@dataclass(frozen=True)
class LineUp:
    """The instruments that play, in the order the user named them: parsed once (from
    `--instruments` or the API's argument) and passed down as it is, so every layer reads
    the same stems' order, mask indices and labels."""

    instruments: tuple[Instrument, ...]

    @classmethod
    def of(cls, spec: LineUp | str | Sequence[str | Instrument]) -> LineUp:
        """ "vn,vc", ["vn", "vc"], Instruments or a LineUp: the API takes what the CLI takes."""
        if isinstance(spec, LineUp):
            return spec
        if isinstance(spec, str):
            return cls(tuple(parse_instruments(spec)))
        return cls(tuple(parse_instruments([i if isinstance(i, str) else i.abbr for i in spec])))

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self.instruments)

    def __len__(self) -> int:
        return len(self.instruments)

    @property
    def abbrs(self) -> list[str]:
        """The stems' names, in order: an instrument's abbreviation, numbered where two players
        play it (vn1 the upper part, vn2 the lower)."""
        seen: dict[str, int] = {}
        names = []
        for abbr in self.classes:
            seen[abbr] = seen.get(abbr, 0) + 1
            names.append(f"{abbr}{seen[abbr]}" if self.classes.count(abbr) > 1 else abbr)
        return names

    @property
    def classes(self) -> list[str]:
        """Each stem's instrument class, in order (an instrument of two players appears twice)."""
        return [i.abbr for i in self.instruments]

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """(upper, lower) stem positions of the instruments that two players play."""
        classes = self.classes
        return [(k, classes.index(a, k + 1)) for k, a in enumerate(classes) if a in classes[k + 1 :]]

    @property
    def sources(self) -> list[int]:
        """The model's mask index of each instrument, in order."""
        return [index(i) for i in self.instruments]

    def labels(self) -> torch.Tensor:
        """The (13,) presence vector label-conditioned models read."""
        return label_vector(list(self.instruments))


def index(inst: Instrument) -> int:
    """Position of the instrument's mask in the model output."""
    return INSTRUMENTS.index(inst)


def label_vector(chosen: list[Instrument]) -> torch.Tensor:
    """The binary presence vector (13,) that label-conditioned models take."""
    labels = torch.zeros(N_INSTRUMENTS)
    for inst in chosen:
        labels[index(inst)] = 1.0
    return labels
