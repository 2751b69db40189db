"""Run both engines in one process on one Config and locate where they part.

The comparison walks the pipeline in order -- derived geometry first, then
the per-step intermediate values of the loop nest at a few pixels, then the
pixel values and the whole image -- so ``first_divergence`` names the step
where a difference starts, not one of its consequences.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..api import simulate, trace
from ..config import Config, PHI_MODES
from ..masks import rendered_mask
from ..results import Geometry, SimulationResult

__all__ = ["compare", "ParityReport", "QuantityReport", "Tolerance", "TRACE_ORDER", "GEOMETRY_ORDER"]

#: Derived quantities in the order the pipeline derives them.
GEOMETRY_ORDER: Tuple[str, ...] = (
    "fpixels", "spixels", "pixel_size_m", "detsize_f_m", "detsize_s_m", "convention", "pivot",
    "beam_vector", "polar_vector", "spindle_axis", "twotheta_axis",
    "fdet_vector", "sdet_vector", "odet_vector", "twotheta_rad",
    "pix0_vector_m", "distance_m", "close_distance_m",
    "xbeam_m", "ybeam_m", "fbeam_m", "sbeam_m", "fclose_m", "sclose_m", "xclose_m", "yclose_m",
    "orgx_px", "orgy_px", "dials_origin_mm",
    "wavelength_m", "phi0_rad", "phistep_rad", "osc_rad", "phisteps",
    "divergence_steps", "sources", "mosaic_domains", "mosaic_spread_rad",
    "detector_thicksteps", "detector_thick_m", "detector_thickstep_m", "detector_mu_per_m",
    "misset_rad", "a_star_per_A", "b_star_per_A", "c_star_per_A", "cell_volume_A3",
    "a_m", "b_m", "c_m", "n_cells", "recommended_oversample", "oversample", "steps",
    "fluence_photons_per_m2", "flux_photons_per_s", "water_background", "interpolate", "roi",
    "bragg", "amorphous_size_m", "amorphous_density_g_m3", "amorphous_molecules", "amorphous_steps",
)

#: Per-step trace quantities in loop-nest order (names of docs/architecture.md).
TRACE_ORDER: Tuple[str, ...] = (
    "pixel_pos_m", "omega", "capture_fraction", "scattering_per_m", "polar",
    "a_m", "b_m", "c_m", "h", "k", "l", "F_latt", "F_cell", "pixel_value",
)


@dataclass(frozen=True)
class Tolerance:
    """Agreement test ``|a - b| <= atol + rtol * max(|a|, |b|)``, with ``atol = floor * max |value|`` of the quantity.

    The scale-relative floor keeps values that cancel to ~0 (an F_latt
    between spots, a vector component along an axis) from reporting huge
    relative errors; ``rtol`` governs everything else.
    """

    rtol: float
    floor: float

    def check(self, a: np.ndarray, b: np.ndarray,
              scale: Optional[float] = None) -> Tuple[float, float, Optional[Tuple[int, ...]], bool]:
        """(max abs diff, max rel diff, index of the worst element, within tolerance).

        ``scale``: the magnitude the floor is relative to, when it is not the values' own
        (a dot product's rounding follows the size of its terms, not of its result).
        """
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return math.inf, math.inf, None, False
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if np.any(nan_a != nan_b):
            idx = tuple(int(i) for i in np.argwhere(nan_a != nan_b)[0])
            return math.inf, math.inf, idx, False
        both = ~nan_a
        if not np.any(both):
            return 0.0, 0.0, None, True
        inf_mismatch = both & (np.isinf(a) | np.isinf(b)) & (a != b)
        if np.any(inf_mismatch):
            idx = tuple(int(i) for i in np.argwhere(inf_mismatch)[0])
            return math.inf, math.inf, idx, False
        finite = both & np.isfinite(a)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where both hold the same inf
            diff = np.where(finite, np.abs(a - b), 0.0)
        mag = np.where(finite, np.maximum(np.abs(a), np.abs(b)), 0.0)
        if scale is None:
            scale = float(mag.max()) if mag.size else 0.0
        atol = self.floor * scale
        excess = diff - (atol + self.rtol * mag)
        worst = np.unravel_index(int(np.argmax(excess)), a.shape) if a.ndim else ()
        rel = np.where(mag > atol, diff / np.where(mag > 0, mag, 1.0), 0.0)
        return float(diff.max()), float(rel.max()), tuple(int(i) for i in worst), bool(excess.max() <= 0.0)


#: Tolerances by torch dtype.  float64: both engines compute in double; differences come only from
#: operation order (~1e-15 relative) and are amplified at most by the sincg ratio near its zeros.
#: float32: the torch engine's single precision (~6e-8 per operation, a few hundred operations).
DEFAULT_TOLERANCES: Dict[str, Dict[str, Tolerance]] = {
    "float64": {"geometry": Tolerance(1e-12, 1e-14), "trace": Tolerance(1e-9, 1e-10), "image": Tolerance(1e-6, 1e-12)},
    "float32": {"geometry": Tolerance(2e-6, 1e-7), "trace": Tolerance(2e-4, 1e-4), "image": Tolerance(2e-3, 1e-4)},
}


@dataclass
class QuantityReport:
    """How one quantity compares: C value vs torch value.

    Parameters
    ----------
    name : str
        Field of :class:`~nanobrag.Geometry`, trace array name or "image".
    stage : {"geometry", "trace", "image"}
        Where the quantity comes from.
    max_abs_diff, max_rel_diff : float
        Largest absolute and relative differences.
    worst_index : tuple of int or None
        Index of the worst element.
    ok : bool
        Within the tolerance.
    c_value, torch_value : object
        The compared values.
    """

    name: str
    stage: str  # "geometry", "trace" or "image"
    max_abs_diff: float
    max_rel_diff: float
    worst_index: Optional[Tuple[int, ...]]
    ok: bool
    c_value: Any = None
    torch_value: Any = None

    def as_dict(self) -> Dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["c_value"] = _jsonable(self.c_value)
        d["torch_value"] = _jsonable(self.torch_value)
        return d


@dataclass
class ImageReport:
    max_abs_diff: float
    max_rel_diff: float
    correlation: float
    total_c: float
    total_torch: float
    pixels_beyond_tolerance: int
    worst_pixels: List[Tuple[int, int, float, float]]  # (slow, fast, c, torch)
    ok: bool


@dataclass
class ParityReport:
    """Result of :func:`compare`.  ``first_divergence`` is None when the engines agree.

    Parameters
    ----------
    phi_mode, dtype, device : str
        The settings compared.
    pixels : list of (int, int)
        The traced (slow, fast) pixels.
    quantities : list of QuantityReport
        Geometry, trace and image quantities in pipeline order.
    image : ImageReport or None
        Whole-image agreement (correlation, totals, worst pixels).
    warnings : dict of str to list of str
        Each engine's warnings.
    """

    phi_mode: str
    dtype: str
    device: str
    pixels: List[Tuple[int, int]]
    quantities: List[QuantityReport] = field(default_factory=list)
    image: Optional[ImageReport] = None
    warnings: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def first_divergence(self) -> Optional[str]:
        for q in self.quantities:
            if not q.ok:
                return q.name
        if self.image is not None and not self.image.ok:
            return "image"
        return None

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    def quantity(self, name: str) -> QuantityReport:
        for q in self.quantities:
            if q.name == name:
                return q
        raise KeyError(name)

    def as_dict(self) -> Dict[str, Any]:
        img = None
        if self.image is not None:
            img = {f.name: _jsonable(getattr(self.image, f.name)) for f in fields(self.image)}
        return {
            "phi_mode": self.phi_mode,
            "dtype": self.dtype,
            "device": self.device,
            "pixels": [list(p) for p in self.pixels],
            "first_divergence": self.first_divergence,
            "ok": self.ok,
            "quantities": [q.as_dict() for q in self.quantities],
            "image": img,
            "warnings": self.warnings,
        }

    def format_table(self) -> str:
        """A readable table, one line per quantity in pipeline order."""
        lines = [
            f"parity C vs torch  phi_mode={self.phi_mode} dtype={self.dtype} device={self.device}",
            f"traced pixels (slow, fast): {', '.join(f'({s},{f})' for s, f in self.pixels)}",
            f"{'quantity':<32}{'max |diff|':>13}{'max rel':>12}  {'status':<9}worst index",
        ]
        for q in self.quantities:
            status = "ok" if q.ok else "DIVERGES"
            worst = "" if q.worst_index is None else str(q.worst_index)
            lines.append(f"{q.stage + '.' + q.name:<32}{q.max_abs_diff:>13.3e}{q.max_rel_diff:>12.3e}  {status:<9}{worst}")
        if self.image is not None:
            im = self.image
            lines.append(
                f"{'image':<32}{im.max_abs_diff:>13.3e}{im.max_rel_diff:>12.3e}  {'ok' if im.ok else 'DIVERGES':<9}"
                f"{im.pixels_beyond_tolerance} px beyond tolerance"
            )
            lines.append(
                f"  correlation {im.correlation:.12f}  total C {im.total_c:.9g}  total torch {im.total_torch:.9g}"
            )
            for s, f, c, t in im.worst_pixels:
                lines.append(f"  worst pixel ({s},{f}): C {c:.9g}  torch {t:.9g}")
        first = self.first_divergence
        lines.append("first divergence: " + (first if first else "none (engines agree)"))
        return "\n".join(lines)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


def _compare_geometry(gc: Geometry, gt: Geometry, tol: Tolerance) -> List[QuantityReport]:
    reports = []
    for name in GEOMETRY_ORDER:
        vc, vt = getattr(gc, name), getattr(gt, name)
        if isinstance(vc, str) or isinstance(vc, bool) or isinstance(vt, (str, bool)):
            same = vc == vt
            reports.append(QuantityReport(name, "geometry", 0.0 if same else math.inf, 0.0 if same else math.inf,
                                          None, same, vc, vt))
            continue
        a = np.asarray(vc, dtype=np.float64)
        b = np.asarray(vt, dtype=np.float64)
        if isinstance(vc, (int, np.integer)) or name in ("roi",):
            same = bool(np.array_equal(a, b))
            reports.append(QuantityReport(name, "geometry", float(np.max(np.abs(a - b))) if a.shape == b.shape else math.inf,
                                          0.0 if same else math.inf, None, same, vc, vt))
            continue
        mad, mrd, idx, ok = tol.check(a, b)
        reports.append(QuantityReport(name, "geometry", mad, mrd, idx, ok, vc, vt))
    return reports


#: the Miller index h = a . S (k: b, l: c) per step
_MILLER_CELL_AXIS = {"h": "a_m", "k": "b_m", "l": "c_m"}


def _term_scale(trace: Dict[str, np.ndarray], name: str) -> Optional[float]:
    """For h, k, l: the largest |cell axis| x |scattering vector| of the trace, the size of the dot
    product's terms, which sets its rounding when the index itself cancels to ~0; None otherwise."""
    axis = _MILLER_CELL_AXIS.get(name)
    if axis is None or axis not in trace or "scattering_per_m" not in trace:
        return None
    with np.errstate(invalid="ignore"):
        cell = np.nanmax(np.linalg.norm(np.asarray(trace[axis], dtype=np.float64), axis=-1), initial=0.0)
        scattering = np.nanmax(np.linalg.norm(np.asarray(trace["scattering_per_m"], dtype=np.float64), axis=-1),
                               initial=0.0)
    return float(cell * scattering)


def _compare_traces(tc: Dict[str, np.ndarray], tt: Dict[str, np.ndarray], tol: Tolerance) -> List[QuantityReport]:
    reports = []
    for name in TRACE_ORDER:
        if name not in tc or name not in tt:
            missing = "C" if name not in tc else "torch"
            reports.append(QuantityReport(name, "trace", math.inf, math.inf, None, False,
                                          f"missing from {missing} trace", None))
            continue
        mad, mrd, idx, ok = tol.check(tc[name], tt[name], scale=_term_scale(tc, name))
        cv = tv = None
        if idx is not None and np.shape(tc[name]) == np.shape(tt[name]):
            cv = float(np.asarray(tc[name])[idx]) if len(idx) == np.ndim(tc[name]) else None
            tv = float(np.asarray(tt[name])[idx]) if len(idx) == np.ndim(tt[name]) else None
        reports.append(QuantityReport(name, "trace", mad, mrd, idx, ok, cv, tv))
    return reports


def _rendered_mask(result: SimulationResult) -> np.ndarray:
    return rendered_mask(result.float_image.shape, result.geometry.roi, result.config.detector.mask)


def _compare_images(rc: SimulationResult, rt: SimulationResult, tol: Tolerance, n_worst: int) -> ImageReport:
    a = np.asarray(rc.float_image, dtype=np.float64)
    b = np.asarray(rt.float_image, dtype=np.float64)
    if a.shape != b.shape:
        return ImageReport(math.inf, math.inf, float("nan"), float(a.sum()), float(b.sum()), a.size, [], False)
    mad, mrd, _, ok = tol.check(a, b)
    finite = np.isfinite(a) & np.isfinite(b)
    same_nonfinite = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where both engines give inf
        diff = np.where(finite, np.abs(a - b), np.where(same_nonfinite, 0.0, np.inf))
    mag = np.where(finite, np.maximum(np.abs(a), np.abs(b)), 0.0)
    scale = float(mag.max()) if mag.size else 0.0
    beyond = diff > tol.floor * scale + tol.rtol * mag
    fa, fb = a[finite].ravel(), b[finite].ravel()
    if fa.size > 1 and fa.std() > 0 and fb.std() > 0:
        corr = float(np.corrcoef(fa, fb)[0, 1])
    else:
        corr = 1.0 if np.array_equal(fa, fb) else float("nan")
    order = np.argsort(-(diff - tol.rtol * mag).ravel(), kind="stable")[:n_worst]
    worst = []
    for flat in order:
        s, f = np.unravel_index(int(flat), a.shape)
        worst.append((int(s), int(f), float(a[s, f]), float(b[s, f])))
    return ImageReport(mad, mrd, corr, float(np.sum(a[finite])), float(np.sum(b[finite])), int(beyond.sum()), worst, ok)


def _default_pixels(rc: SimulationResult, rt: SimulationResult, image: ImageReport, n_worst: int) -> List[Tuple[int, int]]:
    """The worst pixels when the images differ; otherwise the first rendered, brightest and last rendered pixels."""
    picks: List[Tuple[int, int]] = []
    if not image.ok:
        picks = [(s, f) for s, f, _, _ in image.worst_pixels[:n_worst]]
    else:
        rendered = np.argwhere(_rendered_mask(rc))
        if len(rendered):
            picks.append(tuple(int(v) for v in rendered[0]))
            img = np.where(_rendered_mask(rc), rc.float_image, -np.inf)
            picks.append(tuple(int(v) for v in np.unravel_index(int(np.argmax(img)), img.shape)))
            picks.append(tuple(int(v) for v in rendered[len(rendered) // 2]))
            picks.append(tuple(int(v) for v in rendered[-1]))
    seen, unique = set(), []
    for p in picks:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def compare(
    config: Config,
    pixels: Optional[Sequence[Tuple[int, int]]] = None,
    phi_mode: Optional[str] = None,
    dtype: str = "float64",
    device: str = "cpu",
    *,
    tolerances: Optional[Dict[str, Tolerance]] = None,
    n_worst: int = 4,
    nthreads: Optional[int] = None,
) -> ParityReport:
    """Compare the C and torch engines on ``config`` (in memory, no files, no subprocess).

    Both engines render the image; their derived geometry is compared field
    by field (in :data:`GEOMETRY_ORDER`), then the per-step trace of a few
    pixels (:data:`TRACE_ORDER`), then the images.

    Parameters
    ----------
    config : Config
        The experiment (copied; not modified).
    pixels : sequence of (int, int), optional
        (slow, fast) pixels to trace; default the worst pixels of the image
        comparison, or representative pixels when the images agree.
    phi_mode : {"spec", "c-parity"}, optional
        Overrides ``config.phi_mode``.
    dtype : {"float64", "float32"}, default "float64"
        Torch engine precision; selects the default tolerances.
    device : str, default "cpu"
        Torch engine device.
    tolerances : dict of str to Tolerance, optional
        Per-quantity tolerances replacing the defaults of ``dtype``.
    n_worst : int, default 4
        How many worst pixels to report (and trace by default).
    nthreads : int, optional
        C engine threads.

    Returns
    -------
    ParityReport
        Every quantity's agreement; ``first_divergence`` names the first
        quantity outside its tolerance, or is None.
    """
    cfg = config.copy()
    if phi_mode is not None:
        if phi_mode not in PHI_MODES:
            raise ValueError(f"phi_mode must be one of {', '.join(PHI_MODES)}; got {phi_mode!r}")
        cfg.phi_mode = phi_mode
    tol = dict(DEFAULT_TOLERANCES[dtype])
    if tolerances:
        tol.update(tolerances)

    # the engines are compared as they compute, inf and NaN included (the legacy Fdump misread)
    rc = simulate(cfg, engine="c", nthreads=nthreads, check_finite=False)
    rt = simulate(cfg, engine="torch", device=device, dtype=dtype, check_finite=False)
    image = _compare_images(rc, rt, tol["image"], n_worst)
    chosen = [(int(s), int(f)) for s, f in pixels] if pixels is not None else _default_pixels(rc, rt, image, n_worst)

    report = ParityReport(cfg.phi_mode, dtype, device, chosen, warnings={"c": list(rc.warnings), "torch": list(rt.warnings)})
    report.quantities.extend(_compare_geometry(rc.geometry, rt.geometry, tol["geometry"]))
    if chosen:
        tc = trace(cfg, chosen, engine="c")
        tt = trace(cfg, chosen, engine="torch", device=device, dtype=dtype)
        report.quantities.extend(_compare_traces(tc, tt, tol["trace"]))
    report.image = image
    return report
