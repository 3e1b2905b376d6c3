"""The bundled models' quality, pinned (as Open-Unmix's test_regression): each separates its
example through the Python API, and each stem's SI-SDR against the example's reference
parts (`examples/reference/`, made by examples/make_examples.py) must stay where it was
measured. A change that degrades a bundled model, or the separation path, fails here."""

import functools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from tests.helpers import ROOT
from vimss_cli import Separator, hear_file, load_model, load_recognizer, separate_media
from vimss_cli.dsp.metrics import si_sdr
from vimss_cli.video.detector import bundled_detector_dir, load_detector

EXAMPLES = ROOT / "examples"
PINNED = {
    # model: (example, {instrument: SI-SDR in dB of its stem against the reference part})
    "vimss-labels": ("duet.flac", {"vn": 8.07, "vc": 6.52}),
    "vimss-wave": ("duet.flac", {"vn": -0.02, "vc": 5.51}),
    "vimss-visual": ("quartet.mp4", {"vn": 0.32, "va": -0.98, "vc": 0.45}),
}
TOLERANCE_DB = 0.05
"""Across CPUs and BLAS paths the floats differ in their last digits (a thousandth of a dB here);
a retrained model moves a stem by more (issue 27's moved the cello by 0.22 dB, the violin by 0.04)."""


def stem_scores(model: str, example: str, instruments: list[str], out: Path) -> dict[str, float]:
    separator = Separator(load_model(model).model, "cpu")
    # The bundled detector finds the players, wherever the COCO one could be downloaded.
    detector = functools.cache(lambda: load_detector(bundled_detector_dir()))
    stems = separate_media(separator, EXAMPLES / example, out, ",".join(instruments), detector=detector)
    scores = {}
    for abbr in instruments:
        reference, rate = sf.read(EXAMPLES / "reference" / Path(example).stem / f"{abbr}.flac", dtype="float32")
        stem, stem_rate = sf.read(stems[abbr], dtype="float32", always_2d=True)
        mono = torchaudio.functional.resample(torch.from_numpy(stem.mean(axis=1)), stem_rate, rate)
        n = min(len(reference), len(mono))
        scores[abbr] = float(si_sdr(torch.from_numpy(reference[:n]), mono[:n]))
    return scores


@pytest.mark.parametrize("model", sorted(PINNED))
def test_a_bundled_model_separates_its_example_as_measured(model, tmp_path):
    example, pinned = PINNED[model]
    scores = stem_scores(model, example, list(pinned), tmp_path)
    print(model, {k: round(v, 2) for k, v in scores.items()})
    for abbr, expected in pinned.items():
        assert abs(scores[abbr] - expected) <= TOLERANCE_DB, (abbr, scores[abbr], expected)
    assert np.isfinite(list(scores.values())).all()


HEARD_IN_THE_DUET = {"vn": 0.699, "vc": 0.443, "db": 0.320, "cl": 0.039}
"""The bundled recogniser's probabilities for examples/duet.flac (violin and cello): it hears the
violin, not enough of the cello, and a double bass that does not play (the README says how well it hears)."""


def test_the_bundled_recogniser_hears_the_duet_as_measured():
    heard = hear_file(load_recognizer().model, EXAMPLES / "duet.flac")
    assert heard.line_up.abbrs == ["vn"]
    for abbr, expected in HEARD_IN_THE_DUET.items():
        assert abs(heard.probabilities[abbr] - expected) <= 0.005, (abbr, heard.probabilities[abbr], expected)
