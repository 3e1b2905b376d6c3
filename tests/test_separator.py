from typing import cast

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import harmonic_mix, ones_model, tiny_model
from tests.helpers import stem_files
from vimss_cli.dsp.audio import open_audio
from vimss_cli.errors import VimssError
from vimss_cli.nets.config import ModelConfig
from vimss_cli.nets.family import SeparationModel, build_model
from vimss_cli.separator import Separator, StftGrid
from vimss_cli.stems import separate_file


@pytest.mark.parametrize("sr, channels", [(11025, 1), (44100, 2), (48000, 2), (22050, 1)])
def test_masks_of_ones_return_the_mixture(sr, channels):
    mix = torch.from_numpy(harmonic_mix(sr, 4.0, channels))
    sep = Separator(ones_model(), wiener_iterations=0, segment=1.5, overlap=0.3)
    stems = sep.separate(mix, sr, "vn,vc")
    for stem in stems.values():
        assert stem.shape == mix.shape
        torch.testing.assert_close(stem, mix, atol=1e-5, rtol=0)


def test_the_named_share_is_reported_once_after_the_input_ends():
    mix = torch.from_numpy(harmonic_mix(22050, 4.0, 1))
    shares: list[float] = []
    sep = Separator(ones_model(), wiener_iterations=0, segment=1.5, overlap=0.3)
    out = list(sep.stream(np.array_split(mix.numpy(), 5, axis=1), 22050, "vn,vc", on_named_share=shares.append))
    assert len(out) > 1 and shares == [pytest.approx(1.0)]  # masks of ones claim all of it
    half: list[float] = []
    list(Separator(tiny_model(), wiener_iterations=0).stream([mix], 22050, "vn", on_named_share=half.append))
    assert len(half) == 1 and 0 < half[0] < 1


def test_wiener_with_one_source_returns_the_mixture():
    mix = torch.from_numpy(harmonic_mix(44100, 3.0, 2))
    stems = Separator(tiny_model(), wiener_iterations=2, segment=1.5, overlap=0.3).separate(mix, 44100, "vn")
    # exact but for norbert's float32 covariance regularisation (sqrt(eps) ~ 3e-4)
    snr = 10 * torch.log10(mix.pow(2).sum() / (stems["vn"] - mix).pow(2).sum())
    assert snr > 40


@pytest.mark.parametrize("wiener", [0, 1])
def test_stems_and_residual_add_up_to_the_input(wiener):
    mix = torch.from_numpy(harmonic_mix(22050, 5.0, 2))
    sep = Separator(tiny_model(conditioning="label-multiply"), wiener_iterations=wiener, residual=True, segment=2.0)
    stems = sep.separate(mix, 22050, "vn,va,vc")
    assert list(stems) == ["vn", "va", "vc", "residual"]
    torch.testing.assert_close(sum(stems.values()), mix, atol=1e-5, rtol=0)
    if wiener == 0:  # ratio masks below one leave something for the residual
        assert stems["residual"].abs().max() > 1e-3


def test_mono_1d_input_gives_1d_stems():
    mix = torch.from_numpy(harmonic_mix(16000, 2.0, 1)[0])
    stems = Separator(tiny_model(), wiener_iterations=0).separate(mix, 16000, "vn,vc")
    assert stems["vc"].shape == mix.shape


def test_chunked_streaming_equals_one_pass_inference(tmp_path):
    """Reading in odd-sized blocks and batching segments changes nothing."""
    model = tiny_model(conditioning="film-encoder")
    mix = harmonic_mix(44100, 9.0, 2)
    one_pass = Separator(model, wiener_iterations=1, segment=2.0, overlap=0.5, batch_size=16).separate(
        mix, 44100, "vn,vc"
    )
    sep = Separator(model, wiener_iterations=1, segment=2.0, overlap=0.5, batch_size=1)
    blocks = np.array_split(mix, 17, axis=1)
    streamed = torch.cat(list(sep.stream(blocks, 44100, "vn,vc")), dim=-1)
    assert streamed.shape == (2, 2, mix.shape[1])
    torch.testing.assert_close(streamed[0], one_pass["vn"], atol=1e-4, rtol=0)
    torch.testing.assert_close(streamed[1], one_pass["vc"], atol=1e-4, rtol=0)


def test_input_shorter_than_an_overlap_and_exact_multiples():
    sep = Separator(ones_model(), wiener_iterations=0, segment=1.0, overlap=0.25)
    for n in (100, 11025, 11025 + 8269, 3 * 8269 + 2756):  # tiny, one segment, segment + step, exact end
        mix = torch.from_numpy(harmonic_mix(11025, n / 11025, 1))
        out = sep.separate(mix, 11025, "vn")["vn"]
        torch.testing.assert_close(out, mix, atol=1e-5, rtol=0)


