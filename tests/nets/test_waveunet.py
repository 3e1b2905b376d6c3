"""The Wave-U-Net: length arithmetic, every conditioning, whole-file inference, the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import harmonic_mix
from tests.dsp.test_audio import split_at_random
from tests.helpers import assert_one_line_error, vimss
from vimss_cli.errors import VimssError
from vimss_cli.nets.checkpoints import load_model, save_pretrained
from vimss_cli.nets.config import WAVE_CONDITIONINGS, ModelConfig, output_samples, valid_input_samples
from vimss_cli.nets.family import build_model
from vimss_cli.nets.waveunet import reflect_pad, stream_waveform
from vimss_cli.separator import Separator

TINY_WAVE = {
    "architecture": "wave-unet",
    "levels": 4,
    "filters": 4,
    "down_kernel": 5,
    "up_kernel": 3,
    "input_samples": 717,
}


def wave_config(**overrides) -> ModelConfig:
    fields = {**TINY_WAVE, **overrides}
    if fields.get("conditioning", "none") != "none":
        fields.setdefault("context", "labels")
    return ModelConfig(**fields)


def wave_model(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return build_model(wave_config(**overrides)).eval()


def test_the_readme_setting_is_147443_samples_in_16389_out():
    config = ModelConfig(architecture="wave-unet", filters=1)
    assert (config.levels, config.input_samples, output_samples(config)) == (12, 147443, 16389)
    with torch.inference_mode():
        out = build_model(config)(torch.zeros(1, 147443))
    assert out.shape == (1, 13, 16389)


@pytest.mark.parametrize("levels", [1, 2, 5, 8, 12])
def test_output_length_arithmetic_matches_the_network_at_any_depth(levels):
    for n in valid_input_samples(levels, 15, 5, around=3000 + 200 * levels):
        config = ModelConfig(architecture="wave-unet", levels=levels, filters=1, input_samples=n)
        expected = output_samples(config)
        with torch.inference_mode():
            out = build_model(config)(torch.zeros(2, n))
        assert out.shape == (2, 13, expected)
        # Fitting lengths recur every 2**levels samples, each giving 2**levels more output.
        assert output_samples(config, n + 2**levels) == expected + 2**levels
        assert output_samples(config, n + 1) is None or levels == 1
        assert (n - expected) % 2 == 0  # the output is the exact centre


def test_lengths_that_do_not_fit_are_refused_with_the_nearest_that_do():
    with pytest.raises(VimssError, match=r"input_samples 150000 does not fit 12 levels .* 147443, 151539"):
        ModelConfig(architecture="wave-unet", input_samples=150000)
    with pytest.raises(VimssError, match="reads labels only"):
        wave_config(conditioning="film-bottleneck", context="visual")
    with pytest.raises(VimssError, match="Wave-U-Net's conditioning"):
        wave_config(conditioning="film-encoder")
    with pytest.raises(VimssError, match="spectrogram U-Net"):
        ModelConfig(conditioning="concat-final", context="labels")
    with pytest.raises(VimssError, match="11025 or 22050"):
        wave_config(sample_rate=44100)


@pytest.mark.parametrize("conditioning", WAVE_CONDITIONINGS)
def test_forward_of_every_conditioning(conditioning):
    model = wave_model(conditioning=conditioning)
    mix = 0.3 * torch.randn(3, 717)
    labels = torch.zeros(3, 13)
    labels[:, [0, 2]] = 1
    other = torch.zeros(3, 13)
    other[:, [1, 4, 7]] = 1
    with torch.inference_mode():
        out = model(mix, labels if conditioning != "none" else None)
        assert out.shape == (3, 13, output_samples(model.config))
        assert out.abs().max() <= 1
        if conditioning == "label-multiply":
            assert out[:, [0, 2]].abs().sum() > 0 and out[:, [1, 3, 4, 5]].abs().sum() == 0
        if conditioning != "none":
            assert not torch.allclose(model(mix, other), out)  # the labels reach the output


def test_reflection_padding_reflects_again_when_the_input_is_short():
    x = torch.tensor([[0.0, 1.0, 2.0]])
    assert reflect_pad(x, 5, 3).tolist() == [[1.0, 0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0, 1.0]]
    assert reflect_pad(torch.tensor([[4.0]]), 2, 1).tolist() == [[4.0, 4.0, 4.0, 4.0]]


def test_whole_file_inference_is_the_network_on_the_reflection_padded_file():
    model = wave_model(conditioning="label-multiply")
    mix = torch.from_numpy(harmonic_mix(11025, 0.03, channels=2))  # 330 samples: shorter than one window
    stems = Separator(model, segment=0.001, overlap=0).separate(mix, 11025, "vn,vc")
    n_out = output_samples(model.config)
    context = (model.config.input_samples - n_out) // 2
    labels = torch.zeros(1, 13)
    labels[0, [0, 2]] = 1
    with torch.inference_mode():
        for c in range(2):
            padded = reflect_pad(mix[c : c + 1], context, context + 2 * 16 * (-(-330 // 16)))
            # A window of the training length at each multiple of its stride, cut to 330 samples.
            expected = torch.cat(
                [
                    model(padded[:, s : s + 717], labels)[0, :, : n_out // 16 * 16]
                    for s in range(0, 330, n_out // 16 * 16)
                ],
                dim=-1,
            )[:, :330]
            torch.testing.assert_close(stems["vn"][c], expected[0], rtol=0, atol=1e-6)
            torch.testing.assert_close(stems["vc"][c], expected[2], rtol=0, atol=1e-6)


def test_any_window_length_gives_the_same_stems_at_any_rate():
    model = wave_model(conditioning="label-multiply", levels=3)
    mix = harmonic_mix(44100, 0.4, channels=2)
    results = [
        Separator(model, segment=s, overlap=0, batch_size=b).separate(mix, 44100, "vn,fl")
        for s, b in ((0.001, 1), (0.05, 2), (10.0, 3))
    ]
    for stems in results:
        assert stems["vn"].shape == (2, mix.shape[-1])
        torch.testing.assert_close(stems["vn"], results[0]["vn"], rtol=0, atol=1e-6)
        torch.testing.assert_close(stems["fl"], results[0]["fl"], rtol=0, atol=1e-6)
    residual = Separator(model, residual=True).separate(mix, 44100, "vn,fl")
    torch.testing.assert_close(sum(residual.values()), torch.from_numpy(mix), rtol=0, atol=1e-5)


def test_cli_trains_separates_and_evaluates_a_wave_unet(tmp_path):
    from vimss_cli.evaluation.tone_dataset import write_dataset

    data = write_dataset(tmp_path / "urmp")
    config = {
        "model": {
            "library": "vimss",
            "format_version": 1,
            **TINY_WAVE,
            "input_samples": 4813,
            "conditioning": "label-multiply",
            "context": "labels",
        },
        "steps": 2,
        "batch_size": 2,
        "validate_every": 2,
        "validation_size": 2,
        "max_sources": 3,
    }
    (tmp_path / "wave.json").write_text(json.dumps(config))
    result = vimss(
        "train",
        "--data",
        str(data),
        "--config",
        str(tmp_path / "wave.json"),
        "--out",
        str(tmp_path / "run"),
        "--workers",
        "0",
    )
    assert result.exit_code == 0, result.output
    assert load_model(str(tmp_path / "run" / "best")).model.config.architecture == "wave-unet"
    song = tmp_path / "song.flac"
    sf.write(song, harmonic_mix(22050, 1.0, channels=2).T, 22050)
    result = vimss(
        "separate", str(song), "-i", "vn,vc", "-m", str(tmp_path / "run" / "best"), "-o", str(tmp_path / "out")
    )
    assert result.exit_code == 0, result.output
    written, rate = sf.read(tmp_path / "out" / "run-best" / "song" / "vc.wav")  # named for its run
    assert rate == 22050 and written.shape == (22050, 2)
    result = vimss(
        "evaluate", str(data), "-m", str(tmp_path / "run" / "best"), "-o", str(tmp_path / "eval"), "-d", "cpu"
    )
    assert result.exit_code == 0, result.output
    assert {r["method"] for r in json.loads((tmp_path / "eval" / "results.json").read_text())["rows"]} >= {"run-best"}


def test_a_saved_wave_unet_loads_to_the_same_outputs(tmp_path):
    model = wave_model(conditioning="film-bottleneck", sample_rate=22050)
    loaded = load_model(str(save_pretrained(model, tmp_path / "wave"))).model.eval()
    mix, labels = torch.randn(1, 717), torch.eye(13)[:1]
    with torch.inference_mode():
        torch.testing.assert_close(loaded(mix, labels), model(mix, labels))
    (tmp_path / "wave" / "model.safetensors").write_bytes(b"broken")
    assert_one_line_error(vimss("separate", "x.wav", "-i", "vn,vc", "-m", str(tmp_path / "wave")))


@pytest.mark.parametrize("samples", [5, 900, 20000])  # shorter than a window's context, about one window, many
def test_any_split_of_the_input_into_blocks_gives_the_same_stems(samples):
    model = wave_model(conditioning="label-multiply", levels=3)
    mix, labels = torch.randn(2, samples), torch.eye(13)[:1] + torch.eye(13)[2:3]
    whole = torch.cat(list(stream_waveform(model, [mix], labels, [0, 2], window=200)), dim=-1)
    assert whole.shape == (2, 2, samples)
    for seed in range(3):
        parts = list(stream_waveform(model, split_at_random(mix, seed), labels, [0, 2], window=200))
        torch.testing.assert_close(torch.cat(parts, dim=-1), whole, rtol=0, atol=1e-6)
    with pytest.raises(VimssError, match="no audio"):
        list(stream_waveform(model, [mix[:, :0]], labels, [0], window=200))


@pytest.mark.parametrize("rate", [11025, 44100, 48000])
def test_a_file_streamed_in_short_blocks_gives_the_stems_of_the_whole_file(rate):
    model = wave_model(conditioning="label-multiply", levels=3)
    mix = harmonic_mix(rate, 1.3, channels=2)
    whole = Separator(model, residual=True).separate(mix, rate, "vn,fl")
    streamed = Separator(model, residual=True, segment=0.05, overlap=0)  # windows of 0.05 s, not one for the file
    blocks = list(streamed.stream(split_at_random(torch.from_numpy(mix), seed=1), rate, "vn,fl"))
    assert len(blocks) > 3 and sum(b.shape[-1] for b in blocks) == mix.shape[-1]
    joined = torch.cat(blocks, dim=-1)
    for k, name in enumerate(("vn", "fl", "residual")):
        torch.testing.assert_close(joined[k], whole[name], rtol=0, atol=1e-5)


def test_the_bundled_wave_unet_separates_the_duet(tmp_path):
    duet = Path(__file__).resolve().parents[2] / "examples" / "duet.flac"
    result = vimss("separate", str(duet), "-i", "vn,vc", "-m", "vimss-wave", "-o", str(tmp_path), "--residual")
    assert result.exit_code == 0, result.output
    mix, rate = sf.read(duet, always_2d=True)
    stems = {
        name: sf.read(tmp_path / "vimss-wave" / "duet" / f"{name}.wav", always_2d=True)
        for name in ("vn", "vc", "residual")
    }
    assert all(r == rate and s.shape == mix.shape for s, r in stems.values())
    vn, vc = stems["vn"][0], stems["vc"][0]
    assert np.abs(vn - vc).max() > 0.01 and min(np.abs(vn).max(), np.abs(vc).max()) > 0.01
    np.testing.assert_allclose(vn + vc + stems["residual"][0], mix, atol=3e-4)  # 16-bit files
