"""Multichannel Wiener filtering: norbert's EM algorithm (Nugraha, Liutkus and Vincent
2016; the post-processing the paper applies), vectorised in torch.

norbert loops over frames in numpy and was the slowest stage of separation on CPU;
this port computes the same thing for all frames at once, on any device, in the
separator's (sources, channels, bins, frames) layout, and applies each source's gain as
v_j R_j (Cxx^-1 x), sharing Cxx^-1 x between sources; stereo takes a closed form. A test
keeps it within 1e-3 of norbert itself.
"""

from __future__ import annotations

import math

import torch


def residual_model(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Append a residual source: the mixture magnitude the model leaves unexplained
    (norbert.residual_model with alpha = 1). v: (S, C, F, T), x: (C, F, T) complex."""
    eps = torch.finfo(v.dtype).eps
    vx = x.abs().clamp_min(eps)
    total = v.sum(0)
    gain = (vx * total).sum(-1, keepdim=True) / (eps + total.pow(2).sum(-1, keepdim=True))
    return torch.cat([v * gain, (vx - total).clamp_min(0)[None]])


def _invert(m: torch.Tensor, eps: float) -> torch.Tensor:
    """Inverse of (..., C, C) matrices, closed form for one channel as norbert does (two
    channels take `_update_stereo`)."""
    return 1.0 / (m + eps) if m.shape[-1] == 1 else torch.linalg.inv(m)


def wiener(v: torch.Tensor, x: torch.Tensor, iterations: int = 1, out: torch.Tensor | None = None) -> torch.Tensor:
    """Source STFTs (S, C, F, T) from magnitude estimates v (S, C, F, T) and the mixture
    STFT x (C, F, T): a soft mask, then `iterations` EM updates of each source's power
    spectrogram (S, F, T) and spatial covariance R (S, F, C, C):
    Cxx = sum_j power_j R_j + reg, y_j = power_j R_j Cxx^-1 x. Written into `out` when
    given (any memory layout: the separator's stems spectra), saving a copy."""
    eps = torch.finfo(v.dtype).eps
    out = torch.empty(v.shape[:1] + x.shape, dtype=x.dtype, device=x.device) if out is None else out
    share = v / (eps + v.sum(0))
    if iterations == 0:
        return torch.mul(share, x, out=out)
    scale = max(1.0, float(x.abs().max()) / 10.0)  # norbert's, for the regularisation's sake
    x = x / scale
    y = share * x
    regularisation = math.sqrt(eps)
    for i in range(iterations):
        squares = torch.view_as_real(y).square().sum(-1)  # |y|^2, (S, C, F, T)
        power = squares.mean(1)
        norm = 1.0 / (eps + power.sum(-1))  # (S, F)
        target = out if i == iterations - 1 else torch.empty_like(y)
        if x.shape[0] == 2:
            y = _update_stereo(y, x, power, squares.sum(-1) * norm[:, None], norm, regularisation, target)
            continue
        cov = torch.einsum("sift,sjft->sfij", y, y.conj()) * norm[..., None, None]
        eye = regularisation * torch.eye(x.shape[0], dtype=x.dtype, device=x.device)
        mix_cov = torch.einsum("sft,sfij->ftij", power.to(x.dtype), cov) + eye
        z = torch.einsum("ftij,jft->ift", _invert(mix_cov, eps), x)  # Cxx^-1 x
        y = target.copy_(power[:, None] * torch.einsum("sfij,jft->sift", cov, z))
    return y.mul_(scale)


def _update_stereo(
    y: torch.Tensor,
    x: torch.Tensor,
    power: torch.Tensor,
    diagonal: torch.Tensor,
    norm: torch.Tensor,
    regularisation: float,
    out: torch.Tensor,
) -> torch.Tensor:
    """One EM update for two channels in closed form: R_j = [[a, b], [b*, d]] is Hermitian,
    so Cxx is too and its inverse is [[D, -B], [-B*, A]] / (AD - |B|^2). The same numbers
    as the general path in 1.7x less time (no C x C tensors, no permuted copies)."""
    a, d = diagonal[:, 0], diagonal[:, 1]  # (S, F)
    b = (y[:, 0] * y[:, 1].conj()).sum(-1) * norm
    big_a = torch.einsum("sft,sf->ft", power, a) + regularisation
    big_d = torch.einsum("sft,sf->ft", power, d) + regularisation
    big_b = torch.einsum("sft,sf->ft", power.to(b.dtype), b)
    inv_det = 1 / (big_a * big_d - torch.view_as_real(big_b).square().sum(-1))
    z0 = (big_d * x[0] - big_b * x[1]) * inv_det
    z1 = (big_a * x[1] - big_b.conj() * x[0]) * inv_det
    torch.mul(b[..., None] * power, z1, out=out[:, 0]).add_(a[..., None] * power * z0)
    torch.mul(b.conj()[..., None] * power, z0, out=out[:, 1]).add_(d[..., None] * power * z1)
    return out
