"""The player splitter: two players of one instrument (`-i vn,vn,vc`), from the model to the files."""

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import harmonic_mix, tiny_config, tiny_model
from tests.helpers import assert_one_line_error, stem_files, vimss
from tests.nets.test_waveunet import wave_model
from vimss_cli.errors import VimssError
from vimss_cli.instruments import LineUp, parse_instruments
from vimss_cli.nets.checkpoints import load_model, load_recognizer, load_splitter, save_pretrained
from vimss_cli.nets.family import build_model
from vimss_cli.nets.splitter import PlayerSplitter
from vimss_cli.separator import Separator


def tiny_splitter(seed: int = 0) -> PlayerSplitter:
    torch.manual_seed(seed)
    model = build_model(tiny_config(architecture="player-splitter", conditioning="film-encoder"))
    assert isinstance(model, PlayerSplitter)
    return model.eval()


def test_an_instrument_named_twice_is_two_numbered_players_and_three_are_refused():
    line_up = LineUp.of("vn,va,vn,vc")
    assert line_up.abbrs == ["vn1", "va", "vn2", "vc"] and line_up.pairs == [(0, 2)]
    assert line_up.classes == ["vn", "va", "vn", "vc"] and line_up.sources == [0, 1, 0, 2]
    assert LineUp.of("vn,vc").pairs == [] and LineUp.of("vn,vc").abbrs == ["vn", "vc"]
    with pytest.raises(VimssError, match="'vn' is given 3 times: at most 2 players of one instrument"):
        parse_instruments("vn,violin,vn")


def test_the_two_players_masks_share_every_bin_and_depend_on_the_class():
    model = tiny_splitter()
    mag = torch.rand(2, 512, 64)
    violin, cello = torch.zeros(2, 13), torch.zeros(2, 13)
    violin[:, 0], cello[:, 2] = 1, 1
    masks = model(mag, violin)
    assert masks.shape == (2, 2, 512, 64) and bool((masks >= 0).all())
    torch.testing.assert_close(masks.sum(1), torch.ones(2, 512, 64))
    assert not torch.allclose(masks, model(mag, cello))


def test_a_splitter_checkpoint_loads_only_as_a_splitter(tmp_path):
    folder = save_pretrained(tiny_splitter(), tmp_path / "players")
    mag, labels = torch.rand(1, 512, 64), torch.eye(13)[:1]
    assert torch.equal(load_splitter(str(folder)).model(mag, labels), tiny_splitter()(mag, labels))
    assert "player splitter" in (folder / "README.md").read_text()
    with pytest.raises(VimssError, match="is a player splitter, not a separation model: give it as --splitter"):
        load_model(str(folder))
    with pytest.raises(VimssError, match="is a player splitter, not an instrument recogniser: give it as --splitter"):
        load_recognizer(str(folder))
    with pytest.raises(VimssError, match="is a separation model, not a player splitter: give it as --model"):
        load_splitter(str(save_pretrained(tiny_model(), tmp_path / "unet")))


def test_the_players_stems_add_up_to_the_instruments_stem_of_one_player():
    mix = torch.from_numpy(harmonic_mix(22050, 4.0, 2))
    model = tiny_model(conditioning="label-multiply")
    together = Separator(model, wiener_iterations=0).separate(mix, 22050, "vn,vc")
    parted = Separator(model, wiener_iterations=0, splitter=tiny_splitter()).separate(mix, 22050, "vn,vn,vc")
    assert list(parted) == ["vn1", "vn2", "vc"] and parted["vn1"].shape == mix.shape
    torch.testing.assert_close(parted["vn1"] + parted["vn2"], together["vn"], atol=1e-5, rtol=0)
    torch.testing.assert_close(parted["vc"], together["vc"], atol=1e-5, rtol=0)
    assert float(parted["vn1"].std()) > 0 and float(parted["vn2"].std()) > 0


def test_separate_writes_both_players_and_they_add_up_with_the_rest_to_the_input(tmp_path, mix_wav):
    model = save_pretrained(tiny_model(conditioning="label-multiply"), tmp_path / "labels")
    splitter = save_pretrained(tiny_splitter(), tmp_path / "players")
    args = ("separate", mix_wav, "-i", "vn,vn,vc", "-m", model, "--splitter", splitter, "-o", tmp_path / "out")
    result = vimss(*args, "--residual", "--bit-depth", "32f")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "labels" / "quartet"
    assert stem_files(folder) == ["residual.wav", "vc.wav", "vn1.wav", "vn2.wav"]
    total = sum(sf.read(folder / f"{name}.wav")[0] for name in ("vn1", "vn2", "vc", "residual"))
    np.testing.assert_allclose(total, sf.read(mix_wav)[0], atol=1e-4)
    picked = vimss(*args, "--stems", "vn", "-o", tmp_path / "picked")
    assert picked.exit_code == 0, picked.output
    assert stem_files(tmp_path / "picked" / "labels" / "quartet") == ["vn1.wav", "vn2.wav"]
    assert_one_line_error(vimss(*args, "--two-stems", "vn"), "two players of it play; name one (vn1, vn2)")


def test_a_line_up_with_two_players_that_nothing_can_part_is_refused_in_one_line(tmp_path, mix_wav):
    wave = save_pretrained(wave_model(conditioning="label-multiply"), tmp_path / "wave")
    labels = save_pretrained(tiny_model(conditioning="label-multiply"), tmp_path / "labels")
    out = ("-o", tmp_path / "out")
    assert_one_line_error(
        vimss("separate", mix_wav, "-i", "vn,vn,vc", "-m", wave, "--splitter", "none", *out),
        "two players of vn: this model (a Wave-U-Net) gives one stem per instrument",
    )
    assert_one_line_error(
        vimss("separate", mix_wav, "-i", "vn,vn,vc", "-m", labels, "--splitter", "none", *out),
        "two players of vn need a player splitter",
    )
    assert_one_line_error(vimss("separate", mix_wav, "-i", "vn,vn,vn", "-m", labels, *out), "given 3 times")
    assert not (tmp_path / "out").exists()
