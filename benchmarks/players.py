"""Two players of one instrument (issue 30, part 2): each player's stem against the trivial answer.

On held-out pieces in which two neighbouring parts play one instrument (scripts/players_corpus.sh:
test-split scores, played with fold R1's libraries of real recordings, `doubled-test-r1`, or with
MuseScore_General, `doubled-test-ms`; no training set has either), the separation model separates
each piece conditioned on its instruments twice: with the player splitter (`-i vn,vn,...`: vn1 and
vn2), and without (`-i vn,...`: each player gets half the instrument's stem, the answer of a model
that parts no players). Both are scored like `vimss evaluate` (whole pieces, 11025 Hz mono): each
player's SI-SDR improvement over the mix, by class, and the instruments' summed stems beside.

    .venv/bin/python benchmarks/players.py [--model vimss-labels] [--splitter benchmarks/ablation/players-splitter-600]
        [--folder data/real/folds/doubled-test-r1 --folder ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import statistics
from collections.abc import Callable
from pathlib import Path

import torch
from harness import machine

from vimss_cli.evaluation.scoring import PieceAudio, evaluate, model_estimates, oracle_estimates
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.nets.checkpoints import load_model, load_splitter
from vimss_cli.separator import Separator

FOLDERS = ("data/real/folds/doubled-test-r1", "data/real/folds/doubled-test-ms")


def improvements(rows: list[dict], method: str) -> dict[tuple[str, str], float]:
    """(piece, row) -> SI-SDR of `method` minus the mix's."""
    mix = {(r["piece"], r["instrument"]): r["si_sdr"] for r in rows if r["method"] == "mix"}
    return {
        (r["piece"], r["instrument"]): r["si_sdr"] - mix[r["piece"], r["instrument"]]
        for r in rows
        if r["method"] == method
    }


def table(rows: list[dict]) -> dict[str, dict[str, float]]:
    parted, half = improvements(rows, "parted"), improvements(rows, "half")
    players = [k for k in parted if k[1][-1].isdigit()]
    summed = [k for k in parted if not k[1][-1].isdigit() and any(p[0] == k[0] and p[1][:-1] == k[1] for p in players)]
    by_class: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for key in players:
        by_class[key[1][:-1]].append(key)
    out = {}
    for name, keys in [("players", players), *sorted(by_class.items()), ("their instruments, summed", summed)]:
        out[name] = {
            "n": len(keys),
            "splitter": statistics.fmean(parted[k] for k in keys),
            "half the stem": statistics.fmean(half[k] for k in keys),
            "gain": statistics.fmean(parted[k] - half[k] for k in keys),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vimss-labels")
    parser.add_argument("--splitter", default="benchmarks/ablation/players-splitter-600")
    parser.add_argument("--folder", action="append", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = load_model(args.model).model
    splitter = load_splitter(args.splitter).model
    estimators: dict[str, Callable[[PieceAudio], torch.Tensor]] = {
        "parted": functools.partial(model_estimates, Separator(model, splitter=splitter)),
        "half": functools.partial(model_estimates, Separator(model)),
        "mix": functools.partial(oracle_estimates, "mix"),
    }
    print(f"{machine()}; model {args.model}, splitter {args.splitter}; SI-SDRi over the mix (dB)")
    report = {}
    for folder in args.folder or [Path(f) for f in FOLDERS]:
        pieces = [p for p in urmp_pieces(folder)[0] if any(len(v) == 2 for v in p.sources.values())]
        rows = evaluate(pieces, estimators)
        report[folder.name] = result = table(rows)
        print(f"\n{folder.name}: {len(pieces)} pieces")
        print("| rows | n | splitter | half the stem | gain |\n|---|---|---|---|---|")
        for name, v in result.items():
            print(f"| {name} | {v['n']} | {v['splitter']:+.2f} | {v['half the stem']:+.2f} | {v['gain']:+.2f} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
