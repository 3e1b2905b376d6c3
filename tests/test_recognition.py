"""What a file is heard to play: the line-up heard, the doubts about a named one, and the file read block by block."""

import numpy as np
import soundfile as sf
import torch

from tests.conftest import harmonic_mix
from tests.nets.test_recognizer import tiny_recognizer
from vimss_cli.constants import SAMPLE_RATE
from vimss_cli.dsp.audio import to_model_input
from vimss_cli.instruments import ABBREVIATIONS, LineUp
from vimss_cli.recognition import Heard, hear_file


def heard(**probabilities: float) -> Heard:
    return Heard({a: probabilities.get(a, 0.01) for a in ABBREVIATIONS})


def test_the_line_up_is_every_class_heard_in_the_tables_order():
    assert heard(vc=0.9, vn=0.7, fl=0.49).line_up.abbrs == ["vn", "vc"]
    assert heard(cl=0.3, fl=0.2).line_up.abbrs == ["cl"]  # a file plays something: the most probable


def test_doubts_name_instruments_named_but_not_heard_and_heard_but_not_named():
    lines = heard(vn=0.9, vc=0.8, va=0.7).doubts(LineUp.of("vn,vc,db"))
    assert len(lines) == 2
    assert lines[0].startswith("db is named but hardly heard (probability 0.01)")
    assert lines[1].startswith("va is heard (probability 0.70) but not named")
    assert heard(vn=0.9, vc=0.3).doubts(LineUp.of("vn,vc")) == []


def test_a_file_is_heard_as_its_whole_audio_at_the_models_rate(tmp_path):
    model = tiny_recognizer()
    wave = harmonic_mix(44100, 40.0, 2)  # two channels, longer than a read block
    sf.write(tmp_path / "in.flac", wave.T, 44100)
    read, _ = sf.read(tmp_path / "in.flac", dtype="float32", always_2d=True)
    whole = to_model_input(torch.from_numpy(np.ascontiguousarray(read.T)), 44100, SAMPLE_RATE)
    result = hear_file(model, tmp_path / "in.flac")
    assert list(result.probabilities) == list(ABBREVIATIONS)
    np.testing.assert_allclose(list(result.probabilities.values()), model.hear(whole).numpy(), atol=1e-4)
    assert result.to_json()["instruments"] == result.line_up.abbrs
