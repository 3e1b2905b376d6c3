import norbert
import numpy as np
import pytest
import torch

from vimss_cli.dsp.wiener import residual_model, wiener


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("sources", [1, 3])
@pytest.mark.parametrize("iterations", [0, 1, 2])
@pytest.mark.parametrize("residual", [False, True])
def test_torch_wiener_matches_norbert(channels, sources, iterations, residual):
    rng = np.random.default_rng(channels * 100 + sources * 10 + iterations)
    x = (rng.standard_normal((40, 65, channels)) + 1j * rng.standard_normal((40, 65, channels))).astype(np.complex64)
    v = (rng.uniform(0, 1, (40, 65, 1, sources)) * np.abs(x)[..., None]).astype(np.float32)
    ref_v = norbert.residual_model(v, x) if residual else v
    expected = norbert.wiener(ref_v.copy(), x.copy(), iterations)
    # norbert's (frames, bins, channels, sources) to ours (sources, channels, bins, frames)
    vt, xt = torch.from_numpy(v).permute(3, 2, 1, 0).expand(-1, channels, -1, -1), torch.from_numpy(x).permute(2, 1, 0)
    got = wiener(residual_model(vt, xt) if residual else vt, xt, iterations).permute(3, 2, 1, 0).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_estimates_share_the_mixture():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(
        (rng.standard_normal((2, 20, 30)) + 1j * rng.standard_normal((2, 20, 30))).astype(np.complex64)
    )
    v = torch.from_numpy(rng.uniform(0.1, 1, (3, 2, 20, 30)).astype(np.float32))
    y = wiener(residual_model(v, x), x, iterations=2)
    # exact but for the sqrt(eps) covariance regularisation norbert uses too
    snr = 10 * torch.log10(x.abs().pow(2).sum() / (y.sum(0) - x).abs().pow(2).sum())
    assert snr > 40
