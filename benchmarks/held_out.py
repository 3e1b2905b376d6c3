"""Which recordings the real folds hold out, and whether any training folder plays them.

    .venv/bin/python benchmarks/held_out.py --train data/solos-philharmonia \\
        --train data/real/phrases/philharmonia-train --fold data/real/folds/r1-pieces-val \\
        --fold data/real/phrases/other-val --fold data/real/phrases/philharmonia-heldout-val

A folder's recordings are read from its manifest: a `vimss synth` folder's sample sets and, for
libraries of recorded notes, every recording its players used (`recordings`); a phrases folder
(scripts/real_instruments.py) the file each segment was cut from. Two recordings are one when
their bytes are (SHA-1), whatever their names. For each fold and instrument: how many recordings
it plays, and how many of them a training folder plays too (0 means held out). Sample sets that
are GM soundfonts are compared by file in the same way (a fold rendered with one shares nothing
with training on another).
"""

from __future__ import annotations

import argparse
import collections
import functools
import hashlib
import json
from pathlib import Path


@functools.cache
def digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def recordings(folder: Path, sources: Path) -> dict[str, set[Path]]:
    """Instrument -> the recordings (files) `folder` plays."""
    manifest = json.loads((folder / "manifest.json").read_text())
    found: dict[str, set[Path]] = collections.defaultdict(set)
    if "segments" in manifest:
        for segment in manifest["segments"].values():
            found[segment["instrument"]].add(Path(segment["source"]))
        return found
    for item in manifest["items"]:
        for part in item["parts"]:
            sample_set = part.get("sample_set", item.get("soundfont"))
            library = sources / sample_set
            if "recordings" in part:
                found[part["instrument"]].update(library / r for r in part["recordings"])
            else:  # a soundfont or the physical models: the file itself stands for its recordings
                found[part["instrument"]].add(Path(sample_set))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", action="append", type=Path, required=True)
    parser.add_argument("--fold", action="append", type=Path, required=True)
    parser.add_argument("--sources", type=Path, default=Path("data/real/sources"))
    args = parser.parse_args()
    trained: dict[str, set[str]] = collections.defaultdict(set)
    for folder in args.train:
        for abbr, files in recordings(folder, args.sources).items():
            trained[abbr] |= {digest(f) if f.is_file() else f.name for f in files}
    for fold in args.fold:
        held = recordings(fold, args.sources)
        print(f"\n{fold}: recordings it plays / of them also in training")
        print("| " + " | ".join(sorted(held)) + " |\n" + "|---" * len(held) + "|")
        counts = []
        for abbr in sorted(held):
            keys = {digest(f) if f.is_file() else f.name for f in held[abbr]}
            counts.append(f"{len(keys)} / {len(keys & trained[abbr])}")
        print("| " + " | ".join(counts) + " |")


if __name__ == "__main__":
    main()
