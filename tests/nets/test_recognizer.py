"""The instrument recogniser: its shapes, how it hears a whole file, its checkpoints and how a U-Net starts it."""

import pytest
import torch

from tests.conftest import tiny_config, tiny_model
from vimss_cli.constants import SEGMENT_SAMPLES
from vimss_cli.errors import VimssError
from vimss_cli.nets.checkpoints import load_model, load_recognizer, save_pretrained
from vimss_cli.nets.family import build_model
from vimss_cli.nets.recognizer import InstrumentRecognizer, audible
from vimss_cli.training.state import warm_start


def tiny_recognizer(seed: int = 0) -> InstrumentRecognizer:
    torch.manual_seed(seed)
    model = build_model(tiny_config(architecture="recognizer"))
    assert isinstance(model, InstrumentRecognizer)
    return model.eval()


def test_one_logit_per_class_for_each_mixture():
    model = tiny_recognizer()
    assert model(torch.rand(3, 512, 64)).shape == (3, 13)


def test_a_file_is_heard_window_by_window_whatever_the_batch():
    model = tiny_recognizer()
    audio = torch.randn(3 * SEGMENT_SAMPLES + 1000)  # four windows, the last padded
    one_by_one, together = model.hear(audio, batch=1), model.hear(audio, batch=8)
    assert together.shape == (13,) and bool(((together > 0) & (together < 1)).all())
    torch.testing.assert_close(one_by_one, together, atol=1e-5, rtol=0)


def test_silent_windows_are_not_heard_and_silence_hears_nothing():
    model = tiny_recognizer()
    audio = torch.randn(2 * SEGMENT_SAMPLES)
    with_rest = torch.cat([audio, torch.zeros(3 * SEGMENT_SAMPLES)])  # a long rest after the music
    torch.testing.assert_close(model.hear(with_rest), model.hear(audio), atol=1e-6, rtol=0)
    assert torch.equal(model.hear(torch.zeros(SEGMENT_SAMPLES)), torch.zeros(13))


def test_a_recognizer_checkpoint_loads_as_one_and_never_as_a_separation_model(tmp_path):
    model = tiny_recognizer()
    folder = save_pretrained(model, tmp_path / "heard")
    loaded = load_recognizer(str(folder))
    audio = torch.randn(SEGMENT_SAMPLES)
    assert torch.equal(loaded.model.hear(audio), model.hear(audio))
    assert "instrument recogniser" in (folder / "README.md").read_text()
    with pytest.raises(VimssError, match="is an instrument recogniser, not a separation model"):
        load_model(str(folder))
    with pytest.raises(VimssError, match="is a separation model, not an instrument recogniser"):
        load_recognizer(str(save_pretrained(tiny_model(), tmp_path / "unet")))


def test_a_u_net_starts_a_recognizer_with_its_encoder():
    unet, model = tiny_model(conditioning="label-multiply"), tiny_recognizer()
    warm_start(model, unet, "unet")
    for ours, theirs in zip(model.encoder.state_dict().values(), unet.encoder.state_dict().values()):
        assert torch.equal(ours, theirs)


def test_a_recognizer_reads_no_side_information():
    with pytest.raises(VimssError, match="conditioning is none"):
        tiny_config(architecture="recognizer", conditioning="label-multiply")


def test_a_part_that_rests_through_the_window_is_not_a_target():
    sources = torch.zeros(1, 13, 1000)
    sources[0, 0] = torch.randn(1000)  # vn plays
    sources[0, 2] = 0.03 * torch.randn(1000)  # vc at -30 dB: as good as resting
    sources[0, 4] = 0.1 * torch.randn(1000)  # fl at -20 dB: heard
    labels = torch.zeros(1, 13)
    labels[0, [0, 2, 4, 6]] = 1  # cl is in the piece but silent here
    assert audible(labels, sources)[0].nonzero().flatten().tolist() == [0, 4]
