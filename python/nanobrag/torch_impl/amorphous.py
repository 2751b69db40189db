"""The amorphous background (legacy nonBragg) in the torch engine, differentiable.

Per rendered pixel: ``r_e^2 * fluence * molecules / (sources * oversample^2)``
times the sum over sub-pixels, sensor layers and sources of
``sign(F) F^2 * polarization * omega * source weight * capture``, with F the
cubic through the four table points around the path's sin(theta)/lambda
(the table padded with two far points at each end, as the legacy).  Solid
angle, capture and polarization are evaluated per sub-pixel, layer and
source.  The geometry comes from :func:`.paths.prepare_paths` (the same code
as the crystal's paths); the gradients reach the sample size, density,
molecular weight, molecule count, fluence and the detector geometry.

Not reproduced bit for bit (the C engine is): the legacy re-normalises the
diffracted direction in place at every source's polarization factor and the
E-vector at every evaluation; those change the last bits only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..config import AmorphousSample, Config, ConfigError
from ..results import Geometry
from .context import Context, value_of
from .paths import prepare_paths

__all__ = ["AmorphousModel", "derive_amorphous", "amorphous_values", "background_only_plan"]

AVOGADRO = 6.02214179e23
R_E_SQR = 7.94079248018965e-30
_PAD_NEAR, _PAD_FAR = 1e98, 1e99
#: paths (pixels x layers x sub-pixels x sources) per batch
_BATCH_PATHS = 1 << 20


@dataclass
class AmorphousModel:
    stol: torch.Tensor  # (n + 4,) padded, 1/m, float64
    F: torch.Tensor  # (n + 4,) padded, float64
    molecules: torch.Tensor  # 0-d, derivation dtype
    weights: torch.Tensor  # (R,) source weights
    size_m: Tuple[float, float, float]  # after clipping to the beam
    density_g_m3: float


def _padded_table(ctx: Context, sample: AmorphousSample) -> Tuple[torch.Tensor, torch.Tensor]:
    table = sample.table
    x = np.asarray(table.stol_per_m(), dtype=np.float64)
    F = table.F_or_nan()
    present = F[~np.isnan(F)]
    low = present[0] if present.size else math.nan
    high = present[-1] if present.size else math.nan
    xs = np.concatenate(([-_PAD_FAR, -_PAD_NEAR], x, [_PAD_NEAR, _PAD_FAR]))
    Fs = np.concatenate(([low, low], np.nan_to_num(F, nan=0.0), [high, high]))
    # float64 whatever the run dtype: the padding abscissae (1e99) overflow float32
    return (torch.as_tensor(xs, dtype=torch.float64, device=ctx.device),
            torch.as_tensor(Fs, dtype=torch.float64, device=ctx.device))


def derive_amorphous(ctx: Context, config: Config, source_count: int, warnings: List[str]) -> AmorphousModel:
    """Padded table, molecules in the beam (width and height clipped to the beam) and source weights."""
    a = config.amorphous
    stol, F = _padded_table(ctx, a)
    beamsize = value_of(config.beam.beamsize_mm) / 1000
    x = ctx.scalar(a.thickness_mm) / 1000
    y = ctx.scalar(a.width_mm) / 1000
    z = ctx.scalar(a.height_mm) / 1000
    if beamsize >= 0:
        if beamsize < value_of(y):
            warnings.append(f"WARNING: clipping amorphous sample ({value_of(y):g} m high) with beam ({beamsize:g} m)")
            y = ctx.scalar(beamsize)
        if beamsize < value_of(z):
            warnings.append(f"WARNING: clipping amorphous sample ({value_of(z):g} m wide) with beam ({beamsize:g} m)")
            z = ctx.scalar(beamsize)
    volume = x * y * z
    density = ctx.scalar(a.density_g_cm3) * 1e6
    mw = ctx.scalar(a.molecular_weight_g_mol)
    if a.molecules is not None and value_of(a.molecules) != 0:
        density = ctx.scalar(a.molecules) / volume / AVOGADRO * mw
    molecules = volume * density * AVOGADRO / mw
    if not math.isfinite(value_of(molecules)):
        raise ConfigError(f"amorphous sample: {value_of(a.molecules):g} molecules in a {value_of(x):g} x {value_of(y):g} x "
                          f"{value_of(z):g} m block is not a finite count (a zero size with molecules given?)")
    if config.beam.sources is not None:
        w = np.asarray(config.beam.sources.rows, dtype=np.float64)[:, 3]
        weights = ctx.constant(np.where(np.isnan(w), 1.0, w))
    else:
        weights = torch.ones(source_count, dtype=ctx.derive_dtype, device=ctx.device)
    return AmorphousModel(
        stol=stol, F=F, molecules=molecules, weights=weights,
        size_m=(value_of(x), value_of(y), value_of(z)), density_g_m3=value_of(density),
    )


def _interpolate(stol_of: torch.Tensor, F_of: torch.Tensor, stol: torch.Tensor) -> torch.Tensor:
    """The legacy 4-point Lagrange cubic through points k-1..k+2, k the last table point <= stol.

    One gather of the four points per path; the denominators depend only on k
    (computed once per table, in the legacy's product order)."""
    n = stol_of.shape[0]
    k = (torch.searchsorted(stol_of, stol.detach().contiguous(), right=True) - 1).clamp(1, n - 3)
    starts = torch.arange(1, n - 2, device=stol_of.device)  # every admissible k
    window = (starts - 1).unsqueeze(-1) + torch.arange(4, device=stol_of.device)  # (n-3, 4)
    xw = stol_of[window]
    den = torch.stack([
        (xw[:, i] - xw[:, a]) * (xw[:, i] - xw[:, b]) * (xw[:, i] - xw[:, c])
        for i, (a, b, c) in enumerate(((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2)))
    ], dim=-1)  # (n-3, 4)
    row = k - 1
    idx = window[row]  # (..., 4)
    d = stol.unsqueeze(-1) - stol_of[idx]
    y = F_of[idx] / den[row]
    d0, d1, d2, d3 = d.unbind(-1)
    y0, y1, y2, y3 = y.unbind(-1)
    return d1 * d2 * d3 * y0 + d0 * d2 * d3 * y1 + d0 * d1 * d3 * y2 + d0 * d1 * d2 * y3


class _PathView:
    """The attributes :func:`prepare_paths` reads, set for per-step omega, capture and polarization."""

    def __init__(self, ctx, detector, layers, sources, oversample, kahn, nopolar):
        self.ctx, self.detector, self.layers, self.sources = ctx, detector, layers, sources
        self.oversample = oversample
        self.layer_count = layers.steps
        self.dmin_m = 0.0
        self.kahn = kahn
        self.nopolar = nopolar
        self.oversample_omega = True
        self.oversample_thick = layers.thick_m > 0.0
        self.oversample_polar = not nopolar


def amorphous_values(ctx: Context, config: Config, detector, layers, sources, oversample: int,
                     fluence: torch.Tensor, model: AmorphousModel, active: torch.Tensor) -> torch.Tensor:
    """Background photons of the rendered pixels ``active`` (raster indices), in the run dtype."""
    view = _PathView(ctx, detector, layers, sources, oversample, value_of(config.beam.kahn_factor),
                     bool(config.beam.nopolar))
    R = int(sources.position.shape[0])
    per_pixel = max(1, layers.steps * oversample * oversample * R)
    batch = max(1, _BATCH_PATHS // per_pixel)
    steps = R * oversample * oversample
    weights = model.weights.to(torch.float64)
    parts, last_F = [], []
    for start in range(0, int(active.shape[0]), batch):
        pix = active[start:start + batch]
        paths = prepare_paths(view, pix, for_trace=False)
        q = paths.scattering_c.to(torch.float64)
        stol = 0.5 * torch.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2])  # (P, T, S, R)
        F = _interpolate(model.stol, model.F, stol)
        last_F.append(F[:, -1, -1, -1])  # the legacy loop's last path: last sub-pixel, layer, source
        sign = torch.where(F < 0.0, -torch.ones_like(F), torch.ones_like(F))
        term = sign * F * F * paths.polar.to(torch.float64) * paths.omega.to(torch.float64).unsqueeze(-1)
        term = term * weights.view(1, 1, 1, -1) * paths.capture.to(torch.float64).unsqueeze(-1)
        parts.append(term.sum(dim=(1, 2, 3)))
    I = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64, device=ctx.device)
    if config.amorphous.fmap:
        return (torch.cat(last_F) if last_F else I).to(ctx.dtype)
    value = I * R_E_SQR * fluence.to(torch.float64) * model.molecules.to(torch.float64) / steps
    return value.to(ctx.dtype)


