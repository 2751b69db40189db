"""Lattice transform F_latt of the four crystal shapes.

Accuracy: the legacy sincg evaluates sin(N pi h)/sin(pi h) on the full
fractional index h.  For |h| of tens to hundreds the argument N pi h is
large and, in float32, carries an absolute error of ~1e-5 rad per unit of
|N h| -- enough to move the zeros of F_latt.  sin(N pi h)/sin(pi h) is
periodic in h up to a sign, so h is first reduced by its nearest integer n
(h = n + f, |f| <= 1/2) and the ratio is evaluated on f:

    sincg(h) = (-1)^(n (N_int + 1)) sin(pi (N f + r)) / sin(pi f)

with N_int = floor(N) and r = (N - N_int) n reduced modulo 2 (r = 0 for an
integer N; the term keeps N real-valued so d/dN is exact).  This is
algebraically the legacy value; in float64 it agrees with the legacy
evaluation to ~1e-13 relative, in float32 it keeps ~1e-6.  The sign only
matters where F_latt is reported (trace); intensities use F_latt^2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["LatticeSpec", "nearest_index", "sincg", "lattice_factor"]

#: sqrt of the volume ratio between a cube and the inscribed sphere (legacy constant)
_ROUND_SCALE = 0.723601254558268


@dataclass(frozen=True)
class LatticeSpec:
    """Static (host) description of the lattice transform; the N values are tensors."""

    shape: str  # square, round, gauss, tophat
    #: per axis: apply the sincg factor (the legacy "N > 1" test)
    active: tuple = (True, True, True)
    #: per axis: N may be non-integer or needs d/dN, so keep the r term
    real_n: tuple = (False, False, False)
    #: compute the sign of F_latt (trace output); intensities do not need it
    signed: bool = False


def nearest_index(h: torch.Tensor):
    """(h0, f) with h0 = ceil(h - 1/2) (the legacy rounding) and f = h - h0."""
    h0 = torch.ceil(h - 0.5)
    return h0, h - h0


def sincg(n: torch.Tensor, f: torch.Tensor, N: torch.Tensor, real_n: bool, signed: bool) -> torch.Tensor:
    """sin(N pi h)/sin(pi h) for h = n + f (legacy value N at h = 0)."""
    x = math.pi * f
    arg = N * x
    n_int = torch.floor(N)
    if real_n:
        r = (N - n_int) * n
        r = r - 2.0 * torch.round(0.5 * r)
        arg = arg + math.pi * r
    zero = f == 0
    den = torch.where(zero, torch.ones_like(x), torch.sin(x))
    value = torch.where(zero, N, torch.sin(arg) / den)
    if signed:
        parity = torch.remainder(n * (n_int + 1.0), 2.0)
        value = value * (1.0 - 2.0 * parity)
    return value


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def sinc3(x: torch.Tensor) -> torch.Tensor:
    """3 (sin x / x - cos x) / x^2, 1 at x = 0 (Fourier transform of a sphere)."""
    zero = x == 0
    xs = torch.where(zero, torch.ones_like(x), x)
    return torch.where(zero, torch.ones_like(x), 3.0 * (torch.sin(xs) / xs - torch.cos(xs)) / (xs * xs))


def lattice_factor(spec: LatticeSpec, hkl0, frac, N, fudge, recip=None) -> torch.Tensor:
    """F_latt from the nearest indices hkl0 = (h0, k0, l0), fractions frac = (h-h0, ...).

    N: (3,) tensor Na, Nb, Nc; recip: (3, 3) rows a*, b*, c* (1/Angstrom) for gauss/tophat.
    """
    Na, Nb, Nc = N[0], N[1], N[2]
    if spec.shape == "square":
        value = None
        for axis in range(3):
            if not spec.active[axis]:
                continue
            s = sincg(hkl0[axis], frac[axis], N[axis], spec.real_n[axis], spec.signed)
            value = s if value is None else value * s
        if value is None:
            value = torch.ones_like(frac[0])
        return value
    if spec.shape == "round":
        fh, fk, fl = frac
        hrad2 = fh * fh * Na * Na + fk * fk * Nb * Nb + fl * fl * Nc * Nc
        return Na * Nb * Nc * _ROUND_SCALE * sinc3(math.pi * _safe_sqrt(hrad2 * fudge))
    fh, fk, fl = frac
    dx = fh * recip[0, 0] + fk * recip[1, 0] + fl * recip[2, 0]
    dy = fh * recip[0, 1] + fk * recip[1, 1] + fl * recip[2, 1]
    dz = fh * recip[0, 2] + fk * recip[1, 2] + fl * recip[2, 2]
    rad2 = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc
    if spec.shape == "gauss":
        return Na * Nb * Nc * torch.exp(-(rad2 / 0.63 * fudge))
    if spec.shape == "tophat":
        return Na * Nb * Nc * (rad2 * fudge < 0.3969).to(frac[0].dtype)
    raise ValueError(f"unknown crystal shape {spec.shape!r}")