def test_stft_grid_matches_the_model_at_11025_and_scales_with_rate():
    assert StftGrid.for_rate(11025) == StftGrid(11025, 1022, 256)
    assert StftGrid.for_rate(44100) == StftGrid(44100, 4096, 1024)
    assert StftGrid.for_rate(48000) == StftGrid(48000, 4500, 1115)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 88200, 96000])
def test_grids_whose_frames_are_the_models_are_known_whatever_the_length(rate):
    """Where they are, masks skip interpolation in time: every frame must fall on the model's."""
    grid = StftGrid.for_rate(rate)
    _, frame_pos = grid.model_positions(1, 5000)
    assert grid.model_frames == (rate in (11025, 22050, 44100, 88200))
    assert torch.allclose(frame_pos, torch.arange(5000, dtype=frame_pos.dtype), rtol=0, atol=1e-9) == grid.model_frames


@pytest.mark.parametrize("bad", [{"segment": 0}, {"overlap": 5.0}, {"wiener_iterations": -1}, {"batch_size": 0}])
def test_bad_separator_settings(bad):
    with pytest.raises(VimssError):
        Separator(tiny_model(), **bad)


def test_separate_file_writes_stems_at_input_rate_and_length(tmp_path, mix_wav):
    sep = Separator(tiny_model(), wiener_iterations=1, residual=True)
    out = separate_file(sep, mix_wav, tmp_path / "out", "vn,vc", fmt="flac", bit_depth="24", block_seconds=0.7)
    assert sorted(out) == ["residual", "vc", "vn"]
    info = sf.info(mix_wav)
    for path in out.values():
        stem = sf.info(path)
        assert (stem.samplerate, stem.channels, stem.frames, stem.subtype) == (
            info.samplerate,
            info.channels,
            info.frames,
            "PCM_24",
        )
    assert stem_files(tmp_path / "out") == ["residual.flac", "vc.flac", "vn.flac"]


