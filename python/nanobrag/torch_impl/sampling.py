"""Sampling counts chosen with the legacy auto-selection rules.

Counts are integers decided on the host from the Config values (they are
piecewise constant, so they carry no gradient).  Ranges and steps that enter
the physics (phi start/step, wavelength factors, mosaic spread) stay tensors
where the user may differentiate them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

import torch

from ..config import Config, ConfigError
from .context import RTD, Context, value_of

__all__ = ["PhiSampling", "SpectralSampling", "SensorLayers", "MosaicSampling", "select_sampling"]

_MAX_STEPS = 1_000_000


def _given(x, divisor: float) -> float:
    """Unset (None) becomes the legacy "not given" marker -1; values are converted like atof()/divisor."""
    return -1.0 if x is None else value_of(x) / divisor


def _count(x) -> int:
    return -1 if x is None else int(x)


@dataclass
class PhiSampling:
    phi0: torch.Tensor  # radians
    phistep: torch.Tensor  # radians
    osc: torch.Tensor  # radians
    steps: int
    #: host float64 angles phi0 + phistep*k, used for the exact-zero test of the legacy carry-over
    angle_values: List[float]

    def angles(self) -> torch.Tensor:
        k = torch.arange(self.steps, dtype=self.phi0.dtype, device=self.phi0.device)
        return self.phi0 + self.phistep * k


@dataclass
class SpectralSampling:
    """Divergence grid and dispersion (radians; fractions of lambda)."""

    hdivsteps: int
    hdivrange: float
    hdivstep: float
    vdivsteps: int
    vdivrange: float
    vdivstep: float
    dispsteps: int
    dispersion: float
    dispstep: float


@dataclass
class SensorLayers:
    thick_m: float
    thickstep_m: float
    steps: int
    mu_per_m: float


@dataclass
class MosaicSampling:
    domains: int
    spread_rad: torch.Tensor


def _select_steps(n: int, rng: float, step: float, count_only_range: float):
    """The legacy rule shared by divergence and dispersion (count n, range, step)."""
    if n <= 0:
        if rng < 0.0:
            if step <= 0.0:
                n, rng, step = 1, 0.0, 0.0
            else:
                rng, n = step, 2
        else:
            if step <= 0.0:
                step, n = rng, 2
            else:
                n = int(math.ceil(rng / step))
    else:
        if rng < 0.0:
            if step <= 0.0:
                rng = count_only_range
                step = rng / n
            else:
                rng, n = step, 2
        else:
            if step <= 0.0:
                if n <= 1:
                    n = 2
                step = rng / (n - 1)
    return n, rng, step


def _select_layers(n: int, thick: float, step: float):
    """Sensor layers: like _select_steps except the range-only and count-only branches."""
    if n <= 0:
        if thick < 0.0:
            if step <= 0.0:
                n, thick, step = 1, 0.0, 0.0
            else:
                thick, n = step, 2
        else:
            if step <= 0.0:
                n = 2
                step = thick / n
            else:
                n = int(math.ceil(thick / step))
    else:
        if thick < 0.0:
            if step <= 0.0:
                thick = 0.5e-6
                step = thick / n
            else:
                thick, n = step, 2
        else:
            if step <= 0.0:
                if n <= 1:
                    n = 2
                step = thick / (n - 1)
    return n, thick, step


def _sanity(n: int, rng: float, step: float):
    if rng <= 0.0 or step <= 0.0 or n <= 0:
        return 1, 0.0, 0.0
    return n, rng, step


def _select_phi(ctx: Context, config: Config, warnings: List[str]) -> PhiSampling:
    s = config.sampling
    phi0 = ctx.scalar(s.phi_start_deg) / RTD
    osc_v = _given(s.osc_deg, RTD)
    step_v = _given(s.phi_step_deg, RTD)
    n = _count(s.phi_steps)
    osc_t = ctx.scalar(s.osc_deg) / RTD if s.osc_deg is not None else None
    step_t = ctx.scalar(s.phi_step_deg) / RTD if s.phi_step_deg is not None else None
    zero = ctx.scalar(0.0)
    if n < 0:
        if osc_v < 0.0:
            if step_v <= 0.0:
                n, osc, step = 1, zero, zero
            else:
                osc, step, n = step_t, step_t, 2
        else:
            if step_v <= 0.0:
                n, osc, step = 2, osc_t, osc_t / 2.0
            else:
                osc, step = osc_t, step_t
                n = int(math.ceil(osc_v / step_v))
    else:
        if n == 0:
            n = 1
        if osc_v < 0.0:
            if step_v <= 0.0:
                osc = ctx.scalar(1.0) / RTD
                step = osc / n
            else:
                osc, step, n = step_t, step_t, 2
        else:
            osc = osc_t
            step = osc_t / n if step_v < 0.0 else step_t
    if not 1 <= n <= _MAX_STEPS:
        raise ConfigError(f"sampling: {n} phi steps (from osc, phi_step, phi_steps) is out of range 1..{_MAX_STEPS}")
    p0, ps = value_of(phi0), value_of(step)
    return PhiSampling(phi0=phi0, phistep=step, osc=osc, steps=n, angle_values=[p0 + ps * k for k in range(n)])


def select_sampling(ctx: Context, config: Config, warnings: List[str]):
    """(PhiSampling, SpectralSampling, SensorLayers, MosaicSampling) with the legacy rules."""
    phi = _select_phi(ctx, config, warnings)
    b, d, c = config.beam, config.detector, config.crystal

    hn, hr, hs = _select_steps(_count(b.hdiv_steps), _given(b.hdiv_range_mrad, 1000.0), _given(b.hdiv_step_mrad, 1000.0), 1.0)
    vn, vr, vs = _select_steps(_count(b.vdiv_steps), _given(b.vdiv_range_mrad, 1000.0), _given(b.vdiv_step_mrad, 1000.0), 1.0)
    dn, dr, ds = _select_steps(_count(b.dispersion_steps), value_of(b.dispersion_percent) / 100.0, -1.0, 1.0)

    thick = value_of(d.thickness_um) * 1e-6
    mu = -1.0
    if d.attenuation_depth_um is not None:
        depth = value_of(d.attenuation_depth_um)
        if math.isinf(depth) or depth == 0.0:
            mu = 0.0  # nothing absorbed: a sensor of non-zero thickness captures nothing (legacy)
        else:
            mu = 1.0 / (depth * 1e-6)
    tn, thick, ts = _select_layers(_count(d.thicksteps), thick, -1.0)
    if thick > 0.0 and mu < 0.0:
        mu = 1.0 / thick
        warnings.append(f"WARNING: setting detector attenuation depth to {mu:g} m")

    spread_v = _given(c.mosaic_spread_deg, RTD)
    domains = _count(c.mosaic_domains)
    if domains <= 0:
        if spread_v < 0.0:
            domains, spread_v = 1, 0.0
        elif spread_v == 0.0:
            domains = 1
        else:
            warnings.append("WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains")
            domains = 10
    else:
        if spread_v < 0.0:
            warnings.append("WARNING: no mosaic spread specified.  setting mosaic_domains = 1")
            domains, spread_v = 1, 0.0
        elif spread_v == 0.0:
            warnings.append("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1")
            domains = 1
    if c.mosaic_spread_deg is not None and spread_v > 0.0:
        spread = ctx.scalar(c.mosaic_spread_deg) / RTD
    else:
        spread = ctx.scalar(spread_v)

    hn, hr, hs = _sanity(hn, hr, hs)
    vn, vr, vs = _sanity(vn, vr, vs)
    dn, dr, ds = _sanity(dn, dr, ds)
    tn, thick, ts = _sanity(tn, thick, ts)
    if max(hn, vn, dn, tn) > 100_000:
        raise ConfigError("beam/detector: divergence, dispersion or sensor-layer step count is unreasonably large (> 100000)")
    return (
        phi,
        SpectralSampling(hn, hr, hs, vn, vr, vs, dn, dr, ds),
        SensorLayers(thick_m=thick, thickstep_m=ts, steps=tn, mu_per_m=mu),
        MosaicSampling(domains=domains, spread_rad=spread),
    )
