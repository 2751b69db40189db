"""Everything the torch engine derives from a Config before rendering.

:func:`build_plan` runs the derivations in the legacy order (detector,
sampling, crystal, oversampling, sources, mosaic domains, structure
factors, background) and keeps the results as tensors on the run's device,
attached to the autograd graph of any tensor-valued Config field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import torch

from ..config import Config, ConfigError
from ..masks import rendered_mask
from ..results import Geometry
from .context import RTD, Context, value_of
from .crystal import CrystalModel, derive_crystal
from .detector import DetectorModel, derive_detector
from .mosaic import legacy_draws, legacy_random_misset_rad, mosaic_matrices
from .sampling import MosaicSampling, PhiSampling, SensorLayers, SpectralSampling, select_sampling
from .sources import SourceModel, derive_sources
from .structure_factors import StructureFactorModel, derive_structure_factors
from .ordered import rotate_rows
from .vectors import norm

__all__ = ["Plan", "build_plan", "derive_fluence", "R_E_SQR", "AVOGADRO"]

#: Thomson cross section of the electron (m^2), legacy value
R_E_SQR = 7.94079248018965e-30
AVOGADRO = 6.02214179e23
_WATER_F = 2.57
_WATER_MW = 18.0


@dataclass
class Plan:
    ctx: Context
    config: Config
    detector: DetectorModel
    crystal: CrystalModel
    sources: SourceModel
    phi: PhiSampling
    spectral: SpectralSampling
    layers: SensorLayers
    mosaic: MosaicSampling
    mosaic_umats: torch.Tensor  # (M, 3, 3)
    sf: StructureFactorModel
    wavelength: torch.Tensor  # central wavelength (m)
    fluence: torch.Tensor  # photons/m^2
    flux: float
    water_m: float
    I_bg: torch.Tensor  # accumulator start value (legacy water background)
    oversample: int
    recommended_oversample: int
    dmin_m: float
    kahn: float
    nopolar: bool
    oversample_thick: bool
    oversample_polar: bool
    oversample_omega: bool
    mask: Optional[torch.Tensor]  # (spixels, fpixels) bool, True = render
    phi_mode: str
    warnings: List[str] = field(default_factory=list)

    # ------------------------------------------------------------ sizes
    @property
    def steps(self) -> int:
        """Normalisation count (sources x domains x phi steps x sub-pixels; layers excluded)."""
        return self.sources.count * self.mosaic.domains * self.phi.steps * self.oversample * self.oversample

    @property
    def layer_count(self) -> int:
        return self.layers.steps

    @property
    def subpixel_count(self) -> int:
        return self.oversample * self.oversample

    @property
    def paths_per_pixel(self) -> int:
        return self.layer_count * self.subpixel_count * self.sources.count

    @property
    def cells_per_path(self) -> int:
        return self.phi.steps * self.mosaic.domains

    @property
    def active_count(self) -> int:
        """Number of rendered pixels (ROI and mask), computed on the host."""
        det = self.detector
        fmin, fmax, smin, smax = det.roi
        if self.mask is None:
            nf = max(0, min(fmax, det.fpixels - 1) - max(fmin, 0) + 1)
            ns = max(0, min(smax, det.spixels - 1) - max(smin, 0) + 1)
            return nf * ns
        return int(self.active_pixels().numel())

    def active_pixels(self) -> torch.Tensor:
        """Raster indices (slow * fpixels + fast) of the pixels the legacy loop renders, in its order."""
        det = self.detector
        keep = rendered_mask((det.spixels, det.fpixels), det.roi, self.mask)
        return torch.as_tensor(np.flatnonzero(keep), dtype=torch.int64, device=self.ctx.device)

    # ------------------------------------------------------------ cell table
    def phi_rotated_cells(self, angles: torch.Tensor) -> torch.Tensor:
        """(H, 3, 3) rows a, b, c (m) rotated about the spindle by each angle."""
        from .vectors import rotate_about_axis

        cx = self.crystal
        axis = self.detector.spindle
        base = torch.stack((cx.a0, cx.b0, cx.c0))  # (3, 3)
        return rotate_about_axis(base.unsqueeze(0), axis, angles.view(-1, 1))

    def apply_mosaic(self, phi_cells: torch.Tensor) -> torch.Tensor:
        """(H, M, 3, 3): each domain's rotation applied after the phi rotation (lab frame)."""
        if value_of(self.mosaic.spread_rad) > 0.0:
            u = self.mosaic_umats  # (M, 3, 3)
            return rotate_rows(u, phi_cells).permute(0, 2, 1, 3)  # (H, 3, M, 3) -> (H, M, 3, 3)
        return phi_cells.unsqueeze(1).expand(-1, self.mosaic.domains, -1, -1)

    def geometry(self) -> Geometry:
        det, cx, ph = self.detector, self.crystal, self.phi

        def f(x):
            return value_of(x)

        def v3(x):
            return tuple(float(t) for t in x.detach().cpu().reshape(3).tolist())

        return Geometry(
            fpixels=det.fpixels,
            spixels=det.spixels,
            pixel_size_m=f(det.pixel_size),
            detsize_f_m=det.detsize_f,
            detsize_s_m=det.detsize_s,
            convention=det.convention,
            pivot=det.pivot,
            distance_m=f(det.distance),
            close_distance_m=f(det.close_distance),
            xbeam_m=f(det.xbeam),
            ybeam_m=f(det.ybeam),
            fbeam_m=f(det.fbeam),
            sbeam_m=f(det.sbeam),
            fclose_m=f(det.fclose),
            sclose_m=f(det.sclose),
            xclose_m=f(det.xclose),
            yclose_m=f(det.yclose),
            orgx_px=f(det.orgx),
            orgy_px=f(det.orgy),
            dials_origin_mm=v3(det.dials_origin_mm),
            pix0_vector_m=v3(det.pix0),
            fdet_vector=v3(det.fdet),
            sdet_vector=v3(det.sdet),
            odet_vector=v3(det.odet),
            beam_vector=v3(det.beam),
            polar_vector=v3(det.polar),
            spindle_axis=v3(det.spindle),
            twotheta_axis=v3(det.twotheta_axis),
            twotheta_rad=f(det.twotheta),
            wavelength_m=f(self.wavelength),
            phi0_rad=f(ph.phi0),
            phistep_rad=f(ph.phistep),
            osc_rad=f(ph.osc),
            phisteps=ph.steps,
            sources=self.sources.count,
            mosaic_domains=self.mosaic.domains,
            mosaic_spread_rad=f(self.mosaic.spread_rad),
            oversample=self.oversample,
            recommended_oversample=self.recommended_oversample,
            detector_thicksteps=self.layers.steps,
            detector_thick_m=self.layers.thick_m,
            detector_thickstep_m=self.layers.thickstep_m,
            detector_mu_per_m=self.layers.mu_per_m,
            steps=self.steps,
            n_cells=v3(cx.n_cells),
            a_m=v3(cx.a0),
            b_m=v3(cx.b0),
            c_m=v3(cx.c0),
            a_star_per_A=v3(cx.a_star),
            b_star_per_A=v3(cx.b_star),
            c_star_per_A=v3(cx.c_star),
            cell_volume_A3=f(cx.volume_A3),
            misset_rad=v3(cx.misset_rad),
            fluence_photons_per_m2=f(self.fluence),
            flux_photons_per_s=self.flux,
            water_background=f(self.I_bg),
            interpolate=self.sf.interpolate,
            roi=tuple(det.roi),
            divergence_steps=self.sources.divergence_steps,
        )


