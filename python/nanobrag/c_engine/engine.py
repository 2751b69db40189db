"""Run the C engine on a :class:`nanobrag.Config`.

The Config holds the user's numbers in the units of the legacy flags (mm,
degrees, Angstrom, ...); the C library converts them exactly as the legacy
parser did, so nothing is converted here.  Optional values left as ``None``
become the library's "unset" markers (NaN for reals, -1 for counts).

All C calls release the GIL (cffi does so for every call), so several
Python threads may render at once; each call owns its plan.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..config import Config, ConfigError
from ..results import Geometry, SimulationResult
from ._ffi import ffi, lib

__all__ = [
    "CEngineError",
    "to_nb_config",
    "simulate",
    "trace",
    "geometry",
    "noise_image",
    "mosaic_draws",
    "ran1_stream",
]

ProgressCallback = Callable[[int, int], Optional[bool]]

_CONVENTIONS = {
    "CUSTOM": lib.NB_CONVENTION_CUSTOM,
    "ADXV": lib.NB_CONVENTION_ADXV,
    "MOSFLM": lib.NB_CONVENTION_MOSFLM,
    "XDS": lib.NB_CONVENTION_XDS,
    "DIALS": lib.NB_CONVENTION_DIALS,
    "DENZO": lib.NB_CONVENTION_DENZO,
}
_CONVENTION_NAMES = {v: k for k, v in _CONVENTIONS.items()}
_PIVOTS = {"sample": lib.NB_PIVOT_SAMPLE, "beam": lib.NB_PIVOT_BEAM}
_PIVOT_NAMES = {v: k for k, v in _PIVOTS.items()}
_SHAPES = {
    "square": lib.NB_SHAPE_SQUARE,
    "round": lib.NB_SHAPE_ROUND,
    "gauss": lib.NB_SHAPE_GAUSS,
    "tophat": lib.NB_SHAPE_TOPHAT,
}
_PHI_MODES = {"spec": lib.NB_PHI_MODE_SPEC, "c-parity": lib.NB_PHI_MODE_C_PARITY}

#: names and trailing shapes of the trace arrays (architecture.md "Trace layout")
_TRACE_FIELDS = (
    ("pixel_pos_m", "TS", 3),
    ("omega", "TS", 0),
    ("capture_fraction", "TS", 0),
    ("polar", "TSR", 0),
    ("scattering_per_m", "TSR", 3),
    ("a_m", "TSRHM", 3),
    ("b_m", "TSRHM", 3),
    ("c_m", "TSRHM", 3),
    ("h", "TSRHM", 0),
    ("k", "TSRHM", 0),
    ("l", "TSRHM", 0),
    ("F_latt", "TSRHM", 0),
    ("F_cell", "TSRHM", 0),
)


class CEngineError(RuntimeError):
    """The C library failed; the message is the library's."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class CEngineConfigError(CEngineError, ConfigError):
    """The C library refused a configuration (NB_ERR_INVALID_ARGUMENT): also a ConfigError."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message, status)


def _error(text: str, status: int) -> CEngineError:
    cls = CEngineConfigError if status == lib.NB_ERR_INVALID_ARGUMENT else CEngineError
    return cls(text, status)


# ---------------------------------------------------------------- conversion


def _num(x: Any) -> float:
    """Float value of a number or 0-d tensor (autograd detached); None -> NaN."""
    if x is None:
        return math.nan
    if hasattr(x, "detach"):
        return float(x.detach().cpu())
    return float(x)


def _count(x: Optional[Any]) -> int:
    return -1 if x is None else int(x)


def _vec3(name: str, v: Any) -> Tuple[float, float, float]:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    values = [_num(x) for x in np.asarray(v, dtype=object).reshape(-1)]
    if len(values) != 3:
        raise CEngineConfigError(f"{name} must hold 3 numbers, got {len(values)}")
    return values[0], values[1], values[2]


def _set_vec(cfg, has_field: str, field: str, name: str, value: Any) -> None:
    if value is None:
        setattr(cfg, has_field, 0)
        return
    setattr(cfg, has_field, 1)
    getattr(cfg, field)[0:3] = list(_vec3(name, value))


def to_nb_config(config: Config, notes: Optional[List[str]] = None) -> Tuple[Any, List[Any]]:
    """Translate a Config into a freshly allocated ``nb_config``.

    The Config must have passed :meth:`Config.validate` (the rules live in
    :mod:`nanobrag.validation`; the library keeps its own guards).
    Returns ``(cdata, keepalive)``: keep ``keepalive`` (the numpy buffers the
    struct points into) alive as long as the struct is used.  A missing
    misset seed (``misset_random`` without ``misset_seed``) is resolved once
    from the clock, as the legacy program does; the choice is appended to
    ``notes`` when given.
    """
    cfg = ffi.new("nb_config *")
    lib.nb_config_init(cfg)
    keep: List[Any] = []
    xt, sf, bm, det, smp, bg = (
        config.crystal,
        config.structure_factors,
        config.beam,
        config.detector,
        config.sampling,
        config.background,
    )

    # crystal
    if xt.cell is not None:
        cfg.has_cell = 1
        cfg.cell[0:6] = [_num(v) for v in xt.cell]
    if xt.mosflm_matrix is not None:
        m = xt.mosflm_matrix
        if hasattr(m, "detach"):
            m = m.detach().cpu().numpy()
        m = np.asarray(m, dtype=np.float64)
        cfg.has_mosflm_matrix = 1
        cfg.mosflm_matrix[0:9] = [float(v) for v in m.reshape(-1)]
    if xt.misset_random:
        cfg.misset_mode = lib.NB_MISSET_RANDOM
        seed = xt.misset_seed
        if seed is None:
            seed = int(time.time())
            if notes is not None:
                notes.append(f"note: -misset random drew its orientation with misset seed {seed} (the clock)")
        cfg.misset_seed = int(seed)
    elif xt.misset_deg is not None:
        cfg.misset_mode = lib.NB_MISSET_ANGLES
        cfg.misset_deg[0:3] = list(_vec3("crystal.misset_deg", xt.misset_deg))
    cfg.n_cells[0:3] = list(_vec3("crystal.n_cells", xt.n_cells))
    cfg.crystal_size_mm[0:3] = list(_vec3("crystal.size_mm", xt.size_mm))
    cfg.xtal_shape = _SHAPES[xt.shape]
    cfg.fudge = _num(xt.fudge)
    cfg.mosaic_spread_deg = _num(xt.mosaic_spread_deg)
    cfg.mosaic_domains = _count(xt.mosaic_domains)
    cfg.mosaic_seed = int(xt.mosaic_seed)

    # structure factors
    if sf.table is not None:
        grid = sf.table.as_numpy()
        keep.append(grid)
        cfg.fhkl = ffi.cast("const double *", ffi.from_buffer(grid))
        cfg.hkl_min[0:3] = list(sf.table.hkl_min)
        cfg.hkl_count[0:3] = list(grid.shape)
    cfg.default_F = _num(sf.default_F)
    cfg.interpolate = -1 if sf.interpolate is None else int(bool(sf.interpolate))

    # beam
    cfg.wavelength_A = _num(bm.wavelength_A)
    cfg.dispersion_percent = _num(bm.dispersion_percent)
    cfg.dispersion_steps = _count(bm.dispersion_steps)
    cfg.hdiv_range_mrad = _num(bm.hdiv_range_mrad)
    cfg.hdiv_step_mrad = _num(bm.hdiv_step_mrad)
    cfg.hdiv_steps = _count(bm.hdiv_steps)
    cfg.vdiv_range_mrad = _num(bm.vdiv_range_mrad)
    cfg.vdiv_step_mrad = _num(bm.vdiv_step_mrad)
    cfg.vdiv_steps = _count(bm.vdiv_steps)
    cfg.round_div = int(bool(bm.round_div))
    if bm.sources is not None:
        rows = np.ascontiguousarray(bm.sources.rows, dtype=np.float64)
        keep.append(rows)
        cfg.source_table = ffi.cast("const double *", ffi.from_buffer(rows))
        cfg.source_count = int(rows.shape[0])
    cfg.fluence_photons_per_m2 = _num(bm.fluence_photons_per_m2)
    cfg.flux_photons_per_s = _num(bm.flux_photons_per_s)
    cfg.exposure_s = _num(bm.exposure_s)
    cfg.beamsize_mm = _num(bm.beamsize_mm)
    cfg.kahn_factor = _num(bm.kahn_factor)
    cfg.nopolar = int(bool(bm.nopolar))
    _set_vec(cfg, "has_beam_vector", "beam_vector", "beam.beam_vector", bm.beam_vector)
    _set_vec(cfg, "has_polar_vector", "polar_vector", "beam.polar_vector", bm.polar_vector)

    # detector
    cfg.convention = _CONVENTIONS[det.convention]
    cfg.pivot = _PIVOTS[det.pivot]
    cfg.distance_mm = _num(det.distance_mm)
    cfg.close_distance_mm = _num(det.close_distance_mm)
    cfg.pixel_size_mm = _num(det.pixel_size_mm)
    cfg.detsize_mm[0:2] = [_num(v) for v in det.detsize_mm]
    if det.detpixels is not None:
        cfg.detpixels[0:2] = [int(v) for v in det.detpixels]
    cfg.beam_center_mm[0:2] = [_num(det.xbeam_mm), _num(det.ybeam_mm)]
    cfg.close_center_mm[0:2] = [_num(det.xclose_mm), _num(det.yclose_mm)]
    cfg.org_px[0:2] = [_num(det.orgx_px), _num(det.orgy_px)]
    _set_vec(cfg, "has_fdet_vector", "fdet_vector", "detector.fdet_vector", det.fdet_vector)
    _set_vec(cfg, "has_sdet_vector", "sdet_vector", "detector.sdet_vector", det.sdet_vector)
    _set_vec(cfg, "has_odet_vector", "odet_vector", "detector.odet_vector", det.odet_vector)
    _set_vec(cfg, "has_twotheta_axis", "twotheta_axis", "detector.twotheta_axis", det.twotheta_axis)
    _set_vec(cfg, "has_spindle_axis", "spindle_axis", "sampling.spindle_axis", smp.spindle_axis)
    cfg.detector_rot_deg[0:3] = list(_vec3("detector.rot_deg", det.rot_deg))
    cfg.twotheta_deg = _num(det.twotheta_deg)
    cfg.curved_detector = int(bool(det.curved))
    cfg.point_pixel = int(bool(det.point_pixel))
    cfg.detector_thick_um = _num(det.thickness_um)
    cfg.detector_abs_um = _num(det.attenuation_depth_um)
    cfg.detector_thicksteps = _count(det.thicksteps)
    if det.mask is not None:
        mask = np.asarray(det.mask)
        if hasattr(det.mask, "detach"):
            mask = det.mask.detach().cpu().numpy()
        # only zero / non-zero matters to the legacy program
        mask = np.ascontiguousarray(mask != 0, dtype=np.uint16)
        keep.append(mask)
        cfg.mask = ffi.cast("const uint16_t *", ffi.from_buffer(mask))
        cfg.mask_pixels[0:2] = [int(mask.shape[1]), int(mask.shape[0])]
    if det.roi is not None:
        cfg.roi[0:4] = [int(v) for v in det.roi]

    # sampling
    cfg.phi_start_deg = _num(smp.phi_start_deg)
    cfg.osc_deg = _num(smp.osc_deg)
    cfg.phi_step_deg = _num(smp.phi_step_deg)
    cfg.phi_steps = _count(smp.phi_steps)
    cfg.oversample = _count(smp.oversample)
    cfg.oversample_thick = int(bool(smp.oversample_thick))
    cfg.oversample_polar = int(bool(smp.oversample_polar))
    cfg.oversample_omega = int(bool(smp.oversample_omega))
    cfg.dmin_A = _num(smp.dmin_A)
    cfg.phi_mode = _PHI_MODES[config.phi_mode]

    # background
    cfg.water_um = _num(bg.water_um)
    return cfg, keep


# ---------------------------------------------------------------- plans


class _Plan:
    """An nb_plan with its log callback; use as a context manager."""

    def __init__(self, config: Config, progress: Optional[ProgressCallback] = None):
        self.warnings: List[str] = []
        self.cancelled_by: Optional[BaseException] = None
        self._progress = progress
        config.validate(resources=True)
        cfg, self._keep = to_nb_config(config, notes=self.warnings)
        self._log_cb = ffi.callback("nb_log_fn", self._on_log)
        self._progress_cb = ffi.callback("nb_progress_fn", self._on_progress, onerror=self._on_progress_error)
        cfg.log = self._log_cb
        cfg.progress = self._progress_cb
        self._cfg = cfg
        plan = ffi.new("nb_plan **")
        message = ffi.new("char[]", 1024)
        status = lib.nb_plan_create(cfg, plan, message, 1024)
        if status != lib.NB_OK:
            text = ffi.string(message).decode(errors="replace") or ffi.string(lib.nb_status_message(status)).decode()
            raise _error(text, status)
        self.ptr = plan[0]

    def _on_log(self, user, level, message) -> None:
        if level == lib.NB_LOG_WARNING:
            self.warnings.append(ffi.string(message).decode(errors="replace"))

    def _on_progress(self, user, done, total) -> int:
        if self._progress is not None and self._progress(int(done), int(total)):
            return 1
        return 0

    def _on_progress_error(self, exc_type, exc_value, tb) -> int:
        # KeyboardInterrupt (or a failing callback) cancels the run; re-raised after it
        self.cancelled_by = exc_value
        return 1

    def derived(self) -> Any:
        out = ffi.new("nb_derived *")
        _check(lib.nb_plan_derived(self.ptr, out))
        return out

    def close(self) -> None:
        if getattr(self, "ptr", None) is not None:
            lib.nb_plan_free(self.ptr)
            self.ptr = None

    def __enter__(self) -> "_Plan":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check(status: int, what: str = "") -> None:
    if status != lib.NB_OK:
        text = ffi.string(lib.nb_status_message(status)).decode()
        raise _error(f"{what}: {text}" if what else text, status)


def _tuple3(arr) -> Tuple[float, float, float]:
    return (float(arr[0]), float(arr[1]), float(arr[2]))


def _geometry(d) -> Geometry:
    return Geometry(
        fpixels=d.fpixels,
        spixels=d.spixels,
        pixel_size_m=d.pixel_size_m,
        detsize_f_m=d.detsize_f_m,
        detsize_s_m=d.detsize_s_m,
        convention=_CONVENTION_NAMES[d.convention],
        pivot=_PIVOT_NAMES[d.pivot],
        distance_m=d.distance_m,
        close_distance_m=d.close_distance_m,
        xbeam_m=d.xbeam_m,
        ybeam_m=d.ybeam_m,
        fbeam_m=d.fbeam_m,
        sbeam_m=d.sbeam_m,
        fclose_m=d.fclose_m,
        sclose_m=d.sclose_m,
        xclose_m=d.xclose_m,
        yclose_m=d.yclose_m,
        orgx_px=d.orgx_px,
        orgy_px=d.orgy_px,
        dials_origin_mm=_tuple3(d.dials_origin_mm),
        pix0_vector_m=_tuple3(d.pix0_vector_m),
        fdet_vector=_tuple3(d.fdet_vector),
        sdet_vector=_tuple3(d.sdet_vector),
        odet_vector=_tuple3(d.odet_vector),
        beam_vector=_tuple3(d.beam_vector),
        polar_vector=_tuple3(d.polar_vector),
        spindle_axis=_tuple3(d.spindle_axis),
        twotheta_axis=_tuple3(d.twotheta_axis),
        twotheta_rad=d.twotheta_rad,
        wavelength_m=d.wavelength_m,
        phi0_rad=d.phi0_rad,
        phistep_rad=d.phistep_rad,
        osc_rad=d.osc_rad,
        phisteps=d.phisteps,
        sources=d.sources,
        mosaic_domains=d.mosaic_domains,
        mosaic_spread_rad=d.mosaic_spread_rad,
        oversample=d.oversample,
        recommended_oversample=d.recommended_oversample,
        detector_thicksteps=d.detector_thicksteps,
        detector_thick_m=d.detector_thick_m,
        detector_thickstep_m=d.detector_thickstep_m,
        detector_mu_per_m=d.detector_mu_per_m,
        steps=d.steps,
        n_cells=_tuple3(d.n_cells),
        a_m=_tuple3(d.a_m),
        b_m=_tuple3(d.b_m),
        c_m=_tuple3(d.c_m),
        a_star_per_A=_tuple3(d.a_star_per_A),
        b_star_per_A=_tuple3(d.b_star_per_A),
        c_star_per_A=_tuple3(d.c_star_per_A),
        cell_volume_A3=d.cell_volume_A3,
        misset_rad=_tuple3(d.misset_rad),
        fluence_photons_per_m2=d.fluence_photons_per_m2,
        flux_photons_per_s=d.flux_photons_per_s,
        water_background=d.water_background,
        interpolate=bool(d.interpolate),
        roi=(int(d.roi[0]), int(d.roi[1]), int(d.roi[2]), int(d.roi[3])),
        divergence_steps=d.divergence_steps,
    )


def _double_ptr(arr: np.ndarray):
    return ffi.cast("double *", ffi.from_buffer(arr))


# ---------------------------------------------------------------- public API


def geometry(config: Config) -> Geometry:
    """Everything the C engine derives from ``config``, without rendering."""
    with _Plan(config) as plan:
        return _geometry(plan.derived())


def simulate(config: Config, nthreads: Optional[int] = None, progress: Optional[ProgressCallback] = None) -> SimulationResult:
    """Render the float image of ``config`` with the C engine.

    nthreads: OpenMP threads (None or <= 0: all available); the image does not
    depend on it.  progress(done, total) is called with raster pixels done;
    returning True cancels (as does KeyboardInterrupt), raising
    :class:`CEngineError` (or re-raising the KeyboardInterrupt).
    """
    with _Plan(config, progress) as plan:
        d = plan.derived()
        image = np.zeros((d.spixels, d.fpixels), dtype=np.float32)
        stats = ffi.new("nb_run_stats *")
        status = lib.nb_plan_run(
            plan.ptr, ffi.cast("float *", ffi.from_buffer(image)), image.size, int(nthreads or 0), stats
        )
        if plan.cancelled_by is not None:
            raise plan.cancelled_by
        if status == lib.NB_ERR_CANCELLED:
            raise CEngineError("simulation cancelled by the progress callback", status)
        _check(status, "nb_plan_run")
        switch = int(stats.interpolation_switchoff_pixel)
        return SimulationResult(
            config=config,
            engine="c",
            float_image=image,
            geometry=_geometry(d),
            warnings=list(plan.warnings),
            omega_sum=float(stats.omega_sum),
            interpolation_switchoff_pixel=None if switch < 0 else switch,
        )


def trace(config: Config, pixels: Sequence[Tuple[int, int]]) -> Dict[str, np.ndarray]:
    """Per-step intermediate values of the given (slow, fast) pixels.

    Shapes follow docs/architecture.md ("Trace layout"): leading axis over
    ``pixels``, then (layer T, sub-pixel S, source R, phi step H, mosaic
    domain M) as each quantity varies.  Steps the loop skips are NaN.
    """
    pix = np.ascontiguousarray(np.asarray(pixels, dtype=np.int32).reshape(-1, 2))
    with _Plan(config) as plan:
        d = plan.derived()
        for s, f in pix:
            if not (0 <= s < d.spixels and 0 <= f < d.fpixels):
                raise CEngineError(f"trace pixel (slow={s}, fast={f}) is outside the {d.spixels}x{d.fpixels} detector")
        dims = {
            "T": d.detector_thicksteps,
            "S": d.oversample * d.oversample,
            "R": d.sources,
            "H": d.phisteps,
            "M": d.mosaic_domains,
        }
        P = len(pix)
        out: Dict[str, np.ndarray] = {}
        buffers = ffi.new("nb_trace_buffers *")
        for name, axes, width in _TRACE_FIELDS:
            shape = (P,) + tuple(dims[a] for a in axes) + ((width,) if width else ())
            arr = np.empty(shape, dtype=np.float64)
            out[name] = arr
            setattr(buffers, name, _double_ptr(arr))
        value = np.empty(P, dtype=np.float64)
        out["pixel_value"] = value
        buffers.pixel_value = _double_ptr(value)
        status = lib.nb_plan_trace(plan.ptr, ffi.cast("const int *", ffi.from_buffer(pix)), P, buffers)
        _check(status, "nb_plan_trace")
        return out


def noise_image(config: Config, float_image: np.ndarray, seed: Optional[int] = None) -> Tuple[np.ndarray, int, float]:
    """Legacy Poisson noise image of a rendered float image.

    Returns ``(uint16 image (slow, fast), overloads, photons)``.  The seed is
    ``seed``, else ``config.output.noise_seed``, else the clock (as the legacy
    program).  The adc offset is ``config.output.adc_offset``.  Only the
    config's ROI and its random misset / mosaic settings (whose draws precede
    the noise in the legacy generator) are used; the detector is the image's
    shape.
    """
    if seed is None:
        seed = config.output.noise_seed
    if seed is None:
        seed = int(time.time())
    img = np.ascontiguousarray(float_image, dtype=np.float32)
    if img.ndim != 2:
        raise CEngineError(f"float image must be 2-D (slow, fast), got {img.ndim} dimensions")
    cfg, keep = to_nb_config(config)
    out = np.zeros(img.shape, dtype=np.uint16)
    overloads = ffi.new("long *")
    photons = ffi.new("double *")
    status = lib.nb_noise_image(
        cfg,
        int(img.shape[1]),
        int(img.shape[0]),
        ffi.cast("const float *", ffi.from_buffer(img)),
        _num(config.output.adc_offset),
        int(seed),
        ffi.cast("uint16_t *", ffi.from_buffer(out)),
        overloads,
        photons,
    )
    _check(status, "nb_noise_image")
    return out, int(overloads[0]), float(photons[0])


def mosaic_draws(config: Config) -> np.ndarray:
    """The legacy uniform draws behind each mosaic domain, shape (domains, 3):
    r1, r2 in [-1, 1] and the single-precision cap factor powf(1 - r3^2, 1/3)."""
    with _Plan(config) as plan:
        d = plan.derived()
        out = np.empty((d.mosaic_domains, 3), dtype=np.float64)
        _check(lib.nb_plan_mosaic_draws(plan.ptr, _double_ptr(out), out.size), "nb_plan_mosaic_draws")
        return out


def ran1_stream(seed: int, n: int) -> np.ndarray:
    """``n`` deviates of the legacy ran1 generator seeded with ``-seed`` (fresh shuffle table)."""
    out = np.empty(int(n), dtype=np.float32)
    _check(lib.nb_ran1_stream(int(seed), ffi.cast("float *", ffi.from_buffer(out)), out.size), "nb_ran1_stream")
    return out
