"""X-ray sources: incident directions and wavelengths.

Either the explicit source table (missing columns filled with the legacy
defaults; the weight column is read but, as in the legacy program, weights
nothing) or the divergence grid (trimmed to an ellipse with round_div) times
the dispersion steps.  Positions are unitized at the end, as the legacy does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np
import torch

from ..config import Config, ConfigError
from .context import Context
from .sampling import SpectralSampling
from .vectors import rotate_about_axis, unitize

__all__ = ["SourceModel", "derive_sources"]

#: the legacy source distance (m); only the direction matters after unitizing
_SOURCE_DISTANCE = 10.0


@dataclass
class SourceModel:
    position: torch.Tensor  # (R, 3) unit vectors from the sample towards each source
    wavelength: torch.Tensor  # (R,) m
    divergence_steps: int

    @property
    def count(self) -> int:
        return int(self.position.shape[0])


def _keep_divergence(hdiv: float, vdiv: float, sp: SpectralSampling, round_div: bool) -> bool:
    with np.errstate(divide="ignore", invalid="ignore"):
        test = (np.float64(hdiv) * hdiv - sp.hdivstep * sp.hdivstep / 4.0 * (1 - sp.hdivsteps % 2)) / np.float64(sp.hdivrange) / sp.hdivrange
        test += (np.float64(vdiv) * vdiv - sp.vdivstep * sp.vdivstep / 4.0 * (1 - sp.vdivsteps % 2)) / np.float64(sp.vdivrange) / sp.vdivrange
        return not (round_div and test * 4.0 > 1.1)


def derive_sources(
    ctx: Context,
    config: Config,
    spectral: SpectralSampling,
    wavelength_m: torch.Tensor,
    beam: torch.Tensor,
    polar: torch.Tensor,
    vert: torch.Tensor,
    warnings: List[str],
) -> SourceModel:
    table = config.beam.sources
    if table is not None:
        rows = np.asarray(table.rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != 5 or rows.shape[0] < 1:
            raise ConfigError(f"beam.sources must hold rows of X Y Z weight lambda, got shape {rows.shape}")
        xyz = ctx.constant(rows[:, :3])
        default_xyz = -_SOURCE_DISTANCE * beam
        missing = torch.isnan(xyz)
        xyz = torch.where(missing, default_xyz.expand_as(xyz), xyz)
        lam = ctx.constant(rows[:, 4])
        lam = torch.where(torch.isnan(lam), wavelength_m.expand_as(lam), lam)
        position = unitize(xyz)[0]
        return SourceModel(position=position, wavelength=lam, divergence_steps=-1)  # legacy: not counted

    directions = []
    for ih in range(spectral.hdivsteps):
        for iv in range(spectral.vdivsteps):
            hdiv = spectral.hdivstep * ih - spectral.hdivrange / 2.0
            vdiv = spectral.vdivstep * iv - spectral.vdivrange / 2.0
            if not _keep_divergence(hdiv, vdiv, spectral, config.beam.round_div):
                continue
            v = -_SOURCE_DISTANCE * beam
            v = rotate_about_axis(v, polar, ctx.scalar(vdiv))
            v = rotate_about_axis(v, vert, ctx.scalar(hdiv))
            directions.append(v)
    if not directions:
        raise ConfigError("beam: the divergence grid is empty after the round_div trim")
    factors = [1.0 + spectral.dispstep * k - spectral.dispersion / 2.0 for k in range(spectral.dispsteps)]
    positions, lambdas = [], []
    for v in directions:
        for f in factors:
            positions.append(v)
            lambdas.append(wavelength_m * f)
    position = unitize(torch.stack(positions))[0]
    return SourceModel(position=position, wavelength=torch.stack(lambdas), divergence_steps=len(directions))
