"""Issue 27's real recordings: fetched into one folder and laid out for training and held-out folds.

    .venv/bin/python scripts/real_instruments.py data/real                       # git clone + npm pack
    .venv/bin/python scripts/real_instruments.py data/real --mirror /work/.mirror  # bare git snapshots here

1. Sources: each lands in `DEST/sources/<name>/` as its repository or package lays it out, with
   `SOURCE.json` (where it came from, its terms) and, for notes, a `library.json` that makes the
   folder a sample set: `vimss synth --soundfont DEST/sources/<name>` plays its recorded notes.
   `--mirror DIR` reads bare git directories `DIR/<owner>+<name>/repo` instead of cloning; files
   their snapshots left out are skipped and counted.
2. Phrases, as solo recordings (Solos layout, `vimss_cli/synth/phrases.py`) in `DEST/phrases/`:
   - `philharmonia-train`: the Philharmonia's phrases but the held-out quarter (by a hash of the
     file name, the same on every machine); `philharmonia-heldout-val`, `-test`: that quarter, in
     halves (fold R2: real playing by the players and room whose notes training plays);
   - `other-val`, `other-test`: Bach's solo violin and the Medley-solos clips, in halves by file
     (fold R1, with the sample libraries of no Philharmonia player: no row trains on them).
3. Test pieces mixed from the test halves (URMP layout, for `benchmarks/quality.py`):
   `DEST/folds/r2-test`, `DEST/folds/r1-phrases-test`. The rendered folds come from
   `scripts/real_corpus.sh`.

Rerunning skips what is complete. URMP, Bach10, TRIOS and PHENICX are evaluation sets and are
never fetched here. No audio of these sources is committed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    """github owner/name, or npm:<package> for an npm package."""
    paths: tuple[str, ...]
    """What to take from it (folders or files); () takes everything."""
    licence: str
    what: str
    library: dict | None = None
    """What `library.json` says of its notes (vimss_cli/synth/libraries.py), for the sampler; None: no notes."""


def _sfz(instrument: str, *programs: str, articulation: str = "sustain", samples_from: str = "") -> list[dict]:
    extra = {"samples_from": samples_from} if samples_from else {}
    return [{"instrument": instrument, "sfz": p, "articulation": articulation, **extra} for p in programs]


def _arco_pizz(instrument: str, arco: str, pizz: str) -> list[dict]:
    """A string library's bowed program and its pizzicato one."""
    return _sfz(instrument, arco) + _sfz(instrument, pizz, articulation="pizzicato")


