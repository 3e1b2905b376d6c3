"""Does the visual model make things worse than the labels alone when the pictures mean nothing?

The held-out synthetic video set (the `old` set of quality.py with videos) is scored by
`vimss evaluate` with vimss-visual and vimss-labels, four times: with its own videos and the
players' recorded boxes, with its own videos and the players found by the detector, and
with every video replaced by random noise frames or by a real photograph of people (the
ones that ship in ultralytics and matplotlib) over the same audio, where detection finds
no or other players and equal strips stand in. The issue's bound: vimss-visual within
0.3 dB SI-SDR of vimss-labels on the meaningless pictures.

    .venv/bin/python benchmarks/visual_robustness.py [--pieces 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

import numpy as np
import soundfile as sf
from harness import WORK
from quality import render_set, vimss

from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.synth.video import encode_video


def photos() -> dict[str, np.ndarray]:
    import matplotlib
    import ultralytics
    from PIL import Image

    assets = Path(ultralytics.__file__).parent / "assets"
    found = {name: Image.open(assets / f"{name}.jpg") for name in ("zidane", "bus")}
    found["grace_hopper"] = Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    return {name: np.asarray(image.convert("RGB").resize((320, 180))) for name, image in found.items()}


def variant(source: Path, name: str, pictures: list[np.ndarray] | None, keep_boxes: bool) -> Path:
    """A copy of the set whose videos show `pictures` in turn (None: their own; [] : noise)."""
    out = WORK / f"visual-{name}-{source.name}"
    if out.exists():
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=None if keep_boxes else shutil.ignore_patterns("manifest.json"))
    rng = np.random.default_rng(0)
    pieces, _ = urmp_pieces(tmp)
    for k, piece in enumerate(pieces):
        if pictures is None or piece.video is None:
            continue
        mix, sr = sf.read(piece.mix, dtype="int16")
        frames = max(1, round(len(mix) / sr * 15))
        still = pictures[k % len(pictures)] if pictures else None
        shown = (
            still if still is not None else rng.integers(0, 256, (180, 320, 3), dtype=np.uint8) for _ in range(frames)
        )
        piece.video.write_bytes(encode_video(shown, mix, sr))
    tmp.rename(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pieces", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    source = render_set("old", args.pieces, args.workers, video=True)
    cases = {
        "own videos, recorded boxes": variant(source, "recorded", None, keep_boxes=True),
        "own videos, detected players": variant(source, "detected", None, keep_boxes=False),
        "noise frames": variant(source, "noise", [], keep_boxes=False),
        "real photographs": variant(source, "photos", list(photos().values()), keep_boxes=False),
    }
    print(f"{args.pieces} held-out pieces with videos; mean SI-SDR of the separated sources (dB)\n")
    print("| pictures | vimss-visual | vimss-labels | visual - labels |")
    print("|---|---|---|---|")
    results = {}
    for name, data in cases.items():
        out = WORK / "visual-robustness" / data.name
        vimss(
            "evaluate",
            str(data),
            "-m",
            "vimss-visual",
            "-m",
            "vimss-labels",
            "--no-oracles",
            "-o",
            str(out),
            "-d",
            "cpu",
            "--workers",
            str(args.workers),
        )
        rows = json.loads((out / "results.json").read_text())["rows"]
        visual, labels = (
            statistics.fmean(r["si_sdr"] for r in rows if r["method"] == m) for m in ("vimss-visual", "vimss-labels")
        )
        results[name] = {"vimss-visual": visual, "vimss-labels": labels}
        print(f"| {name} | {visual:.2f} | {labels:.2f} | {visual - labels:+.2f} |")
    (WORK / "visual-robustness" / "summary.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
