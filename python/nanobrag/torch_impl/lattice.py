"""Lattice transform F_latt of the four crystal shapes.

sincg(x, N) = sin(N x)/sin(x) with x = pi h (N at x = 0 exactly, as the
legacy).  float64 evaluates exactly the legacy expression on the full
fractional index h.

float32 accuracy: for |h| of tens to hundreds the argument N pi h is large
and its float32 rounding error (~1e-7 relative, i.e. ~1e-4 rad for N h ~ 300)
moves the zeros of F_latt.  sin(N pi h)/sin(pi h) is periodic in h up to a
sign, so the float32 path first reduces h by its nearest integer n
(h = n + f, |f| <= 1/2) and evaluates

    sincg = (-1)^(n (N_int + 1)) sin(pi (N f + r)) / sin(pi f)

with N_int = floor(N) and r = (N - N_int) n reduced modulo 2 (r = 0 for an
integer N; the term keeps a real-valued N exact, and d/dN too).  The sign
only matters where F_latt is reported (trace); intensities use F_latt^2.
Measured effect: see specs/torch_engine.md ("float32 accuracy").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["LatticeSpec", "nearest_index", "sincg", "sincg_reduced", "lattice_factor"]

#: sqrt of the volume ratio between a cube and the inscribed sphere (legacy constant)
_ROUND_SCALE = 0.723601254558268


@dataclass(frozen=True)
class LatticeSpec:
    """Static (host) description of the lattice transform; the N values are tensors."""

    shape: str  # square, round, gauss, tophat
    #: per axis: apply the sincg factor (the legacy "N > 1" test)
    active: tuple = (True, True, True)
    #: reduce h by its nearest integer before sincg (the float32 path)
    reduce: bool = False
    #: per axis: N may be non-integer or needs d/dN (reduced path keeps the r term)
    real_n: tuple = (False, False, False)
    #: keep gradients finite at x == 0 (costs one more op per axis)
    grad_safe: bool = False
    #: compute the sign of F_latt of the reduced path (trace output)
    signed: bool = False


def nearest_index(h: torch.Tensor):
    """(h0, f) with h0 = ceil(h - 1/2) (the legacy rounding) and f = h - h0."""
    h0 = torch.ceil(h - 0.5)
    return h0, h - h0


def sincg(x: torch.Tensor, N, grad_safe: bool) -> torch.Tensor:
    """sin(N x)/sin(x), N at x == 0 (legacy); x = pi h, or pi f on the reduced path."""
    zero = x == 0
    den = torch.sin(x)
    if grad_safe:
        den = torch.where(zero, torch.ones_like(den), den)
    return torch.where(zero, N, torch.sin(N * x) / den)


def sincg_reduced(n: torch.Tensor, f: torch.Tensor, N: torch.Tensor, real_n: bool, grad_safe: bool, signed: bool):
    """sincg of h = n + f evaluated on the reduced index f (float32 accuracy)."""
    x = math.pi * f.to(N.dtype)
    if real_n:
        n_int = torch.floor(N)
        r = (N - n_int) * n
        r = (r - 2.0 * torch.round(0.5 * r)).to(N.dtype)
        zero = f == 0
        den = torch.sin(x)
        if grad_safe:
            den = torch.where(zero, torch.ones_like(den), den)
        value = torch.where(zero, N, torch.sin(N * x + math.pi * r) / den)
    else:
        n_int = N
        value = sincg(x, N, grad_safe)
    if signed:
        parity = torch.remainder(n * (n_int + 1.0), 2.0)
        value = value * (1.0 - 2.0 * parity)
    return value


def square_factor(spec: LatticeSpec, h, h0, f, N: torch.Tensor, axis: int) -> torch.Tensor:
    """One axis of the parallelepiped transform (legacy sincg(pi h, N))."""
    if spec.reduce:
        return sincg_reduced(h0, f, N, spec.real_n[axis], spec.grad_safe, spec.signed)
    return sincg(math.pi * h, N, spec.grad_safe)


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def sinc3(x: torch.Tensor) -> torch.Tensor:
    """3 (sin x / x - cos x) / x^2, 1 at x = 0 (Fourier transform of a sphere)."""
    zero = x == 0
    xs = torch.where(zero, torch.ones_like(x), x)
    return torch.where(zero, torch.ones_like(x), 3.0 * (torch.sin(xs) / xs - torch.cos(xs)) / (xs * xs))


def lattice_factor(spec: LatticeSpec, hkl, hkl0, frac, N, fudge, recip=None) -> torch.Tensor:
    """F_latt from the indices hkl = (h, k, l), the nearest hkl0 = (h0, ...) and frac = (h - h0, ...).

    N: (3,) tensor Na, Nb, Nc; recip: (3, 3) rows a*, b*, c* (1/Angstrom) for gauss/tophat.
    """
    Na, Nb, Nc = N[0], N[1], N[2]
    if spec.reduce:
        frac = tuple(f.to(N.dtype) for f in frac)  # indices were reduced in the path dtype
    if spec.shape == "square":
        value = None
        for axis in range(3):
            if not spec.active[axis]:
                continue
            s = square_factor(spec, hkl[axis], hkl0[axis], frac[axis], N[axis], axis)
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