def background_only_plan(ctx: Context, config: Config):
    """Detector, layers, sources, fluence and oversampling of a run without a crystal."""
    from .detector import derive_detector
    from .plan import derive_fluence, _mask_tensor
    from .sampling import select_sampling
    from .sources import derive_sources

    warnings: List[str] = []
    wavelength = ctx.scalar(config.beam.wavelength_A) / 1.0e10
    detector = derive_detector(ctx, config, warnings)
    phi, spectral, layers, mosaic = select_sampling(ctx, config, warnings)
    fluence, flux = derive_fluence(ctx, config)
    sources = derive_sources(ctx, config, spectral, wavelength, detector.beam, detector.polar, detector.vert, warnings)
    s = config.sampling.oversample
    oversample = 1 if s is None or int(s) <= 0 else int(s)
    mask = _mask_tensor(ctx, config, detector.fpixels, detector.spixels)
    return _BackgroundPlan(ctx, config, detector, phi, layers, sources, wavelength, fluence, flux, oversample, mask,
                           warnings)


@dataclass
class _BackgroundPlan:
    ctx: Context
    config: Config
    detector: object
    phi: object
    layers: object
    sources: object
    wavelength: torch.Tensor
    fluence: torch.Tensor
    flux: float
    oversample: int
    mask: Optional[torch.Tensor]
    warnings: List[str]

    def active_pixels(self) -> torch.Tensor:
        det = self.detector
        fmin, fmax, smin, smax = det.roi
        dev = self.ctx.device
        fast = torch.arange(det.fpixels, device=dev)
        slow = torch.arange(det.spixels, device=dev)
        keep = ((slow >= smin) & (slow <= smax)).unsqueeze(1) & ((fast >= fmin) & (fast <= fmax)).unsqueeze(0)
        if self.mask is not None:
            keep = keep & self.mask
        return torch.nonzero(keep.reshape(-1), as_tuple=False).reshape(-1)

    def geometry(self, model: AmorphousModel) -> Geometry:
        det, ph = self.detector, self.phi

        def v3(x):
            return tuple(float(t) for t in x.detach().cpu().reshape(3).tolist())

        f = value_of
        zero3 = (0.0, 0.0, 0.0)
        return Geometry(
            fpixels=det.fpixels, spixels=det.spixels, pixel_size_m=f(det.pixel_size),
            detsize_f_m=det.detsize_f, detsize_s_m=det.detsize_s, convention=det.convention, pivot=det.pivot,
            distance_m=f(det.distance), close_distance_m=f(det.close_distance),
            xbeam_m=f(det.xbeam), ybeam_m=f(det.ybeam), fbeam_m=f(det.fbeam), sbeam_m=f(det.sbeam),
            fclose_m=f(det.fclose), sclose_m=f(det.sclose), xclose_m=f(det.xclose), yclose_m=f(det.yclose),
            orgx_px=f(det.orgx), orgy_px=f(det.orgy), dials_origin_mm=v3(det.dials_origin_mm),
            pix0_vector_m=v3(det.pix0), fdet_vector=v3(det.fdet), sdet_vector=v3(det.sdet), odet_vector=v3(det.odet),
            beam_vector=v3(det.beam), polar_vector=v3(det.polar), spindle_axis=v3(det.spindle),
            twotheta_axis=v3(det.twotheta_axis), twotheta_rad=f(det.twotheta), wavelength_m=f(self.wavelength),
            phi0_rad=f(ph.phi0), phistep_rad=f(ph.phistep), osc_rad=f(ph.osc), phisteps=ph.steps,
            sources=int(self.sources.position.shape[0]), mosaic_domains=1, mosaic_spread_rad=0.0,
            oversample=self.oversample, recommended_oversample=1, detector_thicksteps=self.layers.steps,
            detector_thick_m=self.layers.thick_m, detector_thickstep_m=self.layers.thickstep_m,
            detector_mu_per_m=self.layers.mu_per_m,
            steps=int(self.sources.position.shape[0]) * self.oversample * self.oversample,
            n_cells=zero3, a_m=zero3, b_m=zero3, c_m=zero3, a_star_per_A=zero3, b_star_per_A=zero3,
            c_star_per_A=zero3, cell_volume_A3=0.0, misset_rad=zero3,
            fluence_photons_per_m2=f(self.fluence), flux_photons_per_s=self.flux, water_background=0.0,
            interpolate=False, roi=tuple(det.roi), divergence_steps=self.sources.divergence_steps,
            amorphous_molecules=f(model.molecules), amorphous_size_m=model.size_m,
            amorphous_density_g_m3=model.density_g_m3, bragg=False,
            amorphous_steps=int(self.sources.position.shape[0]) * self.oversample * self.oversample,
        )