def _mask_tensor(ctx: Context, config: Config, fpixels: int, spixels: int) -> Optional[torch.Tensor]:
    mask = config.detector.mask
    if mask is None:
        return None
    arr = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if arr.shape != (spixels, fpixels):
        raise ConfigError(f"detector.mask has shape {arr.shape}, expected (slow, fast) = ({spixels}, {fpixels})")
    return torch.as_tensor(arr != 0, device=ctx.device)


def derive_fluence(ctx: Context, config: Config):
    """(fluence tensor (photons/m^2), flux (photons/s)): flux * exposure / beamsize^2 replaces the fluence when given."""
    b = config.beam
    beamsize = value_of(b.beamsize_mm) / 1000
    fluence = ctx.scalar(b.fluence_photons_per_m2)
    flux = value_of(b.flux_photons_per_s)
    exposure = value_of(b.exposure_s)
    if flux != 0.0 and exposure > 0.0 and beamsize >= 0:
        fluence = ctx.scalar(b.flux_photons_per_s) * ctx.scalar(b.exposure_s) / beamsize / beamsize
    if exposure > 0.0:
        flux = value_of(fluence) / exposure * beamsize * beamsize
    return fluence, flux


def build_plan(ctx: Context, config: Config) -> Plan:
    warnings: List[str] = []
    b, xt, s = config.beam, config.crystal, config.sampling
    wavelength = ctx.scalar(b.wavelength_A) / 1.0e10

    detector = derive_detector(ctx, config, warnings)
    phi, spectral, layers, mosaic = select_sampling(ctx, config, warnings)

    beamsize = value_of(b.beamsize_mm) / 1000
    fluence, flux = derive_fluence(ctx, config)

    misset = None
    if xt.misset_random:
        misset = ctx.vector(legacy_random_misset_rad(config))
    elif xt.misset_deg is not None:
        misset = ctx.vector(xt.misset_deg) / RTD
    crystal = derive_crystal(ctx, config, wavelength, beamsize, misset, warnings)

    # recommended oversampling from the crystal size and the pixel's reciprocal size
    sizes = [value_of(norm(v)) * value_of(n) for v, n in zip((crystal.a0, crystal.b0, crystal.c0), crystal.n_cells)]
    reciprocal_pixel = value_of(wavelength) * value_of(detector.distance) / value_of(detector.pixel_size)
    # (a detector plane through the sample gives distance 0: no recommendation; the image is
    # then non-finite and refused like the C engine's)
    ratio = 3.0 * max(sizes) / reciprocal_pixel if reciprocal_pixel > 0 else 0.0
    recommended = int(math.ceil(ratio)) if math.isfinite(ratio) else 1
    if recommended <= 0:
        recommended = 1
    oversample = -1 if s.oversample is None else int(s.oversample)
    if oversample <= 0:
        oversample = recommended
    if oversample < recommended:
        warnings.append(
            f"WARNING: maximum dimension of sample is {max(sizes) * 1e10:g} A but reciprocal pixel size is "
            f"{reciprocal_pixel * 1e10:g} A; intensity may vary significantly across a pixel! "
            f"recommend -oversample {recommended} to work around this"
        )

    sources = derive_sources(ctx, config, spectral, wavelength, detector.beam, detector.polar, detector.vert, warnings)

    if mosaic.domains > 1 or value_of(mosaic.spread_rad) > 0.0:
        draws = legacy_draws(config, mosaic.domains)
    else:
        draws = np.zeros((1, 3))
    umats = mosaic_matrices(ctx, draws, mosaic.spread_rad, mosaic.domains)

    sf = derive_structure_factors(ctx, config, crystal.n_cells_raw, warnings)

    water = value_of(config.background.water_um) / 1e6
    I_bg = _WATER_F * _WATER_F * R_E_SQR * fluence * water * water * water * 1e6 * AVOGADRO / _WATER_MW

    return Plan(
        ctx=ctx,
        config=config,
        detector=detector,
        crystal=crystal,
        sources=sources,
        phi=phi,
        spectral=spectral,
        layers=layers,
        mosaic=mosaic,
        mosaic_umats=umats,
        sf=sf,
        wavelength=wavelength,
        fluence=fluence,
        flux=flux,
        water_m=water,
        I_bg=I_bg,
        oversample=oversample,
        recommended_oversample=recommended,
        dmin_m=value_of(s.dmin_A) * 1e-10,
        kahn=value_of(b.kahn_factor),
        nopolar=bool(b.nopolar),
        oversample_thick=bool(s.oversample_thick),
        oversample_polar=bool(s.oversample_polar),
        oversample_omega=bool(s.oversample_omega),
        mask=_mask_tensor(ctx, config, detector.fpixels, detector.spixels),
        phi_mode=config.phi_mode,
        warnings=warnings,
    )
