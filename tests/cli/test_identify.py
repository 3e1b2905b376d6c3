"""Hearing the instruments through the real entry point: `vimss identify`, `vimss separate` without
-i, and the warnings about a named instrument that is not heard."""

import json
import math
from pathlib import Path

import pytest
import soundfile as sf
import torch

from tests.helpers import ROOT, assert_one_line_error, stem_files, vimss
from tests.nets.test_recognizer import tiny_recognizer
from vimss_cli.instruments import ABBREVIATIONS
from vimss_cli.nets.checkpoints import save_pretrained

HEARS = {"vn": 0.9, "va": 0.7, "vc": 0.8, "db": 0.02}
"""What the fixed recogniser hears in every file (0.3 for every other class)."""


@pytest.fixture
def recognizer_dir(tmp_path: Path) -> Path:
    """A real recogniser whose classifier ignores its input: zero weights, each class's logit as its bias."""
    model = tiny_recognizer()
    torch.nn.init.zeros_(model.classifier.weight)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([math.log(p / (1 - p)) for p in map(_probability, ABBREVIATIONS)]))
    return save_pretrained(model, tmp_path / "fixed-hearing")


def _probability(abbr: str) -> float:
    return HEARS.get(abbr, 0.3)


def test_identify_prints_what_it_hears_and_one_bad_input_stops_no_other(tmp_path, recognizer_dir, mix_wav):
    (tmp_path / "bad.wav").write_bytes(b"RIFF" + bytes(40))
    result = vimss("identify", mix_wav, tmp_path / "bad.wav", "--recognizer", recognizer_dir)
    assert result.exit_code == 1
    assert "vn, va, vc" in result.stdout and "vn 0.90" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error:") and "bad.wav" in lines[0] and lines[-1] == "error: 1 of 2 inputs failed"
    as_json = vimss("identify", mix_wav, "--recognizer", recognizer_dir, "--json")
    assert as_json.exit_code == 0, as_json.output
    track = json.loads(as_json.stdout)["tracks"][0]
    assert track["instruments"] == ["vn", "va", "vc"]
    assert track["probabilities"] == pytest.approx({a: _probability(a) for a in ABBREVIATIONS}, abs=1e-4)


def test_separate_without_instruments_separates_what_it_hears(tmp_path, recognizer_dir, model_dir, mix_wav):
    out = tmp_path / "out"
    result = vimss("separate", mix_wav, "-m", model_dir, "--recognizer", recognizer_dir, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "heard: vn, va, vc"
    assert stem_files(out / "tiny-labels" / "quartet") == ["va.wav", "vc.wav", "vn.wav"]
    summary = json.loads(result.stdout)
    assert summary["recognizer"] == "fixed-hearing"
    assert summary["tracks"][0]["instruments"] == ["vn", "va", "vc"]
    assert summary["tracks"][0]["probabilities"]["db"] == pytest.approx(0.02, abs=1e-4)
    frames = {sf.info(out / "tiny-labels" / "quartet" / f).frames for f in ("vn.wav", "va.wav", "vc.wav")}
    assert frames == {sf.info(mix_wav).frames}


def test_named_instruments_not_heard_and_heard_ones_not_named_are_warned_about(
    tmp_path, recognizer_dir, model_dir, mix_wav
):
    args = ("separate", mix_wav, "-m", model_dir, "--recognizer", recognizer_dir, "-o", tmp_path / "out")
    result = vimss(*args, "-i", "vn,vc,db")
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 2
    assert warnings[0].startswith("warning: db is named but hardly heard (probability 0.02)")
    assert warnings[1].startswith("warning: va is heard (probability 0.70) but not named")
    assert stem_files(tmp_path / "out" / "tiny-labels" / "quartet") == ["db.wav", "vc.wav", "vn.wav"]  # as named
    quiet = vimss("separate", mix_wav, "-m", model_dir, "-o", tmp_path / "out", "-i", "vn,vc,db")
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr  # no recogniser unless asked for


def test_no_instruments_and_no_recogniser_is_one_line(tmp_path, model_dir, mix_wav):
    for extra in ((), ("--recognizer", "none")):
        result = vimss("separate", mix_wav, "-m", model_dir, *extra, "-o", tmp_path / "out")
        assert_one_line_error(result, "name the instruments that play with -i", "--recognizer vimss-recognizer")
    as_model = vimss("separate", mix_wav, "-m", model_dir, "--recognizer", model_dir, "-o", tmp_path / "out")
    assert_one_line_error(as_model, "is a separation model, not an instrument recogniser")
    assert not (tmp_path / "out").exists()


def test_the_bundled_recogniser_warns_about_a_named_clarinet_the_duet_does_not_have(tmp_path):
    duet = ROOT / "examples" / "duet.flac"
    result = vimss("separate", duet, "-i", "vn,vc,cl", "--recognizer", "vimss-recognizer", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert "warning: cl is named but hardly heard (probability 0.04)" in result.stderr
    assert "vn is named" not in result.stderr and "vc is named" not in result.stderr
    assert stem_files(tmp_path / "vimss-labels" / "duet") == ["cl.wav", "vc.wav", "vn.wav"]