MICS = ("dynamic", "condenser")
"""Weresax' two microphones: the same takes, two colours (War Tuba's: TUBA_MICS)."""
TUBA_MICS = ("dyn", "cnd")
VSCO = [
    "violin",
    "cello",
    "contrabass",
    "flute",
    "clarinet",
    "bassoon",
    "saxophone",
    "trumpet",
    "french-horn",
    "trombone",
    "tuba",
]
"""The tonejs-instrument-<name>-mp3 packages (VSCO-2 notes; no viola or oboe among them)."""
SOURCES = (
    Source(
        "philharmonia",
        "jurihock/philharmonia",
        ("data",),
        "no licence in the repository; the Philharmonia's terms allow use of the samples, not their redistribution",
        "Philharmonia Orchestra samples: notes of 0.25-1.5 s, long and very long, pp-ff, articulations, phrases",
        {"format": "philharmonia", "folder": "data"},
    ),
    Source(
        "bach-violin",
        "salu133445/bach-violin-dataset",
        ("bach-violin/audio", "bach-violin/audio.csv", "bach-violin/README"),
        "CC BY / CC BY-NC / public domain, per performer folder (its LICENSE)",
        "concert performances of Bach's sonatas and partitas for solo violin",
    ),
    Source(
        "weresax",
        "sfzinstruments/karoryfer.weresax",
        (),
        "CC0",
        "Karoryfer Weresax: alto saxophone, SFZ",
        {
            "format": "sfz",
            "programs": _sfz("sax", *(f"Programs/alto_map_{d}_{m}.sfz" for d in ("forte", "piano") for m in MICS)),
        },
    ),
    Source(
        "war-tuba",
        "sfzinstruments/karoryfer.war-tuba",
        (),
        "CC0",
        "Karoryfer War Tuba, SFZ",
        {
            "format": "sfz",
            # Programs/legato/* are #included by Programs/*.sfz: their sample paths start there.
            "programs": _sfz("tba", *(f"Programs/legato/sustain_{m}.sfz" for m in TUBA_MICS), samples_from="Programs")
            + _sfz(
                "tba",
                *(f"Programs/legato/staccato_{m}.sfz" for m in TUBA_MICS),
                articulation="staccato",
                samples_from="Programs",
            ),
        },
    ),
    Source(
        "meatbass",
        "sfzinstruments/karoryfer.meatbass",
        (),
        "CC0",
        "Karoryfer Meatbass: double bass, SFZ",
        {
            "format": "sfz",
            "programs": _arco_pizz("db", "Programs/02_arco_3vel.sfz", "Programs/04_pizz.sfz"),
        },
    ),
    Source(
        "smolken-bass",
        "sfzinstruments/dsmolken.double-bass",
        (),
        "CC0",
        "D. Smolken double bass, SFZ",
        {
            "format": "sfz",
            "programs": _arco_pizz("db", "d_smolken_rubner_bass_arco.sfz", "d_smolken_rubner_bass_pizz.sfz"),
        },
    ),
    Source(
        "mtg-sax",
        "sfzinstruments/MTG.SoloSax",
        (),
        "CC BY 4.0",
        "MTG Solo Sax: soprano, alto, tenor, baritone",
        {
            "format": "sfz",
            "programs": _sfz(
                "sax", *(f"MTG Solo Saxophones/MTG {s} Sax.sfz" for s in ("Soprano", "Alto", "Tenor", "Baritone"))
            ),
        },
    ),
    Source(
        "iowa",
        "sinasab/ML_Project",
        ("data",),
        "none stated",
        "University of Iowa MIS ff notes: cl, fl, ob, tpt",
        {
            "format": "iowa",
            "instruments": {"cl": "data/BbClarinet", "fl": "data/flute", "ob": "data/oboe", "tpt": "data/trumpet"},
        },
    ),
    Source(
        "medley",
        "koerthawkins/neuroment2",
        ("data/medley-solos-db-small",),
        "Medley-solos-DB: CC BY 4.0",
        "3-s real solo clips (Medley-solos-DB): cl, fl, sax, tpt, vn",
    ),
    *(
        Source(
            f"vsco-{n}",
            f"npm:tonejs-instrument-{n}-mp3",
            (),
            "see package.json (MIT; VSCO-2 CE samples)",
            n,
            {"format": "named-notes", "instrument": n.replace("-", " ")},
        )
        for n in VSCO
    ),
)
R1 = ("weresax", "war-tuba", "meatbass", "smolken-bass", "mtg-sax", "iowa", *(f"vsco-{n}" for n in VSCO))
"""Fold R1's libraries: players and rooms no ablation row trains on (their validation and test
pieces are played with them; folds/r1-libraries.txt lists them for real_corpus.sh and quality.py)."""
RESERVED = ("urmp", "bach10", "trios", "phenicx", "mukulkant-mikemighty/bss")
"""Outside-evaluation sets: never fetched for training or validation."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--mirror", type=Path, help="folder of bare git mirrors <owner>+<name>/repo")
    parser.add_argument("--only", action="append", help="fetch only these sources (repeatable), then stop")
    args = parser.parse_args()
    fetch([s for s in SOURCES if not args.only or s.name in args.only], args.dest / "sources", args.mirror)
    if not args.only:
        lay_out(args.dest)


def fetch(sources: list[Source], dest: Path, mirror: Path | None) -> None:
    for source in sources:
        assert not any(r in source.repo.lower() for r in RESERVED), source
        target = dest / source.name
        if source.library is not None:
            library = {"name": source.name, **source.library}
        if (target / "SOURCE.json").is_file():
            if source.library is not None:
                (target / "library.json").write_text(json.dumps(library, indent=1) + "\n")
            print(f"{source.name}: present")
            continue
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        if source.repo.startswith("npm:"):
            got, missing = _npm(source.repo.removeprefix("npm:"), target)
        elif mirror is not None:
            got, missing = _from_mirror(mirror / source.repo.replace("/", "+") / "repo", source.paths, target)
        else:
            got, missing = _clone(source.repo, source.paths, target)
        record = {"repo": source.repo, "licence": source.licence, "what": source.what, "files": got}
        if missing:
            record["missing"] = missing
        (target / "SOURCE.json").write_text(json.dumps(record, indent=1) + "\n")
        if source.library is not None:
            (target / "library.json").write_text(json.dumps(library, indent=1) + "\n")
        print(f"{source.name}: {got} files" + (f" ({missing} left out by the snapshot)" if missing else ""))


HELD_OUT = 0.25
"""Share of the Philharmonia's phrases held out (fold R2), per instrument, by a hash of each file name."""
MEDLEY_CLASSES = {"0": "cl", "3": "fl", "5": "sax", "6": "tpt", "7": "vn"}
"""Medley-solos-DB's labels that are classes here (1 guitar, 2 voice, 4 piano are not)."""


