"""Fetch the real-instrument recordings of issue 27 into one folder (none of their audio is committed).

    .venv/bin/python scripts/fetch_real_instruments.py data/real/sources               # git clone + npm pack
    .venv/bin/python scripts/fetch_real_instruments.py data/real/sources --mirror /work/.mirror

Each source lands in `DEST/<name>/` as its repository or package lays it out, with a `SOURCE.json`
saying where it came from and under which terms; `vimss synth --soundfont DEST/<name>` plays its
notes and `scripts/real_phrases.py` turns its phrases into solo recordings. `--mirror DIR` reads
bare git directories `DIR/<owner>+<name>/repo` (machines that reach no GitHub) instead of cloning;
files their snapshots left out are skipped and counted. Rerunning skips what is complete.
URMP, Bach10, TRIOS and PHENICX are evaluation sets and are never fetched here.
"""

from __future__ import annotations

import argparse
import json
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
    ),
    Source(
        "bach-violin",
        "salu133445/bach-violin-dataset",
        ("bach-violin/audio", "bach-violin/audio.csv", "bach-violin/README"),
        "CC BY / CC BY-NC / public domain, per performer folder (its LICENSE)",
        "concert performances of Bach's sonatas and partitas for solo violin",
    ),
    Source("weresax", "sfzinstruments/karoryfer.weresax", (), "CC0", "Karoryfer Weresax: alto saxophone, SFZ"),
    Source("war-tuba", "sfzinstruments/karoryfer.war-tuba", (), "CC0", "Karoryfer War Tuba, SFZ"),
    Source("meatbass", "sfzinstruments/karoryfer.meatbass", (), "CC0", "Karoryfer Meatbass: double bass, SFZ"),
    Source("smolken-bass", "sfzinstruments/dsmolken.double-bass", (), "CC0", "D. Smolken double bass, SFZ"),
    Source("mtg-sax", "sfzinstruments/MTG.SoloSax", (), "CC BY 4.0", "MTG Solo Sax: soprano, alto, tenor, baritone"),
    Source("iowa", "sinasab/ML_Project", ("data",), "none stated", "University of Iowa MIS ff notes: cl, fl, ob, tpt"),
    Source(
        "medley",
        "koerthawkins/neuroment2",
        ("data/medley-solos-db-small",),
        "Medley-solos-DB: CC BY 4.0",
        "3-s real solo clips (Medley-solos-DB): cl, fl, sax, tpt, vn",
    ),
    *(
        Source(f"vsco-{n}", f"npm:tonejs-instrument-{n}-mp3", (), "see package.json (MIT; VSCO-2 CE samples)", n)
        for n in VSCO
    ),
)
RESERVED = ("urmp", "bach10", "trios", "phenicx", "mukulkant-mikemighty/bss")
"""Outside-evaluation sets: never fetched for training or validation."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--mirror", type=Path, help="folder of bare git mirrors <owner>+<name>/repo")
    parser.add_argument("--only", action="append", help="fetch only these sources (repeatable)")
    args = parser.parse_args()
    chosen = [s for s in SOURCES if not args.only or s.name in args.only]
    for source in chosen:
        assert not any(r in source.repo.lower() for r in RESERVED), source
        target = args.dest / source.name
        if (target / "SOURCE.json").is_file():
            print(f"{source.name}: present")
            continue
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        if source.repo.startswith("npm:"):
            got, missing = _npm(source.repo.removeprefix("npm:"), target)
        elif args.mirror is not None:
            got, missing = _from_mirror(args.mirror / source.repo.replace("/", "+") / "repo", source.paths, target)
        else:
            got, missing = _clone(source.repo, source.paths, target)
        record = {"repo": source.repo, "licence": source.licence, "what": source.what, "files": got}
        if missing:
            record["missing"] = missing
        (target / "SOURCE.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"{source.name}: {got} files" + (f" ({missing} left out by the snapshot)" if missing else ""))


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
