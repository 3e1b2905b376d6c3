"""Separation metrics as the paper reports them (Sec. 4.5).

SI-SDR and SD-SDR after Le Roux et al. (2019), with the paper's epsilon of 1e-9 so
that silent signals give finite values; PES (predicted energy at silence) for
targets that are silent and EPS (energy at predicted silence) for predictions that
are silent; SDR/SIR/SAR from fast_bss_eval's torch backend (BSS Eval v4 with 512-tap
distortion filters; museval needs ffmpeg and the numpy backend fails on numpy 2).
"""

from __future__ import annotations

import math

import torch

FLOOR = 1e-9  # keeps log10 finite for silent signals
SILENCE_DB = -80.0
"""A signal whose mean power is below this (dB full scale) counts as silent."""


def _energy(x: torch.Tensor) -> torch.Tensor:
    return x.double().pow(2).sum(-1)


def is_silent(x: torch.Tensor) -> torch.Tensor:
    """Per signal (last axis): mean power below SILENCE_DB."""
    power = x.double().pow(2).mean(-1)
    return power < 10 ** (SILENCE_DB / 10)


def _scaled_target(reference: torch.Tensor, estimate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(reference, estimate, projection of the estimate on the reference), in float64."""
    ref, est = reference.double(), estimate.double()
    alpha = (est * ref).sum(-1, keepdim=True) / (_energy(ref).unsqueeze(-1) + FLOOR)
    return ref, est, alpha * ref


def si_sdr(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Scale-invariant SDR in dB over the last axis."""
    _, est, target = _scaled_target(reference, estimate)
    return 10 * torch.log10((_energy(target) + FLOOR) / (_energy(est - target) + FLOOR))


def sd_sdr(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Scale-dependent SDR in dB: SI-SDR's target energy over the plain error energy."""
    ref, est, target = _scaled_target(reference, estimate)
    return 10 * torch.log10((_energy(target) + FLOOR) / (_energy(est - ref) + FLOOR))


def pes(estimate: torch.Tensor) -> torch.Tensor:
    """Predicted energy at silence (dB): used where the target is silent; lower is better."""
    return 10 * torch.log10(_energy(estimate) + FLOOR)


def eps_metric(reference: torch.Tensor) -> torch.Tensor:
    """Energy at predicted silence (dB): used where the prediction is silent."""
    return 10 * torch.log10(_energy(reference) + FLOOR)


def bss_eval(references: torch.Tensor, estimates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SDR, SIR, SAR (dB) of (sources, samples) estimates against references; sources
    whose reference is silent get NaN (BSS Eval is undefined for them)."""
    import fast_bss_eval

    n = references.shape[0]
    out = [torch.full((n,), math.nan, dtype=torch.float64) for _ in range(3)]
    active = (~is_silent(references)).nonzero().flatten()
    if len(active):
        # One thread: after torch.set_num_threads(n > 1), MKL's batched LU solve fails on any
        # matrix (pytorch/pytorch#142815), printing "Parameter 6 was incorrect on entry to
        # DLASWP" per system and leaving every metric NaN.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            sdr, sir, sar = fast_bss_eval.bss_eval_sources(
                references[active].double(), estimates[active].double(), compute_permutation=False
            )
        except RuntimeError:  # singular: references that (nearly) lie in each other's span, e.g. a doubled part
            return out[0], out[1], out[2]
        finally:
            torch.set_num_threads(threads)
        for dst, src in zip(out, (sdr, sir, sar)):
            dst[active] = src.double()
    return out[0], out[1], out[2]


def score_sources(references: torch.Tensor, estimates: torch.Tensor) -> list[dict[str, float]]:
    """Every metric for each of (sources, samples) reference/estimate pairs; a metric
    that does not apply to a pair (e.g. SI-SDR of a silent target) is NaN."""
    silent_ref, silent_est = is_silent(references), is_silent(estimates)
    sdr, sir, sar = bss_eval(references, estimates)
    values = {
        "si_sdr": si_sdr(references, estimates),
        "sd_sdr": sd_sdr(references, estimates),
        "pes": pes(estimates),
        "eps": eps_metric(references),
        "sdr": sdr,
        "sir": sir,
        "sar": sar,
    }
    rows = []
    for i in range(references.shape[0]):
        row = {k: float(v[i]) for k, v in values.items()}
        if silent_ref[i]:
            for k in ("si_sdr", "sd_sdr", "sdr", "sir", "sar"):
                row[k] = math.nan
        else:
            row["pes"] = math.nan
        if not silent_est[i]:
            row["eps"] = math.nan
        rows.append(row)
    return rows
