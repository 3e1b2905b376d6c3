"""Which recordings of a held-out sample set a training set also has (issue 14's folds).

    .venv/bin/python benchmarks/shared_samples.py /usr/share/sounds/sf3/MuseScore_General.sf3 \\
        --train /usr/share/sounds/sf2/FluidR3_GM.sf2 --train <TimGM6mb.sf2>

A fold is held out only if its timbres are. For each instrument class, the samples that its
General MIDI programs (bank 0) play in the held-out set, and how many of them the same programs
of a training set also play. Two samples are taken for the same recording when their headers
(SoundFont `shdr`) have the same sample rate and loop length: a sample converted to mono or to
SF3, or renamed ("tp_c4" -> "Trumpet C4"), keeps those while its name and root key may change.
(The preset data are read directly: sf2utils 1.0.0 fails on these files with an IndexError.)
"""

from __future__ import annotations

import argparse
import itertools
import struct
from pathlib import Path

from vimss_cli.instruments import INSTRUMENTS

PRESET_GENERATOR_INSTRUMENT = 41
INSTRUMENT_GENERATOR_SAMPLE = 53


def _records(chunk: bytes, size: int, fmt: str, offset: int = 0) -> list[tuple]:
    """A `pdta` sub-chunk's records (without the terminal one), each `fmt` unpacked at `offset`."""
    return [struct.unpack_from(fmt, chunk, at + offset) for at in range(0, len(chunk) - size, size)]


def _amounts(bags: list[int], gens: list[tuple], first: int, last: int, operator: int) -> list[int]:
    """The amounts of generator `operator` in zones (bags) first..last-1 of a preset or instrument."""
    return [amount for bag in range(first, last) for op, amount in gens[bags[bag] : bags[bag + 1]] if op == operator]


def program_samples(path: Path) -> dict[int, set[tuple[int, int]]]:
    """For each General MIDI program of bank 0: (rate, loop length) of every sample its
    preset plays, through the preset -> instrument -> sample generators of a SoundFont."""
    data = path.read_bytes()
    at = data.rfind(b"pdta")
    if at < 0:
        raise SystemExit(f"{path}: no preset data (not a SoundFont?)")
    chunks, at = {}, at + 4
    while at + 8 <= len(data):
        name, size = data[at : at + 4].decode("latin-1"), struct.unpack_from("<I", data, at + 4)[0]
        chunks[name], at = data[at + 8 : at + 8 + size], at + 8 + size
    # Each list of first-bag (or first-generator) indices ends with its terminal record's.
    presets = _records(chunks["phdr"], 38, "<HHH", 20)  # program, bank, first bag
    pbags = [bag for (bag,) in _records(chunks["pbag"], 4, "<H")] + [len(chunks["pgen"]) // 4 - 1]
    instruments = [bag for (bag,) in _records(chunks["inst"], 22, "<H", 20)] + [len(chunks["ibag"]) // 4 - 1]
    ibags = [gen for (gen,) in _records(chunks["ibag"], 4, "<H")] + [len(chunks["igen"]) // 4 - 1]
    samples = [(rate, end - start) for _, _, start, end, rate in _records(chunks["shdr"], 46, "<5I", 20)]
    igens, pgens = _records(chunks["igen"], 4, "<HH"), _records(chunks["pgen"], 4, "<HH")
    plays = [
        {samples[s] for s in _amounts(ibags, igens, first, last, INSTRUMENT_GENERATOR_SAMPLE)}
        for first, last in itertools.pairwise(instruments)
    ]
    ends = [bag for _, _, bag in presets[1:]] + [len(pbags) - 1]
    found: dict[int, set[tuple[int, int]]] = {}
    for (program, bank, first), last in zip(presets, ends, strict=True):
        if bank == 0:
            for inst in _amounts(pbags, pgens, first, last, PRESET_GENERATOR_INSTRUMENT):
                found.setdefault(program, set()).update(plays[inst])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("held_out", type=Path)
    parser.add_argument("--train", type=Path, action="append", required=True)
    args = parser.parse_args()
    trained = [program_samples(path) for path in args.train]
    held_out = program_samples(args.held_out)
    print(f"| class | samples of {args.held_out.name} | also in {', '.join(p.name for p in args.train)} |")
    print("|---|---|---|")
    for instrument in INSTRUMENTS:
        played = set().union(*(held_out.get(program, set()) for program in instrument.gm_programs))
        heard = set().union(*(t.get(program, set()) for t in trained for program in instrument.gm_programs))
        print(f"| {instrument.abbr} | {len(played)} | {len(played & heard)} |")


if __name__ == "__main__":
    main()
