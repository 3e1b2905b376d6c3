import math
import subprocess
import sys

import pytest
import torch

from vimss_cli.dsp.metrics import bss_eval, pes, score_sources, sd_sdr, si_sdr


def orthogonal_pair(n: int = 8000) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    s = torch.randn(n, generator=g, dtype=torch.float64)
    noise = torch.randn(n, generator=g, dtype=torch.float64)
    noise -= (noise @ s) / (s @ s) * s  # exactly orthogonal to s
    return s, noise


def test_scaled_copy_is_perfect_for_si_sdr_but_not_sd_sdr():
    s, _ = orthogonal_pair()
    assert si_sdr(s, 0.5 * s) > 100
    # SD-SDR: target 0.5 s, error 0.5 s -> 0 dB
    assert sd_sdr(s, 0.5 * s).item() == pytest.approx(0.0, abs=1e-6)
    assert sd_sdr(s, 2.0 * s).item() == pytest.approx(10 * math.log10(4 / 1), abs=1e-6)


def test_added_noise_of_known_power():
    s, noise = orthogonal_pair()
    noise *= (s.pow(2).sum() / noise.pow(2).sum() / 100).sqrt()  # 20 dB below the target
    assert si_sdr(s, s + noise).item() == pytest.approx(20.0, abs=1e-6)
    assert sd_sdr(s, s + noise).item() == pytest.approx(20.0, abs=1e-6)
    # scaling the estimate changes SD-SDR but not SI-SDR
    assert si_sdr(s, 3 * (s + noise)).item() == pytest.approx(20.0, abs=1e-6)


def test_pes_of_a_silent_target_is_the_prediction_energy():
    est = torch.full((1000,), 0.01, dtype=torch.float64)  # energy 0.1 -> -10 dB
    assert pes(est).item() == pytest.approx(-10.0, abs=1e-6)
    assert pes(torch.zeros(1000)).item() == pytest.approx(-90.0, abs=1e-6)


def test_score_sources_applies_each_metric_where_it_is_defined():
    s, noise = orthogonal_pair(11025)
    other = torch.roll(s, 3000)
    refs = torch.stack([s, torch.zeros_like(s), other])
    ests = torch.stack([s + 0.1 * noise, 0.01 * noise, torch.zeros_like(s)])
    rows = score_sources(refs.float(), ests.float())
    assert not math.isnan(rows[0]["si_sdr"]) and math.isnan(rows[0]["pes"]) and math.isnan(rows[0]["eps"])
    assert math.isnan(rows[1]["si_sdr"]) and math.isnan(rows[1]["sdr"])
    assert rows[1]["pes"] == pytest.approx(10 * math.log10(float((0.01 * noise).pow(2).sum())), abs=1e-3)
    assert not math.isnan(rows[2]["eps"])  # silent prediction of an active target
    assert rows[2]["eps"] == pytest.approx(10 * math.log10(float(other.pow(2).sum())), abs=1e-3)


def test_bss_eval_matches_si_sdr_for_white_noise_and_is_nan_for_silence():
    s, noise = orthogonal_pair(11025 * 2)
    noise *= (s.pow(2).sum() / noise.pow(2).sum() / 100).sqrt()
    other = torch.roll(s, 5000)
    sdr, sir, sar = bss_eval(torch.stack([s, other, torch.zeros_like(s)]), torch.stack([s + noise, other, noise]))
    assert sdr[0].item() == pytest.approx(20.0, abs=0.5)  # white noise: SDR ~ SI-SDR
    assert sar[0].item() == pytest.approx(20.0, abs=0.5)
    assert math.isnan(sdr[2]) and math.isnan(sir[2]) and math.isnan(sar[2])


@pytest.mark.parametrize("threads", [2, 4])
def test_bss_eval_is_defined_whatever_torch_s_thread_count_was_set_to(threads):
    """After torch.set_num_threads(n > 1) in a fresh process (a benchmark, a user's script), MKL's
    batched solve failed on every piece of two or more sources: SDR, SIR and SAR came out NaN,
    with a "DLASWP" error line per system on stdout."""
    script = f"""
import torch
torch.set_num_threads({threads})
from vimss_cli.dsp.metrics import bss_eval
g = torch.Generator().manual_seed(0)
s = torch.randn(22050, generator=g, dtype=torch.float64)
noise = 0.1 * torch.randn(22050, generator=g, dtype=torch.float64)
sdr, sir, sar = bss_eval(torch.stack([s, s.roll(5000)]), torch.stack([s + noise, s.roll(5000)]))
assert torch.get_num_threads() == {threads}  # left as the caller set it
print(float(sdr[0]), float(sar[0]), bool(torch.isnan(sir).any()))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DLASWP" not in done.stdout + done.stderr
    sdr, sar, nan = done.stdout.split()
    assert float(sdr) == pytest.approx(20.0, abs=0.5) and float(sar) == pytest.approx(20.0, abs=0.5)
    assert nan == "False"


def test_references_that_lie_in_each_others_span_leave_bss_eval_undefined_not_a_crash():
    x = torch.randn(11025, generator=torch.Generator().manual_seed(0))
    references = torch.stack([x, 0.5 * x, torch.randn(11025, generator=torch.Generator().manual_seed(1))])
    rows = score_sources(references, references + 0.01)
    assert all(math.isnan(row["sdr"]) and math.isnan(row["sir"]) for row in rows)
    assert all(row["si_sdr"] > 30 for row in rows)  # the scale-invariant scores stand
