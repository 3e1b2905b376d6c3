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
import struct
from pathlib import Path

from vimss_cli.instruments import INSTRUMENTS

PRESET_GENERATOR_INSTRUMENT = 41
INSTRUMENT_GENERATOR_SAMPLE = 53


def _records(chunk: bytes, size: int, fmt: str, offset: int = 0) -> list[tuple]:
    """A `pdta` sub-chunk's records (without the terminal one), each `fmt` unpacked at `offset`."""
    return [struct.unpack_from(fmt, chunk, at + offset) for at in range(0, len(chunk) - size, size)]


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
    presets = _records(chunks["phdr"], 38, "<HHH", 20)  # program, bank, first bag
    pbags = [bag for (bag,) in _records(chunks["pbag"], 4, "<H")] + [len(chunks["pgen"]) // 4 - 1]
    pgens = _records(chunks["pgen"], 4, "<HH")
    instruments = [bag for (bag,) in _records(chunks["inst"], 22, "<H", 20)] + [len(chunks["ibag"]) // 4 - 1]
    ibags = [gen for (gen,) in _records(chunks["ibag"], 4, "<H")] + [len(chunks["igen"]) // 4 - 1]
    igens = _records(chunks["igen"], 4, "<HH")
    samples = [(rate, end - start) for _, _, start, end, rate in _records(chunks["shdr"], 46, "<5I", 20)]
    ends = [bag for _, _, bag in presets[1:]] + [len(pbags) - 1]
    found: dict[int, set[tuple[int, int]]] = {}
    for (program, bank, first), last in zip(presets, ends, strict=True):
        if bank != 0:
            continue
        for bag in range(first, last):
            for op, inst in pgens[pbags[bag] : pbags[bag + 1]]:
                if op != PRESET_GENERATOR_INSTRUMENT:
                    continue
                for ibag in range(instruments[inst], instruments[inst + 1]):
                    for iop, sample in igens[ibags[ibag] : ibags[ibag + 1]]:
                        if iop == INSTRUMENT_GENERATOR_SAMPLE:
                            found.setdefault(program, set()).add(samples[sample])
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