def lay_out(dest: Path) -> None:
    """Phrases as solo recordings (train, held-out halves) and the test pieces mixed from them."""
    from vimss_cli.synth.libraries import PHILHARMONIA_CLASSES
    from vimss_cli.synth.phrases import Mixtures, Take, hold_out, write_mixtures, write_solos

    sources = dest / "sources"
    philharmonia = [
        Take(p, PHILHARMONIA_CLASSES[p.name.split("_")[0]], "philharmonia")
        for p in sorted((sources / "philharmonia").rglob("*_phrase_*.mp3"))
        if p.name.split("_")[0] in PHILHARMONIA_CLASSES
    ]
    bach = [Take(p, "vn", "bach-violin") for p in sorted((sources / "bach-violin").rglob("*")) if _audio(p)]
    labels = {
        p: re.search(r"_(?:test|training|validation)-(\d)_", p.name) for p in (sources / "medley").rglob("*.flac")
    }
    medley = [
        Take(p, MEDLEY_CLASSES[m.group(1)], "medley")
        for p, m in sorted(labels.items())
        if m is not None and m.group(1) in MEDLEY_CLASSES
    ]
    train, r2_val, r2_test = hold_out(philharmonia, HELD_OUT)
    _, r1_val, r1_test = hold_out(bach + medley, 1.0)
    sets = {
        "philharmonia-train": train,
        "philharmonia-heldout-val": r2_val,
        "philharmonia-heldout-test": r2_test,
        "other-val": r1_val,
        "other-test": r1_test,
    }
    for name, takes in sets.items():
        segments = write_solos(takes, dest / "phrases" / name)
        print(f"phrases/{name}: {len(takes)} recordings, {segments} segments")
    (dest / "folds").mkdir(parents=True, exist_ok=True)
    (dest / "folds" / "r1-libraries.txt").write_text("\n".join(R1) + "\n")
    for name, solos in (("r2-test", "philharmonia-heldout-test"), ("r1-phrases-test", "other-test")):
        pieces = write_mixtures(dest / "phrases" / solos, dest / "folds" / name, Mixtures(pieces=40, seed=3))
        print(f"folds/{name}: {pieces} pieces")


def _audio(path: Path) -> bool:
    return path.suffix.lower() in (".mp3", ".opus", ".flac", ".wav", ".m4a")


def _from_mirror(git_dir: Path, paths: tuple[str, ...], target: Path) -> tuple[int, int]:
    """Every blob under `paths` that the bare mirror holds (its snapshot leaves out files >= 4 MiB)."""
    if not git_dir.is_dir():
        sys.exit(f"error: no mirror at {git_dir}")
    listing = subprocess.run(
        ["git", "-C", str(git_dir), "ls-tree", "-r", "HEAD", "--", *paths], check=True, capture_output=True, text=True
    ).stdout
    entries = [line.split("\t", 1) for line in listing.splitlines()]
    got = missing = 0
    with subprocess.Popen(
        ["git", "-C", str(git_dir), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as batch:
        assert batch.stdin is not None and batch.stdout is not None
        for meta, path in entries:
            blob = meta.split()[2]
            batch.stdin.write(blob.encode() + b"\n")
            batch.stdin.flush()
            header = batch.stdout.readline().split()
            if header[-1] == b"missing":
                missing += 1
                continue
            data = batch.stdout.read(int(header[2]))
            batch.stdout.read(1)
            out = target / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            got += 1
        batch.stdin.close()
    return got, missing


def _clone(repo: str, paths: tuple[str, ...], target: Path) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "clone", "-q", "--depth", "1", f"https://github.com/{repo}", tmp], check=True)
        for path in paths or [p.name for p in Path(tmp).iterdir() if p.name != ".git"]:
            src, dst = Path(tmp) / path, target / path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dst) if src.is_dir() else shutil.copy2(src, dst)
    return sum(1 for p in target.rglob("*") if p.is_file()), 0


def _npm(package: str, target: Path) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "-q", package], cwd=tmp, check=True, capture_output=True)
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        for item in (Path(tmp) / "package").iterdir():
            shutil.move(str(item), target / item.name)
    return sum(1 for p in target.rglob("*") if p.is_file()), 0


if __name__ == "__main__":
    main()