def test_a_decode_error_midway_leaves_no_output(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, harmonic_mix(44100, 20.0, 2).T, 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with open_audio(path) as reader:
        assert reader.info.frames == 44100 * 20  # the header still promises the whole file
    with pytest.raises(VimssError, match=r"cut.flac"):
        separate_file(Separator(tiny_model(), wiener_iterations=0), path, tmp_path / "out", "vn", block_seconds=2)
    assert not (tmp_path / "out").exists()  # found while the input is read first, before any output


def test_instruments_as_a_string_names_or_instruments_give_the_same_stems():
    from vimss_cli.instruments import parse_instruments

    mix = harmonic_mix(22050, 1.0, 1)
    sep = Separator(tiny_model(), wiener_iterations=0)
    expected = sep.separate(mix, 22050, "vn,vc")
    for given in (["vn", "Cello"], parse_instruments("violin,vc")):
        stems = sep.separate(mix, 22050, given)
        assert list(stems) == ["vn", "vc"]
        torch.testing.assert_close(stems["vc"], expected["vc"], rtol=0, atol=0)
    with pytest.raises(VimssError, match=r"xylophone"):
        sep.separate(mix, 22050, ["vn", "xylophone"])


def direct_stems(model, mix: np.ndarray, rate: int, names: list[str], wiener: int) -> np.ndarray:
    """The separation written out plainly, one step after another, for one segment: masks
    interpolated onto every input-rate bin and frame with numpy, norbert's own Wiener filter
    below the model's Nyquist, the masks normalised above it, torch.istft."""
    import norbert
    import torchaudio

    from vimss_cli.constants import HOP, N_FFT, SAMPLE_RATE
    from vimss_cli.instruments import index, label_vector, parse_instruments

    chosen = parse_instruments(",".join(names))
    x = torch.from_numpy(mix)
    mono = torchaudio.functional.resample(x.mean(0), rate, SAMPLE_RATE)
    hops = -(-(mono.shape[-1] + 1) // HOP)  # ceiling divisions
    frames = -(-hops // model.frame_multiple) * model.frame_multiple
    mono = torch.nn.functional.pad(mono, (0, frames * HOP - 1 - mono.shape[-1]))
    mag = torch.stft(mono, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs()
    with torch.inference_mode():
        masks = model.masks(mag[None], label_vector(chosen)[None])[0, [index(i) for i in chosen]].numpy()
    grid = StftGrid.for_rate(rate)
    spec = torch.stft(x, grid.n_fft, grid.hop, window=torch.hann_window(grid.n_fft), return_complex=True).numpy()
    bin_pos, frame_pos = (p.numpy() for p in grid.model_positions(spec.shape[-2], spec.shape[-1]))
    in_time = np.stack([[np.interp(frame_pos, np.arange(masks.shape[-1]), row) for row in m] for m in masks])
    full = np.stack(
        [np.stack([np.interp(bin_pos, np.arange(masks.shape[-2]), col) for col in m.T], -1) for m in in_time]
    )
    est = full[:, None] * spec[None]  # (sources, channels, bins, frames)
    if wiener:
        band = int((bin_pos <= N_FFT // 2).sum())
        v = (full[:, None, :band] * np.abs(spec[None, :, :band])).transpose(3, 2, 1, 0)
        low = norbert.wiener(v.astype(np.float32), spec[:, :band].transpose(2, 1, 0).copy(), wiener)
        est[:, :, :band] = low.transpose(3, 2, 1, 0)
        high = full[:, band:]
        est[:, :, band:] = (high / (high.sum(0, keepdims=True) + 1e-8))[:, None] * spec[None, :, band:]
    stems = torch.istft(
        torch.from_numpy(est.astype(np.complex64)).flatten(0, 1),
        grid.n_fft,
        grid.hop,
        window=torch.hann_window(grid.n_fft),
        length=mix.shape[-1],
    )
    return stems.reshape(len(chosen), *mix.shape).numpy()


@pytest.mark.parametrize("rate", [44100, 48000, 11025])
@pytest.mark.parametrize("wiener", [0, 1, 2])
def test_separation_is_within_1e_3_of_the_plain_computation(rate, wiener):
    """What the separator does faster (masks interpolated on the band the model sees, the
    torch Wiener filter on it, no full-size copies) changes no output by more than 1e-3."""
    model = tiny_model(conditioning="label-multiply")
    mix = harmonic_mix(rate, 3.0, 2)  # one segment of exactly 3 s
    expected = direct_stems(model, mix, rate, ["vn", "va", "vc"], wiener)
    stems = Separator(model, wiener_iterations=wiener, segment=3.0).separate(mix, rate, "vn,va,vc")
    got = np.stack([stems[name].numpy() for name in ("vn", "va", "vc")])
    assert np.abs(got - expected).max() < 1e-3  # the mix peaks at 0.4


def test_a_segment_longer_than_the_input_is_capped_at_its_length(tmp_path):
    import time

    path = tmp_path / "short.wav"
    sf.write(path, harmonic_mix(22050, 3.0, 1).T, 22050)
    separator = Separator(tiny_model(), wiener_iterations=0, segment=1000.0)
    started = time.perf_counter()
    stems = separate_file(separator, path, tmp_path / "out", "vn,vc")
    assert time.perf_counter() - started < 20  # 1000 s of padding took minutes
    assert sf.info(stems["vn"]).frames == 3 * 22050 and separator.segment == 1000.0  # the caller's is untouched
    direct = separate_file(Separator(tiny_model(), wiener_iterations=0, segment=3.0), path, tmp_path / "ref", "vn,vc")
    np.testing.assert_allclose(sf.read(stems["vn"])[0], sf.read(direct["vn"])[0], atol=1e-4)


class ShareMasks(torch.nn.Module):
    """A third architecture, outside the family: each named instrument's mask is one over
    the number named. It follows separable.MaskingModel and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.config = tiny_model().config
        self.scale = torch.nn.Parameter(torch.ones(()))  # something to move to a device

    frame_multiple = 8

    def forward(self, mag, labels=None, visual=None, sources=None):
        n = len(sources) if sources is not None else self.config.n_sources
        return self.scale * torch.full((mag.shape[0], n, *mag.shape[1:]), 1 / n)

    def masks(self, mag, labels=None, visual=None, sources=None):
        return self.applied(self.forward(mag, labels, visual, sources))

    def applied(self, probabilities):
        return probabilities


def test_a_model_that_follows_the_masking_protocol_separates_without_edits():
    from vimss_cli.nets.separable import MaskingModel, WaveformModel

    assert isinstance(tiny_model(), MaskingModel) and not isinstance(tiny_model(), WaveformModel)
    wave = build_model(ModelConfig(architecture="wave-unet", filters=1))
    assert isinstance(wave, WaveformModel) and not isinstance(wave, MaskingModel)
    mix = torch.from_numpy(harmonic_mix(44100, 2.0, 2))
    model = cast(SeparationModel, ShareMasks())
    stems = Separator(model, wiener_iterations=0, segment=1.0, overlap=0.25).separate(mix, 44100, "vn,va,vc")
    for stem in stems.values():
        torch.testing.assert_close(stem, mix / 3, atol=1e-5, rtol=0)
