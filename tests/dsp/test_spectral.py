"""The spectral front end's STFT pair."""

import pytest
import torch

from vimss_cli.dsp.spectral import istft, stft


@pytest.mark.filterwarnings("ignore:The length of signal is shorter")  # torch's, for the longer length
@pytest.mark.parametrize("n_fft, hop", [(1022, 256), (4096, 1024), (4500, 1115), (2048, 700)])
def test_istft_is_torch_istft_and_inverts_stft(n_fft, hop):
    torch.manual_seed(0)
    x = torch.randn(3, 2, 20011)
    spec = stft(x, n_fft, hop)
    torch.testing.assert_close(istft(spec, x.shape[-1], n_fft, hop), x, rtol=0, atol=1e-5)
    changed = spec * torch.rand(spec.shape[-2:]) + 0.1j  # not the STFT of any signal
    for length in (20011, 19000, 20500):  # as long, shorter, and longer than the frames reach
        expected = torch.istft(
            changed.flatten(0, 1), n_fft, hop, window=torch.hann_window(n_fft), center=True, length=length
        ).reshape(3, 2, length)
        torch.testing.assert_close(istft(changed, length, n_fft, hop), expected, rtol=0, atol=1e-5)
