"""Structure factor F_cell: nearest lattice point or tricubic interpolation.

The table is a dense P1 grid (``StructureFactorTable``).  Reflections outside
the grid (and every reflection when there is no grid) get ``default_F``; the
nearest-point lookup itself is :func:`steps.nearest_F` (inside the hot kernel).
Tricubic interpolation is the legacy 4x4x4 Lagrange scheme (l, then k, then
h), including its bounds test, which is one index more conservative on the
low side than the stencil needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from ..config import Config
from .context import Context, value_of

__all__ = ["StructureFactorModel", "derive_structure_factors"]


@dataclass
class StructureFactorModel:
    table: Optional[torch.Tensor]  # (Hn, Kn, Ln) in the run dtype, or None
    hkl_min: Tuple[int, int, int]
    hkl_max: Tuple[int, int, int]
    default_F: torch.Tensor  # 0-d, run dtype
    interpolate: bool  # the decision before any switch-off
    all_finite: bool  # table and default_F finite (then F_latt == 0 steps contribute exactly 0)

    @property
    def has_table(self) -> bool:
        return self.table is not None

    # ------------------------------------------------------------------ tricubic
    def out_of_range(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """The legacy test on the fractional indices that switches interpolation off."""
        bad = None
        for x, lo, hi in zip((h, k, l), self.hkl_min, self.hkl_max):
            span = hi - lo + 1
            t = (x - lo + 3 > span) | (x - 2 < lo)
            bad = t if bad is None else bad | t
        return bad

    def tricubic(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """Tricubic Lagrange interpolation; meaningful where ``out_of_range`` is False."""
        base = [torch.floor(x) for x in (h, k, l)]
        offsets = torch.arange(-1, 3, device=h.device, dtype=h.dtype)
        nodes = [b.unsqueeze(-1) + offsets for b in base]  # (..., 4) per axis
        lo = self.hkl_min
        hi = self.hkl_max
        idx = []
        for axis in range(3):
            n = nodes[axis]
            ok = (n >= lo[axis]) & (n <= hi[axis])
            idx.append(torch.where(ok, n - lo[axis], torch.zeros_like(n)).long())
        hn, kn, ln = self.table.shape
        flat = (idx[0][..., :, None, None] * kn + idx[1][..., None, :, None]) * ln + idx[2][..., None, None, :]
        cube = self.table.reshape(-1)[flat]  # (..., 4, 4, 4) [h][k][l]
        fl = _polint(l.unsqueeze(-1).unsqueeze(-1), nodes[2].unsqueeze(-2).unsqueeze(-2), cube)  # (..., 4, 4)
        fk = _polint(k.unsqueeze(-1), nodes[1].unsqueeze(-2), fl)  # (..., 4)
        return _polint(h, nodes[0], fk)


def _polint(x: torch.Tensor, xa: torch.Tensor, ya: torch.Tensor) -> torch.Tensor:
    """Cubic Lagrange value at x through (xa[i], ya[i]), i = 0..3 on the last axis (legacy term order)."""
    d0, d1, d2, d3 = (x - xa[..., i] for i in range(4))
    e = [xa[..., i] for i in range(4)]
    y0, y1, y2, y3 = (ya[..., i] for i in range(4))
    x0 = d1 * d2 * d3 * y0 / ((e[0] - e[1]) * (e[0] - e[2]) * (e[0] - e[3]))
    x1 = d0 * d2 * d3 * y1 / ((e[1] - e[0]) * (e[1] - e[2]) * (e[1] - e[3]))
    x2 = d0 * d1 * d3 * y2 / ((e[2] - e[0]) * (e[2] - e[1]) * (e[2] - e[3]))
    x3 = d0 * d1 * d2 * y3 / ((e[3] - e[0]) * (e[3] - e[1]) * (e[3] - e[2]))
    return x0 + x1 + x2 + x3


def derive_structure_factors(ctx: Context, config: Config, n_cells_raw, warnings) -> StructureFactorModel:
    sf = config.structure_factors
    default_F = sf.default_F
    default_t = (
        default_F.to(device=ctx.device, dtype=ctx.dtype).reshape(())
        if isinstance(default_F, torch.Tensor)
        else torch.tensor(float(default_F), dtype=ctx.dtype, device=ctx.device)
    )
    table = None
    lo = hi = (0, 0, 0)
    if sf.table is not None:
        amps = sf.table.amplitudes
        if isinstance(amps, torch.Tensor):
            table = amps.to(device=ctx.device, dtype=ctx.dtype)
        else:
            table = torch.as_tensor(sf.table.as_numpy(), device=ctx.device).to(ctx.dtype)
        lo, hi = tuple(sf.table.hkl_min), tuple(sf.table.hkl_max)
    if sf.interpolate is None:
        interpolate = any(n <= 2 for n in n_cells_raw)
    else:
        interpolate = bool(sf.interpolate)
    if table is None:
        interpolate = False
    finite = math.isfinite(value_of(default_F))
    if table is not None:
        finite = finite and bool(torch.isfinite(table.detach()).all())
    return StructureFactorModel(
        table=table, hkl_min=lo, hkl_max=hi, default_F=default_t, interpolate=interpolate, all_finite=finite
    )
