"""The phi x mosaic steps of every path: Miller indices, F_latt, F_cell.

Precision: cells and scattering vectors arrive in the path dtype (float64
where available), so h, k, l are accurate; everything after the reduction to
fractional indices runs in the dtype of ``n_cells`` (the run dtype).

Layout: the step axis (phi step, mosaic domain) comes first and the paths
last, ``(steps, paths)``, so the path axis is contiguous: h, k, l of every
step and path are the rotated cells ``(steps*3, 3)`` dotted with the
scattering vectors ``(3, paths)``, and every later operation is elementwise
along contiguous memory (what both eager kernels and the compiled, vectorized
kernel want).

Eager kernels round the same on every CPU and for every batch size: the dot
products and the sum over steps are built from elementwise operations in a
fixed order (:mod:`.ordered`), never from ``mm`` or ``Tensor.sum``, whose
rounding depends on the vector width and on MKL.

:func:`path_intensity` is the hot path (sum over steps of F_cell^2 F_latt^2
per path); :func:`step_values` keeps every per-step value for the trace,
tricubic interpolation and the ``oversample_*`` running-sum semantics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch

from .lattice import LatticeSpec, lattice_factor, nearest_index, sincg
from .ordered import cell_indices, pairwise_sum

__all__ = [
    "StepSpec",
    "Workspace",
    "miller_indices",
    "path_intensity",
    "path_intensity_nograd",
    "nograd_kernel_applies",
    "step_values",
    "nearest_F",
]


@dataclass(frozen=True)
class StepSpec:
    """Static description of the per-step computation (hashable: one compiled kernel per spec)."""

    lattice: LatticeSpec
    has_table: bool
    hkl_min: Tuple[int, int, int]
    hkl_max: Tuple[int, int, int]
    #: F_latt == 0 steps must be skipped explicitly (non-finite F, see path_intensity)
    skip_zero_latt: bool
    #: no water background: the legacy loop skips steps with F_latt == 0
    no_water: bool
    #: form h, k, l as explicit sums per axis (what a compiled, fused kernel wants)
    #: instead of one matmul (what eager execution wants)
    fused_indices: bool = False


def miller_indices(cells: torch.Tensor, scattering_t: torch.Tensor):
    """cells (steps, 3, 3) rows a, b, c (m); scattering_t (3, paths) 1/m -> h, k, l each (steps, paths)."""
    n = cells.shape[0]
    hkl = cell_indices(cells, scattering_t).view(n, 3, -1)
    return hkl[:, 0], hkl[:, 1], hkl[:, 2]


def nearest_F(spec: StepSpec, table: Optional[torch.Tensor], default_F: torch.Tensor, h0, k0, l0) -> torch.Tensor:
    """F of the nearest lattice point (legacy bounds), default_F outside the table or without one."""
    if not spec.has_table:
        return default_F.expand_as(h0)
    inside = None
    idx = []
    for v, lo, hi in zip((h0, k0, l0), spec.hkl_min, spec.hkl_max):
        t = (v >= lo) & (v <= hi)
        inside = t if inside is None else inside & t
    for v, lo in zip((h0, k0, l0), spec.hkl_min):
        idx.append(torch.where(inside, v - lo, torch.zeros_like(v)).to(torch.int64))
    hn, kn, ln = table.shape
    flat = (idx[0] * kn + idx[1]) * ln + idx[2]
    return torch.where(inside, table.reshape(-1)[flat], default_F)


def path_intensity(
    spec: StepSpec,
    cells: torch.Tensor,
    scattering_t: torch.Tensor,
    n_cells: torch.Tensor,
    fudge: torch.Tensor,
    recip: torch.Tensor,
    table: Optional[torch.Tensor],
    default_F: torch.Tensor,
) -> torch.Tensor:
    """Sum over the steps of F_cell^2 F_latt^2 for each path -> (paths,).

    With finite structure factors a step with F_latt == 0 contributes exactly
    0, which is what the legacy skip gives; only non-finite F (a corrupt
    Fdump) needs the explicit skip.  The square crystal (the common case)
    works on the three axes at once, (steps, 3, paths), to halve the number
    of tensor operations.
    """
    lat = spec.lattice
    # inactive axes (N == 1) give sin(x)/sin(x) == 1 exactly, so all three axes go together
    if lat.shape == "square" and not (lat.reduce and any(lat.real_n)):
        return _square_intensity(spec, cells, scattering_t, n_cells, table, default_F)
    h, k, l = miller_indices(cells, scattering_t)
    h0, fh = nearest_index(h)
    k0, fk = nearest_index(k)
    l0, fl = nearest_index(l)
    latt = lattice_factor(lat, (h, k, l), (h0, k0, l0), (fh, fk, fl), n_cells, fudge, recip)
    F = nearest_F(spec, table, default_F, h0, k0, l0)
    term = F * F * (latt * latt)
    if spec.skip_zero_latt and spec.no_water:
        term = torch.where(latt == 0, torch.zeros_like(term), term)
    return pairwise_sum(term)


def _square_intensity(spec: StepSpec, cells, scattering_t, n_cells, table, default_F) -> torch.Tensor:
    lat = spec.lattice
    n = cells.shape[0]
    N3 = n_cells.view(1, 3, 1)
    lookup = spec.has_table or spec.skip_zero_latt
    if spec.fused_indices:
        return _square_intensity_fused(spec, cells, scattering_t, n_cells, table, default_F)
    if lat.reduce:
        # indices in the path dtype (float64), reduced, then the run dtype (float32) for the rest
        hkl = cell_indices(cells, scattering_t).view(n, 3, -1)
        hkl0 = torch.ceil(hkl - 0.5) if lookup else torch.round(hkl)  # any nearest integer reduces sincg
        x = (hkl - hkl0).to(n_cells.dtype) * math.pi
    elif lookup:
        hkl = cell_indices(cells, scattering_t).view(n, 3, -1)
        hkl0 = torch.ceil(hkl - 0.5)
        x = math.pi * hkl
    else:  # legacy sincg(M_PI*h, N): pi after the dot product (folding it in changes the last bit)
        x = math.pi * cell_indices(cells, scattering_t).view(n, 3, -1)
    s = sincg(x, N3, lat.grad_safe)
    latt = s[:, 0] * s[:, 1] * s[:, 2]  # legacy order (a product over a dim may reorder)
    latt2 = latt * latt
    if not lookup:
        return pairwise_sum(latt2) * (default_F * default_F)
    F = nearest_F(spec, table, default_F, hkl0[:, 0], hkl0[:, 1], hkl0[:, 2])
    term = F * F * latt2
    if spec.skip_zero_latt and spec.no_water:
        term = torch.where(latt == 0, torch.zeros_like(term), term)
    return pairwise_sum(term)


def _square_intensity_fused(spec: StepSpec, cells, q, n_cells, table, default_F) -> torch.Tensor:
    """Same value as _square_intensity, one axis at a time with h = a.q written out (legacy order)."""
    lat = spec.lattice
    lookup = spec.has_table or spec.skip_zero_latt
    latt = None
    nearest = []
    for axis in range(3):
        a = cells[:, axis]  # (steps, 3)
        h = a[:, 0:1] * q[0] + a[:, 1:2] * q[1] + a[:, 2:3] * q[2]  # (steps, paths)
        h0 = None
        if lookup:
            h0 = torch.ceil(h - 0.5)
        elif lat.reduce:
            h0 = torch.round(h)
        x = (h - h0).to(n_cells.dtype) * math.pi if lat.reduce else math.pi * h
        r = sincg(x, n_cells[axis], lat.grad_safe)
        latt = r if latt is None else latt * r
        nearest.append(h0)
    latt2 = latt * latt
    if not lookup:
        return latt2.sum(0) * (default_F * default_F)
    F = nearest_F(spec, table, default_F, *nearest)
    term = F * F * latt2
    if spec.skip_zero_latt and spec.no_water:
        term = torch.where(latt == 0, torch.zeros_like(term), term)
    return term.sum(0)


class Workspace:
    """Scratch tensors reused by every call of :func:`path_intensity_nograd` in a run.

    The chunks of a run have the same shape (the last one is smaller), so the
    kernel writes into the same, cache-warm memory instead of allocating about
    ten tensors per call.
    """

    def __init__(self):
        self._buffers: Dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: Tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        size = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.numel() < size or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(size, dtype=dtype, device=device)
            self._buffers[name] = buf
        return buf[:size].view(shape)


def nograd_kernel_applies(spec: StepSpec, run_dtype: torch.dtype, path_dtype: torch.dtype) -> bool:
    """Whether :func:`path_intensity_nograd` computes this spec: the square crystal with the
    integer-N reduced sincg or the legacy expression (in the path dtype), finite structure
    factors, no gradients."""
    lat = spec.lattice
    return (
        lat.shape == "square"
        and (lat.reduce or run_dtype == path_dtype)
        and not lat.grad_safe
        and not (lat.reduce and any(lat.real_n))
        and not spec.skip_zero_latt
        and not spec.fused_indices
    )


def path_intensity_nograd(
    spec: StepSpec,
    cells: torch.Tensor,
    scattering_t: torch.Tensor,
    n_cells: torch.Tensor,
    n_values: Tuple[float, float, float],
    table: Optional[torch.Tensor],
    default_F: torch.Tensor,
    workspace: Workspace,
) -> torch.Tensor:
    """:func:`path_intensity` of the square crystal, bit for bit, for runs without gradients.

    Same arithmetic in the same order, but in place in reused buffers, and the
    legacy ``x == 0 -> N`` case of sincg without a comparison and a select over
    every element: sin(N x)/sin(x) is 0/0 = NaN exactly where x == 0 (|sin x| > 0
    for every other finite x the kernel sees), so ``nan_to_num_(nan=N)`` maps
    those elements, and only those, to N.  It would also map a NaN coming from a
    non-finite cell or scattering vector to N; the legacy value there is NaN,
    restored per path by adding ``0 * (sum of the inputs)`` (NaN iff an input is
    not finite, else +0).  n_values: Na, Nb, Nc as host floats of ``n_cells``.
    """
    lat = spec.lattice
    lookup = spec.has_table
    n, paths = cells.shape[0], scattering_t.shape[1]
    dev, dt = scattering_t.device, n_cells.dtype
    rows = (n * 3, paths)
    hkl0 = None
    hkl = cell_indices(
        cells,
        scattering_t,
        out=workspace.get("hkl", rows, scattering_t.dtype, dev),
        scratch=workspace.get("scratch", rows, scattering_t.dtype, dev),
    )
    if lat.reduce or lookup:
        if lookup:
            hkl0 = torch.sub(hkl, 0.5, out=workspace.get("hkl0", rows, hkl.dtype, dev)).ceil_()
        elif lat.reduce:
            hkl0 = torch.round(hkl, out=workspace.get("hkl0", rows, hkl.dtype, dev))  # any nearest integer reduces
        if lat.reduce:
            frac = hkl.sub_(hkl0)
            if frac.dtype == dt:
                x = frac.mul_(math.pi)
            else:  # the run dtype from here on (float32)
                x = workspace.get("x", rows, dt, dev).copy_(frac).mul_(math.pi)
        else:
            x = torch.mul(hkl, math.pi, out=workspace.get("x", rows, dt, dev))
    else:  # legacy sincg(M_PI*h, N); the path dtype is the run dtype here
        x = hkl.mul_(math.pi)
    x = x.view(n, 3, paths)
    ratio = torch.mul(x, n_cells.view(1, 3, 1), out=workspace.get("nx", (n, 3, paths), dt, dev))
    ratio.sin_()
    ratio.div_(x.sin_())
    if n_values[0] == n_values[1] == n_values[2]:
        ratio.nan_to_num_(nan=n_values[0], posinf=math.inf, neginf=-math.inf)
    else:
        for axis in range(3):
            ratio[:, axis].nan_to_num_(nan=n_values[axis], posinf=math.inf, neginf=-math.inf)
    latt2 = torch.mul(ratio[:, 0], ratio[:, 1], out=workspace.get("latt", (n, paths), dt, dev))
    latt2.mul_(ratio[:, 2]).square_()
    if lookup:
        hkl0 = hkl0.view(n, 3, paths)
        F = nearest_F(spec, table, default_F, hkl0[:, 0], hkl0[:, 1], hkl0[:, 2])
        total = pairwise_sum(F.square_().mul_(latt2), inplace=True).clone()
    else:
        total = pairwise_sum(latt2, inplace=True).mul(default_F * default_F)
    nonfinite = (scattering_t.sum(0) + cells.sum()) * 0.0  # NaN where an input is not finite, else +0
    return total.add_(nonfinite.to(total.dtype))


def step_values(
    spec: StepSpec,
    cells: torch.Tensor,
    scattering_t: torch.Tensor,
    n_cells: torch.Tensor,
    fudge: torch.Tensor,
    recip: torch.Tensor,
    table: Optional[torch.Tensor],
    default_F: torch.Tensor,
) -> Dict[str, torch.Tensor]:
    """Every per-step value, each (steps, paths): h, k, l, h0, k0, l0, F_latt, F_nearest."""
    h, k, l = miller_indices(cells, scattering_t)
    h0, fh = nearest_index(h)
    k0, fk = nearest_index(k)
    l0, fl = nearest_index(l)
    latt = lattice_factor(spec.lattice, (h, k, l), (h0, k0, l0), (fh, fk, fl), n_cells, fudge, recip)
    return {
        "h": h,
        "k": k,
        "l": l,
        "h0": h0,
        "k0": k0,
        "l0": l0,
        "F_latt": latt,
        "F_nearest": nearest_F(spec, table, default_F, h0, k0, l0),
    }
