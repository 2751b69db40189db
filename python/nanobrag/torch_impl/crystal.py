"""Unit cell, orientation and crystal size derived from the Config.

Legacy order: reciprocal cell from the cell parameters (default orientation),
replaced by a MOSFLM matrix when one is given, rotated by the misset angles,
then the real/reciprocal round trip (with the cell lengths enforced when a
cell was given), conversion of the real-space vectors to metres and the
crystal-size to cell-count conversion.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import List, Optional

import torch

from ..config import Config
from .context import RTD, Context, value_of
from .vectors import cross, dot, norm, rotate_xyz

__all__ = ["CrystalModel", "derive_crystal"]

_DBL_MIN = sys.float_info.min


@dataclass
class CrystalModel:
    a0: torch.Tensor  # m, real-space cell at phi = 0 without mosaic
    b0: torch.Tensor
    c0: torch.Tensor
    a_star: torch.Tensor  # 1/Angstrom, unrotated reciprocal cell (round/gauss/tophat spot widths)
    b_star: torch.Tensor
    c_star: torch.Tensor
    volume_A3: torch.Tensor
    n_cells: torch.Tensor  # (3,) Na, Nb, Nc after size conversion and clamping
    n_cells_raw: tuple  # host values as given (the interpolation auto-selection uses them)
    misset_rad: torch.Tensor  # (3,)


def _cell_reciprocal(ctx: Context, cell, warnings: List[str]):
    """Reciprocal vectors in the default orientation plus (a, b, c, V) in Angstrom."""
    a, b, c, al, be, ga = (ctx.scalar(v) for v in cell)
    if value_of(b) <= 0.0:
        b = a
    if value_of(c) <= 0.0:
        c = a
    al, be, ga = (x / RTD if value_of(x) > 0.0 else ctx.scalar(math.pi / 2) for x in (al, be, ga))
    half = (al + be + ga) / 2
    skew = torch.sin(half) * torch.sin(half - al) * torch.sin(half - be) * torch.sin(half - ga)
    skew = torch.abs(skew)
    volume = 2.0 * a * b * c * torch.sqrt(skew)
    if value_of(volume) <= 0.0:
        warnings.append(f"WARNING: impossible unit cell volume: {value_of(volume):g}")
        volume = volume * 0 + _DBL_MIN
    v_star = 1.0 / volume
    a_len = b * c * torch.sin(al) * v_star
    b_len = c * a * torch.sin(be) * v_star
    c_len = a * b * torch.sin(ga) * v_star
    if min(value_of(a_len), value_of(b_len), value_of(c_len)) <= 0.0:
        warnings.append("WARNING: impossible reciprocal cell lengths")
        a_len, b_len, c_len = (torch.clamp(torch.abs(x), min=_DBL_MIN) for x in (a_len, b_len, c_len))
    sin_ga_star = torch.clamp(c * v_star / a_len / b_len, -1.0, 1.0)
    cos_al_star = (torch.cos(be) * torch.cos(ga) - torch.cos(al)) / (torch.sin(be) * torch.sin(ga))
    cos_be_star = (torch.cos(ga) * torch.cos(al) - torch.cos(be)) / (torch.sin(ga) * torch.sin(al))
    cos_ga_star = (torch.cos(al) * torch.cos(be) - torch.cos(ga)) / (torch.sin(al) * torch.sin(be))
    cos_al_star, cos_be_star, cos_ga_star = (
        torch.where(x * x > 1.0, torch.ones_like(x), x) for x in (cos_al_star, cos_be_star, cos_ga_star)
    )
    zero = a * 0
    a_star = torch.stack((a_len, zero, zero))
    b_star = torch.stack((b_len * cos_ga_star, b_len * sin_ga_star, zero))
    c_star = torch.stack(
        (
            c_len * cos_be_star,
            c_len * (cos_al_star - cos_be_star * cos_ga_star) / sin_ga_star,
            c_len * volume / (a * b * c * sin_ga_star),
        )
    )
    return a_star, b_star, c_star, (a, b, c, volume)


def derive_crystal(
    ctx: Context,
    config: Config,
    wavelength_m: torch.Tensor,
    beamsize_m: float,
    misset_rad: Optional[torch.Tensor],
    warnings: List[str],
) -> CrystalModel:
    xt = config.crystal
    user_cell = None
    if xt.cell is not None:
        a_star, b_star, c_star, user_cell = _cell_reciprocal(ctx, xt.cell, warnings)
    if xt.mosflm_matrix is not None:
        m = xt.mosflm_matrix
        m = m.to(device=ctx.device, dtype=ctx.derive_dtype) if isinstance(m, torch.Tensor) else ctx.constant(m)
        scale = 1e-10 / wavelength_m
        a_star, b_star, c_star = m[:, 0] * scale, m[:, 1] * scale, m[:, 2] * scale
    if misset_rad is None:
        misset_rad = ctx.vector((0.0, 0.0, 0.0))
    else:
        a_star, b_star, c_star = (rotate_xyz(v, misset_rad[0], misset_rad[1], misset_rad[2]) for v in (a_star, b_star, c_star))

    a_x_b, b_x_c, c_x_a = cross(a_star, b_star), cross(b_star, c_star), cross(c_star, a_star)
    v_star = dot(a_star, b_x_c)
    if user_cell is not None:
        a_len, b_len, c_len, volume = user_cell

        def rescale(v, length):
            old = norm(v)
            old = torch.where(old <= 0.0, torch.ones_like(old), old)
            return length / old * v

        b_x_c, c_x_a, a_x_b = rescale(b_x_c, a_len / volume), rescale(c_x_a, b_len / volume), rescale(a_x_b, c_len / volume)
        v_star = 1.0 / volume
    volume = 1.0 / v_star
    a, b, c = volume * b_x_c, volume * c_x_a, volume * a_x_b
    a_star, b_star, c_star = v_star * cross(b, c), v_star * cross(c, a), v_star * cross(a, b)
    a, b, c = 1e-10 * a, 1e-10 * b, 1e-10 * c

    sizes = [value_of(v) / 1000.0 for v in xt.size_mm]
    for axis, name in ((1, "high"), (2, "wide")):
        if beamsize_m >= 0 and beamsize_m < sizes[axis]:
            warnings.append(f"WARNING: clipping sample ({sizes[axis]:g} m {name}) with beam ({beamsize_m:g} m)")
            sizes[axis] = beamsize_m
    n_raw = tuple(value_of(v) for v in xt.n_cells)
    n_list = []
    for axis, vec in enumerate((a, b, c)):
        if sizes[axis] > 0:
            n = ctx.scalar(math.ceil(sizes[axis] / value_of(norm(vec))))
        else:
            n = ctx.scalar(xt.n_cells[axis])
        n = torch.where(n <= 1.0, torch.ones_like(n), n)
        n_list.append(n)
    return CrystalModel(
        a0=a,
        b0=b,
        c0=c,
        a_star=a_star,
        b_star=b_star,
        c_star=c_star,
        volume_A3=volume,
        n_cells=torch.stack(n_list),
        n_cells_raw=n_raw,
        misset_rad=misset_rad,
    )
