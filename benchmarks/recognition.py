"""Instrument recognition on held-out pieces, and separation with the instruments heard beside
the instruments given (issue 30's measurement).

For every piece of each set (`quality.py`'s sets: the real folds r1, r1-phrases and r2, and the
synthetic fold A `musescore`), the recogniser hears the mix; the table gives each class's
precision and recall over the pieces, the share of pieces whose set of instruments is exactly
right by number of instruments, and the separation model's SI-SDR improvement over the mix on
the piece's true sources, separated with the true line-up and with the heard one. With the
heard line-up, a true instrument that is not heard is scored on the residual (the mix minus
the heard instruments' stems: where its sound is left, and what `--residual` writes). Beside:
the exact sets from other thresholds than HEARD, and how many instruments that play (false
warnings) and that do not (caught phantoms) fall below NOT_HEARD, where `vimss separate -i` warns.

    .venv/bin/python benchmarks/recognition.py [--recognizer NAME_OR_FOLDER] [--model vimss-labels]
        [--set r1 --set r2 ...] [--folder URMP_LAYOUT_DIR ...] [--pieces 40] [--json FILE]

--folder scores other pieces (e.g. a fold's validation pieces, to choose thresholds on) instead
of the four sets, unless --set is given too.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
from pathlib import Path

import torch
from harness import machine
from quality import MIXED, render_set

from vimss_cli.constants import SAMPLE_RATE
from vimss_cli.dsp.metrics import si_sdr
from vimss_cli.evaluation.scoring import load_piece, model_estimates
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.instruments import ABBREVIATIONS
from vimss_cli.nets.checkpoints import load_model, load_recognizer
from vimss_cli.nets.recognizer import HEARD, InstrumentRecognizer
from vimss_cli.recognition import NOT_HEARD
from vimss_cli.separator import Separator

SETS = ("r1", *MIXED, "musescore")
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)


def score_set(name: str, args: argparse.Namespace, recognizer: InstrumentRecognizer, separator: Separator) -> dict:
    folder = Path(name) if name not in SETS else render_set(name, args.pieces, args.workers, False, args.real)
    pieces, _ = urmp_pieces(folder)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()  # (class, "tp"/"fp"/"fn")
    exact: dict[int, list[bool]] = collections.defaultdict(list)
    gains: dict[str, list[float]] = {"given": [], "heard": []}
    heard_all: list[tuple[set[str], list[float]]] = []  # (truth, probabilities) per piece
    for piece in pieces:
        audio = load_piece(piece)
        probabilities = recognizer.hear(audio.mix)
        heard_all.append((set(audio.instruments), probabilities.tolist()))
        heard = [a for a, p in zip(ABBREVIATIONS, probabilities.tolist()) if p >= HEARD] or [
            ABBREVIATIONS[int(probabilities.argmax())]
        ]
        truth = set(audio.instruments)
        for a in ABBREVIATIONS:
            counts[a, "tp"] += a in truth and a in heard
            counts[a, "fp"] += a not in truth and a in heard
            counts[a, "fn"] += a in truth and a not in heard
        exact[len(truth)].append(truth == set(heard))
        mix_scores = si_sdr(audio.references, audio.mix.expand_as(audio.references))
        given = model_estimates(separator, audio)
        stems = separator.separate(audio.mix, SAMPLE_RATE, ",".join(heard))
        residual = audio.mix - sum(stems[a] for a in heard)
        on_heard = torch.stack([stems[a] if a in heard else residual for a in audio.instruments])
        gains["given"] += (si_sdr(audio.references, given) - mix_scores).tolist()
        gains["heard"] += (si_sdr(audio.references, on_heard) - mix_scores).tolist()
    classes = {}
    for a in ABBREVIATIONS:
        tp, fp, fn = counts[a, "tp"], counts[a, "fp"], counts[a, "fn"]
        if tp + fn:
            classes[a] = {
                "precision": tp / (tp + fp) if tp + fp else float("nan"),
                "recall": tp / (tp + fn),
                "pieces": tp + fn,
            }
    playing = [p for truth, ps in heard_all for a, p in zip(ABBREVIATIONS, ps) if a in truth]
    resting = [p for truth, ps in heard_all for a, p in zip(ABBREVIATIONS, ps) if a not in truth]
    result = {
        "pieces": len(pieces),
        "exact_by_threshold": {t: 100 * statistics.fmean(_exact(h, t) for h in heard_all) for t in THRESHOLDS},
        "playing_not_heard": 100 * statistics.fmean(p < NOT_HEARD for p in playing),
        "resting_not_heard": 100 * statistics.fmean(p < NOT_HEARD for p in resting),
        "exact": 100 * statistics.fmean(x for v in exact.values() for x in v),
        "exact_by_n": {n: 100 * statistics.fmean(v) for n, v in sorted(exact.items())},
        "pieces_by_n": {n: len(v) for n, v in sorted(exact.items())},
        "si_sdri_given": statistics.fmean(gains["given"]),
        "si_sdri_heard": statistics.fmean(gains["heard"]),
        "classes": classes,
    }
    _print(name, result)
    return result


def _exact(heard: tuple[set[str], list[float]], threshold: float) -> bool:
    truth, probabilities = heard
    named = {a for a, p in zip(ABBREVIATIONS, probabilities) if p >= threshold}
    return (named or {ABBREVIATIONS[probabilities.index(max(probabilities))]}) == truth


def _print(name: str, r: dict) -> None:
    by_n = ", ".join(f"{n}: {v:.0f} % of {r['pieces_by_n'][n]}" for n, v in r["exact_by_n"].items())
    print(f"\n### Set `{name}`: {r['pieces']} pieces; exact set {r['exact']:.0f} % ({by_n})")
    print(
        f"SI-SDRi with the given instruments {r['si_sdri_given']:+.2f} dB, with the heard ones "
        f"{r['si_sdri_heard']:+.2f} dB ({r['si_sdri_heard'] - r['si_sdri_given']:+.2f})"
    )
    print("exact set from threshold " + ", ".join(f"{t}: {v:.0f} %" for t, v in r["exact_by_threshold"].items()))
    print(
        f"below {NOT_HEARD} (warned about if named): {r['playing_not_heard']:.0f} % of the instruments that play, "
        f"{r['resting_not_heard']:.0f} % of those that do not\n"
    )
    print("| class | " + " | ".join(r["classes"]) + " |")
    print("|---" * (1 + len(r["classes"])) + "|")
    for metric in ("precision", "recall", "pieces"):
        cells = [f"{c[metric]:.2f}" if metric != "pieces" else str(c[metric]) for c in r["classes"].values()]
        print(f"| {metric} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recognizer", help="default: the bundled vimss-recognizer")
    parser.add_argument("--model", default="vimss-labels", help="the separation model")
    parser.add_argument("--set", action="append", choices=SETS, help="default: all four")
    parser.add_argument("--folder", action="append", type=Path, default=[], help="score this URMP-layout folder too")
    parser.add_argument("--real", type=Path, default=Path("data/real"), help="scripts/real_instruments.py's folder")
    parser.add_argument("--pieces", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write {set: results} here")
    args = parser.parse_args()
    recognizer = load_recognizer(args.recognizer)
    separator = Separator(load_model(args.model).model, torch.device("cpu"))
    print(f"Recogniser {recognizer.name} ({recognizer.source}), separation model {args.model}; {machine()}")
    names = [*(args.set or ([] if args.folder else SETS)), *map(str, args.folder)]
    results = {name: score_set(name, args, recognizer.model, separator) for name in names}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
